import EmiliaModel
import EmiliaStore
import Foundation
import GRDB

/// The `sessions` table: each row keeps its order's fold accumulator (`state`), so a new event costs one read and
/// one write of its own order's row, however many events the order already has; reads turn the accumulator into the
/// session. `SessionFolder` keeps it up to date; `rebuildSessions` recomputes it from the log.
enum SessionProjection {
    /// A session row as read: its id, day and stored accumulator (nil when the stored form cannot be read).
    struct StoredSession: Sendable {
        var id: Int64
        var localDate: String?
        var state: Data
        var accumulator: SessionAccumulator? { SessionAccumulator(storageText: state) }

        static func fetch(_ db: Database, _ key: SessionKey) throws -> StoredSession? {
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, local_date, state FROM sessions WHERE token_id = ? AND env = ? AND order_id = ?"),
                arguments: [key.tokenID, key.environment, key.orderID]
            ).map { StoredSession(id: $0["id"], localDate: $0["local_date"], state: $0["state"]) }
        }
    }

    /// Writes an order's fold, made outside the transaction from `read` plus `events` (`columns` are its accumulator's,
    /// encoded there too, so the writer is held only for the SQL). When the row changed since it was read, or its
    /// stored form cannot be read, the order is folded again here from what is stored (or from its whole log), so
    /// nothing folded by someone else is lost.
    static func write(
        _ columns: SessionState.Columns, over read: StoredSession?, readIsUnreadable: Bool,
        events: [SessionFacts], key: SessionKey, timeZone: TimeZone, db: Database
    ) throws {
        let current = try StoredSession.fetch(db, key)
        var row = SessionRow(columns)
        if current?.state != read?.state || readIsUnreadable {
            var accumulator: SessionAccumulator
            if let stored = current?.accumulator {
                accumulator = stored
                for event in events { accumulator.add(event) }
            } else {
                accumulator = try foldFromLog(db, key: key, timeZone: timeZone)
            }
            row = SessionRow(accumulator, timeZone: timeZone)
        }
        guard let current else {
            try insert(row, key: key, db: db)
            return
        }
        // Leaving local_date out of the SET when it is unchanged spares the day index a page write.
        let sameDay = current.localDate == row.localDate
        try db.cachedStatement(
            sql: sameDay
                ? "UPDATE sessions SET table_number = ?, status = ?, opened_at = ?, closed_at = ?, state = ? WHERE id = ?"
                : "UPDATE sessions SET table_number = ?, status = ?, opened_at = ?, closed_at = ?, state = ?, local_date = ? WHERE id = ?"
        ).execute(arguments: row.updateArguments + (sameDay ? [] : [row.localDate]) + [current.id])
    }

    /// Keeps the events of an order that could not be folded, with the reason (shown under data quality on the day
    /// each event happened).
    static func recordFailure(of events: [(id: String, occurredAt: Date)], key: SessionKey, reason: String, db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO fold_failures (event_id, token_id, env, order_id, at, reason) VALUES (?, ?, ?, ?, ?, ?)
                """)
        for event in events {
            try statement.execute(arguments: [
                event.id, key.tokenID, key.environment, key.orderID, event.occurredAt.timeIntervalSince1970,
                String(reason.prefix(500)),
            ])
        }
    }

    /// The columns of a session row, from its accumulator.
    private struct SessionRow {
        var localDate: String?
        var updateArguments: StatementArguments

        init(_ columns: SessionState.Columns) {
            localDate = columns.localDate
            updateArguments = [columns.tableNumber, columns.status, columns.openedAt, columns.closedAt, columns.state]
        }

        init(_ accumulator: SessionAccumulator, timeZone: TimeZone) {
            self.init(SessionState.Columns(accumulator, timeZone: timeZone))
        }
    }

    private static func insert(_ row: SessionRow, key: SessionKey, db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO sessions (table_number, status, opened_at, closed_at, state, local_date, token_id, env, order_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: row.updateArguments + [row.localDate, key.tokenID, key.environment, key.orderID])
    }

    /// The fold of every stored event of one order.
    private static func foldFromLog(_ db: Database, key: SessionKey, timeZone: TimeZone) throws -> SessionAccumulator {
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: "SELECT id, received_at, body FROM events WHERE token_id = ? AND env = ? AND order_id = ? AND is_test = 0"),
            arguments: [key.tokenID, key.environment, key.orderID])
        var accumulator = SessionAccumulator(orderID: key.orderID)
        while let row = try rows.next() {
            if let event = SessionState.facts(
                eventID: row["id"], receivedAt: Date(timeIntervalSince1970: row["received_at"]), body: row["body"],
                timeZone: timeZone)
            {
                accumulator.add(event)
            }
        }
        return accumulator
    }

    /// Re-folds one order from scratch out of all its stored events (for a rebuild after a change of rules), and
    /// forgets its earlier fold failures.
    static func rebuild(db: Database, key: SessionKey, timeZone: TimeZone) throws {
        let accumulator = try foldFromLog(db, key: key, timeZone: timeZone)
        try db.execute(
            sql: "DELETE FROM sessions WHERE token_id = ? AND env = ? AND order_id = ?",
            arguments: [key.tokenID, key.environment, key.orderID])
        try db.execute(
            sql: "DELETE FROM fold_failures WHERE token_id = ? AND env = ? AND order_id = ?",
            arguments: [key.tokenID, key.environment, key.orderID])
        if accumulator.hasEvents {
            try insert(SessionRow(accumulator, timeZone: timeZone), key: key, db: db)
        }
    }

    /// Every (token, env, order) that has events, with the token's zone.
    static func allOrders(db: Database) throws -> [SessionKey] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT DISTINCT e.token_id, e.env, e.order_id, t.time_zone FROM events e JOIN tokens t ON t.id = e.token_id
                WHERE e.order_id IS NOT NULL AND e.is_test = 0
                """
        ).map { SessionKey(tokenID: $0["token_id"], environment: $0["env"], orderID: $0["order_id"], timeZone: $0["time_zone"]) }
    }
}
