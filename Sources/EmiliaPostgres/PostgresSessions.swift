import EmiliaModel
import EmiliaStore
import Foundation
import Logging
import PostgresNIO

/// The `sessions` table: each row keeps its order's fold accumulator, so a new event costs one read and one write of
/// its own order's row. The folder adds events; a rebuild re-folds an order from the log.
enum PostgresSessions {
    /// Adds `events` to the order's stored accumulator (read under the row's lock), or folds the order from its whole
    /// log when the stored form cannot be read.
    static func add(
        _ events: [SessionFacts], to key: SessionKey, timeZone: TimeZone, connection: PostgresConnection,
        logger: Logger
    ) async throws {
        var stored: Data?
        for try await state in try await connection.query(
            """
            SELECT state FROM sessions WHERE token_id = \(key.tokenID) AND env = \(key.environment) AND order_id = \(key.orderID.postgresSafe)
            FOR UPDATE
            """, logger: logger
        ).decode(Data.self) {
            stored = state
        }
        var accumulator: SessionAccumulator
        if let stored, let read = SessionAccumulator(storageText: stored) {
            accumulator = read
            for event in events { accumulator.add(event) }
        } else if stored != nil {
            accumulator = try await foldFromLog(key, timeZone: timeZone, connection: connection, logger: logger)
        } else {
            accumulator = SessionAccumulator(orderID: key.orderID)
            for event in events { accumulator.add(event) }
        }
        try await upsert(accumulator, key: key, timeZone: timeZone, connection: connection, logger: logger)
    }

    /// Adds each order's events to its stored accumulator: one read of every row and one multi-row upsert for the
    /// whole chunk, however many orders it touches. Only the holder of the folder lock calls it, so the rows read
    /// cannot change before the upsert.
    static func addAll(
        _ orders: [SessionKey: [SessionFacts]], zones: TimeZoneCache, connection: PostgresConnection,
        logger: Logger
    ) async throws {
        guard !orders.isEmpty else { return }
        let keys = orders.keys.sorted { ($0.tokenID, $0.environment, $0.orderID) < ($1.tokenID, $1.environment, $1.orderID) }
        var stored: [SessionKey: Data] = [:]
        let byIdentity = Dictionary(
            keys.map { ([$0.tokenID, $0.environment, $0.orderID.postgresSafe], $0) }, uniquingKeysWith: { first, _ in first })
        let lookUp = StoredStates(
            tokenIDs: keys.map(\.tokenID), environments: keys.map(\.environment), orderIDs: keys.map { $0.orderID.postgresSafe })
        for try await (tokenID, env, orderID, state) in try await connection.execute(lookUp, logger: logger) {
            if let key = byIdentity[[tokenID, env, orderID]] { stored[key] = state }
        }
        var rows: [(SessionKey, SessionState.Columns)] = []
        for key in keys {
            let zone = zones.zone(named: key.timeZone)
            var accumulator: SessionAccumulator
            if let state = stored[key] {
                guard let read = SessionAccumulator(storageText: state) else {
                    rows.append(
                        (
                            key,
                            SessionState.Columns(
                                try await foldFromLog(key, timeZone: zone, connection: connection, logger: logger),
                                timeZone: zone)
                        ))
                    continue
                }
                accumulator = read
            } else {
                accumulator = SessionAccumulator(orderID: key.orderID)
            }
            for event in orders[key] ?? [] { accumulator.add(event) }
            rows.append((key, SessionState.Columns(accumulator, timeZone: zone)))
        }
        _ = try await connection.execute(Upsert(rows), logger: logger)
    }

    /// The stored accumulators of a chunk's orders: one primary-key look-up per key (LATERAL; a join would let the
    /// planner scan every session). Prepared once per connection, like `Upsert`. Prepared statements are named
    /// explicitly: PostgreSQL cuts names at 63 bytes, and the default (the type's full Swift name) of two private
    /// types cut to the same name.
    private struct StoredStates: PostgresPreparedStatement {
        typealias Row = (String, String, String, Data)
        static let name = "emilia_session_states"
        static let sql = """
            SELECT s.token_id, s.env, s.order_id, s.state
            FROM unnest($1::text[], $2::text[], $3::text[]) AS k(token_id, env, order_id)
            CROSS JOIN LATERAL (SELECT token_id, env, order_id, state FROM sessions
                                WHERE token_id = k.token_id AND env = k.env AND order_id = k.order_id) s
            """
        var tokenIDs: [String]
        var environments: [String]
        var orderIDs: [String]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(tokenIDs)
            bindings.append(environments)
            bindings.append(orderIDs)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// A chunk's session rows written at once, one array per column: the statement's text is the same for any
    /// number of rows, so PostgreSQL parses and plans it once per connection.
    private struct Upsert: PostgresPreparedStatement {
        /// No rows come back (`execute` answers the command tag).
        typealias Row = ()
        static let name = "emilia_session_upsert"
        static let sql = """
            INSERT INTO sessions (token_id, env, order_id, local_date, table_number, status, opened_at, closed_at, state)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[],
                                 $8::float8[], $9::bytea[])
            ON CONFLICT (token_id, env, order_id) DO UPDATE SET local_date = EXCLUDED.local_date,
                table_number = EXCLUDED.table_number, status = EXCLUDED.status, opened_at = EXCLUDED.opened_at,
                closed_at = EXCLUDED.closed_at, state = EXCLUDED.state
            """
        var rows: [(SessionKey, SessionState.Columns)]

        init(_ rows: [(SessionKey, SessionState.Columns)]) { self.rows = rows }

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 9)
            try bindings.append(PostgresArrayColumn(rows.map { $0.0.tokenID }))
            try bindings.append(PostgresArrayColumn(rows.map { $0.0.environment }))
            try bindings.append(PostgresArrayColumn(rows.map { $0.0.orderID.postgresSafe }))
            try bindings.append(PostgresArrayColumn(rows.map { $0.1.localDate }))
            try bindings.append(PostgresArrayColumn(rows.map { $0.1.tableNumber?.postgresSafe }))
            try bindings.append(PostgresArrayColumn(rows.map { $0.1.status }))
            try bindings.append(PostgresArrayColumn(rows.map { $0.1.openedAt }))
            try bindings.append(PostgresArrayColumn(rows.map { $0.1.closedAt }))
            try bindings.append(PostgresArrayColumn(rows.map { $0.1.state }, arrayType: .byteaArray))
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws {}
    }

    /// Keeps the events of an order that could not be folded, with the reason (shown under data quality on the day
    /// each event happened).
    static func recordFailure(
        of events: [(id: String, occurredAt: Date)], key: SessionKey, reason: String,
        connection: PostgresConnection, logger: Logger
    ) async throws {
        let reason = String(reason.prefix(500)).postgresSafe
        for event in events {
            try await connection.query(
                """
                INSERT INTO fold_failures (event_id, token_id, env, order_id, at, reason)
                VALUES (\(event.id), \(key.tokenID), \(key.environment), \(key.orderID.postgresSafe), \(event.occurredAt.timeIntervalSince1970), \(reason))
                ON CONFLICT (event_id) DO UPDATE SET reason = EXCLUDED.reason, at = EXCLUDED.at
                """, logger: logger)
        }
    }

    /// Re-folds one order from scratch out of all its stored events, and forgets its earlier fold failures.
    static func rebuild(_ key: SessionKey, timeZone: TimeZone, connection: PostgresConnection, logger: Logger) async throws {
        let accumulator = try await foldFromLog(key, timeZone: timeZone, connection: connection, logger: logger)
        let orderID = key.orderID.postgresSafe
        try await connection.query(
            "DELETE FROM sessions WHERE token_id = \(key.tokenID) AND env = \(key.environment) AND order_id = \(orderID)", logger: logger)
        try await connection.query(
            "DELETE FROM fold_failures WHERE token_id = \(key.tokenID) AND env = \(key.environment) AND order_id = \(orderID)",
            logger: logger)
        if accumulator.hasEvents {
            try await upsert(accumulator, key: key, timeZone: timeZone, connection: connection, logger: logger)
        }
    }

    /// The ids and times of an order's events (to record a failure of the whole order).
    static func events(of key: SessionKey, connection: PostgresConnection, logger: Logger) async throws -> [(id: String, occurredAt: Date)]
    {
        var events: [(id: String, occurredAt: Date)] = []
        for try await (id, at) in try await connection.query(
            """
            SELECT id, COALESCE(occurred_at, received_at) FROM events
            WHERE token_id = \(key.tokenID) AND env = \(key.environment) AND order_id = \(key.orderID.postgresSafe) AND NOT is_test
            """, logger: logger
        ).decode((String, Double).self) {
            events.append((id, Date(timeIntervalSince1970: at)))
        }
        return events
    }

    private static func upsert(
        _ accumulator: SessionAccumulator, key: SessionKey, timeZone: TimeZone, connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let row = SessionState.Columns(accumulator, timeZone: timeZone)
        try await connection.query(
            """
            INSERT INTO sessions (token_id, env, order_id, local_date, table_number, status, opened_at, closed_at, state)
            VALUES (\(key.tokenID), \(key.environment), \(key.orderID.postgresSafe), \(row.localDate), \(row.tableNumber?.postgresSafe),
                    \(row.status), \(row.openedAt), \(row.closedAt), \(row.state))
            ON CONFLICT (token_id, env, order_id) DO UPDATE SET local_date = EXCLUDED.local_date,
                table_number = EXCLUDED.table_number, status = EXCLUDED.status, opened_at = EXCLUDED.opened_at,
                closed_at = EXCLUDED.closed_at, state = EXCLUDED.state
            """, logger: logger)
    }

    /// The fold of every stored event of one order.
    private static func foldFromLog(
        _ key: SessionKey, timeZone: TimeZone, connection: PostgresConnection,
        logger: Logger
    ) async throws -> SessionAccumulator {
        var accumulator = SessionAccumulator(orderID: key.orderID)
        for try await (id, receivedAt, body) in try await connection.query(
            """
            SELECT id, received_at, body FROM events
            WHERE token_id = \(key.tokenID) AND env = \(key.environment) AND order_id = \(key.orderID.postgresSafe) AND NOT is_test
            """, logger: logger
        ).decode((String, Double, Data).self) {
            if let event = SessionState.facts(
                eventID: id, receivedAt: Date(timeIntervalSince1970: receivedAt), body: body, timeZone: timeZone)
            {
                accumulator.add(event)
            }
        }
        return accumulator
    }
}
