public import EmiliaModel
public import EmiliaStore
public import Foundation
import PostgresNIO

// Sessions, analytics inputs, the event log and maintenance, read from PostgreSQL.
extension PostgresEventStore {
    public func sessions(tokenID: String, environment: DeploymentEnvironment, localDate: String) async throws -> [TableSession] {
        await folder.waitUntilFolded()
        let tokenID = tokenID.lowercased().postgresSafe
        let localDate = localDate.postgresSafe
        return try await call { client in
            var sessions: [TableSession] = []
            for try await state in try await client.query(
                """
                SELECT state FROM sessions WHERE token_id = \(tokenID) AND env = \(environment.rawValue) AND local_date = \(localDate)
                ORDER BY opened_at, order_id
                """
            ).decode(Data.self) {
                sessions.append(try SessionState.decode(state))
            }
            return sessions
        }
    }

    public func session(tokenID: String, environment: DeploymentEnvironment, orderID: String) async throws -> TableSession? {
        await folder.waitUntilFolded()
        let tokenID = tokenID.lowercased().postgresSafe
        let orderID = orderID.postgresSafe
        return try await call { client in
            for try await state in try await client.query(
                """
                SELECT state FROM sessions WHERE token_id = \(tokenID) AND env = \(environment.rawValue) AND order_id = \(orderID)
                """
            ).decode(Data.self) {
                return try SessionState.decode(state)
            }
            return nil
        }
    }

    public func dataQuality(tokenID: String, environment: DeploymentEnvironment, from: Date, to: Date) async throws -> DataQuality {
        let tokenID = tokenID.lowercased().postgresSafe
        let env = environment.rawValue
        let from = from.timeIntervalSince1970
        let to = to.timeIntervalSince1970
        return try await call { client in
            var quality = DataQuality()
            for try await (events, flagged) in try await client.query(
                """
                SELECT count(*), count(*) FILTER (WHERE warning_count > 0) FROM events
                WHERE token_id = \(tokenID) AND env = \(env) AND COALESCE(occurred_at, received_at) >= \(from)
                  AND COALESCE(occurred_at, received_at) < \(to)
                """
            ).decode((Int, Int).self) {
                quality.events = events
                quality.eventsWithWarnings = flagged
            }
            // Codes are counted over the newest flagged events only: the work of a view stays bounded.
            for try await (code, count, example) in try await client.query(
                """
                SELECT w ->> 'code', count(DISTINCT f.id), max(f.id)
                FROM (SELECT id, warnings FROM events
                      WHERE token_id = \(tokenID) AND env = \(env) AND COALESCE(occurred_at, received_at) >= \(from)
                        AND COALESCE(occurred_at, received_at) < \(to) AND warning_count > 0
                      ORDER BY position DESC LIMIT \(DataQuality.warningSampleLimit)) f,
                     jsonb_array_elements(f.warnings::jsonb) w
                GROUP BY 1
                """
            ).decode((String?, Int, String).self) {
                guard let code else { continue }
                quality.warnings[code] = count
                quality.examples[code] = example
            }
            quality.warningsSampled = quality.eventsWithWarnings > DataQuality.warningSampleLimit
            for try await (status, count) in try await client.query(
                """
                SELECT status, sum(count)::bigint FROM rejections
                WHERE token_id = \(tokenID) AND (env = \(env) OR env IS NULL) AND at >= \(from) AND at < \(to) GROUP BY status
                """
            ).decode((Int, Int).self) {
                quality.rejections[status] = count
            }
            for try await (count, reason, example) in try await client.query(
                """
                SELECT count(*), max(reason), max(event_id) FROM fold_failures
                WHERE token_id = \(tokenID) AND env = \(env) AND at >= \(from) AND at < \(to)
                """
            ).decode((Int, String?, String?).self) {
                quality.unfoldedEvents = count
                quality.unfoldedReason = reason
                quality.unfoldedExample = example
            }
            return quality
        }
    }

    public func events(_ query: EventQuery) async throws -> EventPage {
        var conditions = ["token_id = $1", "env = $2"]
        var bindings = PostgresBindings()
        bindings.append(query.tokenID.lowercased().postgresSafe)
        bindings.append(query.environment.rawValue)
        func bind(_ condition: (String) -> String, _ value: some PostgresDynamicTypeEncodable) {
            bindings.append(value)
            conditions.append(condition("$\(bindings.count)"))
        }
        if let type = query.eventType { bind({ "event_type = \($0)" }, type.postgresSafe) }
        if let table = query.tableNumber { bind({ "table_number = \($0)" }, table.postgresSafe) }
        if let order = query.orderID { bind({ "order_id = \($0)" }, order.postgresSafe) }
        if let flagged = query.hasWarnings { conditions.append(flagged ? "warning_count > 0" : "warning_count = 0") }
        if let since = query.since { bind({ "received_at >= \($0)" }, since.timeIntervalSince1970) }
        if let until = query.until { bind({ "received_at < \($0)" }, until.timeIntervalSince1970) }
        if let cursor = query.cursor {
            let position = try await position(ofCursor: cursor)
            bind({ query.isOldestFirst ? "position > \($0)" : "position < \($0)" }, position)
        }
        let limit = max(1, min(query.limit, 1000))
        // Metadata first; bodies only for the events the page keeps, so a page of large payloads never reads more
        // than about `EventQuery.maximumPageBytes` of them.
        let sql = """
            SELECT \(Self.eventColumns), NULL::bytea
            FROM events WHERE \(conditions.joined(separator: " AND "))
            ORDER BY position \(query.isOldestFirst ? "ASC" : "DESC") LIMIT \(limit + 1)
            """
        let statement = PostgresQuery(unsafeSQL: sql, binds: bindings)
        return try await call { client in
            var events: [StoredEvent] = []
            var bytes = 0
            var hasMore = false
            for try await row in try await client.query(statement) {
                if hasMore { continue }
                if events.count == limit || (query.includesBodies && bytes >= EventQuery.maximumPageBytes) {
                    hasMore = true
                    continue
                }
                let event = try Self.event(from: row)
                bytes += event.bodySize
                events.append(event)
            }
            if query.includesBodies && !events.isEmpty {
                var bodies: [String: Data] = [:]
                let positions = events.compactMap { Int64($0.position) }
                for try await (position, body) in try await client.query(
                    "SELECT position, body FROM events WHERE position = ANY(\(positions))"
                ).decode((Int64, Data).self) {
                    bodies[String(position)] = body
                }
                for index in events.indices { events[index].body = bodies[events[index].position] }
            }
            return EventPage(events: events, nextCursor: hasMore ? events.last?.position : nil)
        }
    }

    /// A cursor's position: a number, or an event id (the positions a SQLite store gave out before `emilia copy`).
    private func position(ofCursor cursor: String) async throws -> Int64 {
        if let position = Int64(cursor) { return position }
        guard UUID(uuidString: cursor) != nil else { throw StoreError(.invalidInput, "the cursor is not a log position") }
        let id = cursor.lowercased()
        let position = try await call { client in
            for try await position in try await client.query("SELECT position FROM events WHERE id = \(id)").decode(Int64.self) {
                return Optional(position)
            }
            return nil
        }
        guard let position else { throw StoreError(.invalidInput, "the cursor names no event in this log") }
        return position
    }

    public func activities(in windows: [String: Range<Date>]) async throws -> [String: TokenActivity] {
        let ids = windows.keys.map { $0.lowercased().postgresSafe }
        let starts = windows.values.map(\.lowerBound.timeIntervalSince1970)
        let ends = windows.values.map(\.upperBound.timeIntervalSince1970)
        return try await call { client in
            var activities: [String: TokenActivity] = [:]
            for try await (id, lastProd, lastDev, events, flagged) in try await client.query(
                """
                SELECT w.id,
                    (SELECT received_at FROM events WHERE token_id = w.id AND env = 'prod' ORDER BY position DESC LIMIT 1),
                    (SELECT received_at FROM events WHERE token_id = w.id AND env = 'dev' ORDER BY position DESC LIMIT 1),
                    (SELECT count(*) FROM events WHERE token_id = w.id AND env = 'prod'
                        AND COALESCE(occurred_at, received_at) >= w.f AND COALESCE(occurred_at, received_at) < w.t),
                    (SELECT count(*) FROM events WHERE token_id = w.id AND env = 'prod' AND warning_count > 0
                        AND COALESCE(occurred_at, received_at) >= w.f AND COALESCE(occurred_at, received_at) < w.t)
                FROM unnest(\(ids), \(starts), \(ends)) AS w(id, f, t)
                """
            ).decode((String, Double?, Double?, Int, Int).self) {
                let last = [lastProd, lastDev].compactMap { $0 }.max()
                activities[id] = TokenActivity(
                    lastEventAt: last.map(Date.init(timeIntervalSince1970:)), events: events,
                    eventsWithWarnings: flagged)
            }
            return activities
        }
    }

    public func deleteExpired(olderThan cutoff: Date, batchSize: Int) async throws -> Int {
        // Event ids are time-ordered: every event received before the cutoff sorts below this prefix.
        let boundary = TimeOrderedIdentifierGenerator.lowerBound(at: cutoff)
        let cutoff = cutoff.timeIntervalSince1970
        var total = 0
        while true {
            let (events, others) = try await call { client in
                var counts = (0, 0)
                for try await (events, rejections, failures) in try await client.query(
                    """
                    WITH e AS (DELETE FROM events WHERE position IN (
                                   SELECT position FROM events WHERE id < \(boundary) ORDER BY id LIMIT \(batchSize))
                               RETURNING 1),
                         r AS (DELETE FROM rejections WHERE id IN (SELECT id FROM rejections WHERE at < \(cutoff) LIMIT \(batchSize))
                               RETURNING 1),
                         f AS (DELETE FROM fold_failures WHERE event_id IN (
                                   SELECT f.event_id FROM fold_failures f WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = f.event_id)
                                   LIMIT \(batchSize))
                               RETURNING 1)
                    SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM r), (SELECT count(*) FROM f)
                    """
                ).decode((Int, Int, Int).self) {
                    counts = (events, max(rejections, failures))
                }
                return counts
            }
            total += events
            if events < batchSize && others < batchSize { return total }
        }
    }

    public func rebuildSessions(progress: @Sendable (Int, Int) -> Void) async throws -> Int {
        let logger = logger
        // Holds the folder lock throughout (waiting for a folding node to finish its pass), so no node folds meanwhile.
        do {
            return try await client.withConnection { connection in
                try await connection.query("SELECT pg_advisory_lock(\(PostgresSchema.Lock.folder))", logger: logger)
                do {
                    let count = try await rebuildLocked(connection, progress: progress)
                    try await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.Lock.folder))", logger: logger)
                    return count
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.Lock.folder))", logger: logger)
                    throw error
                }
            }
        } catch {
            throw PostgresFailure.storeError(error)
        }
    }

    private func rebuildLocked(_ connection: PostgresConnection, progress: @Sendable (Int, Int) -> Void) async throws -> Int {
        // Everything up to `newest` is rebuilt here; what commits after it is folded by the nodes once the lock is
        // released (the cursor moves to `newest` only at the end, so a rebuild that stops half way loses nothing).
        var newest: Int64 = 0
        for try await position in try await connection.query("SELECT COALESCE(max(position), 0) FROM events", logger: logger)
            .decode(Int64.self)
        { newest = position }
        var orders: [SessionKey] = []
        for try await (tokenID, env, orderID, zone) in try await connection.query(
            """
            SELECT DISTINCT e.token_id, e.env, e.order_id, t.time_zone FROM events e JOIN tokens t ON t.id = e.token_id
            WHERE e.order_id IS NOT NULL AND NOT e.is_test AND e.position <= \(newest)
            """, logger: logger
        ).decode((String, String, String, String).self) {
            orders.append(SessionKey(tokenID: tokenID, environment: env, orderID: orderID, timeZone: zone))
        }
        progress(0, orders.count)
        let batchSize = 500
        var done = 0
        for start in stride(from: 0, to: orders.count, by: batchSize) {
            let batch = orders[start..<min(start + batchSize, orders.count)]
            try await connection.withTransaction(logger: logger) { connection in
                for order in batch {
                    // One order that cannot be written is kept with the reason; the others are rebuilt.
                    let zone = TimeZone(identifier: order.timeZone) ?? .gmt
                    do {
                        try await connection.query("SAVEPOINT rebuild_order", logger: logger)
                        try await PostgresSessions.rebuild(order, timeZone: zone, connection: connection, logger: logger)
                        try await connection.query("RELEASE SAVEPOINT rebuild_order", logger: logger)
                    } catch let error where PostgresFailure.isDataError(error) {
                        try await connection.query("ROLLBACK TO SAVEPOINT rebuild_order", logger: logger)
                        let events = try await PostgresSessions.events(of: order, connection: connection, logger: logger)
                        try await PostgresSessions.recordFailure(
                            of: events, key: order, reason: "\(error)", connection: connection, logger: logger)
                    }
                }
            }
            done += batch.count
            progress(done, orders.count)
        }
        try await connection.query("UPDATE projection_cursor SET last_position = GREATEST(last_position, \(newest))", logger: logger)
        return orders.count
    }
}
