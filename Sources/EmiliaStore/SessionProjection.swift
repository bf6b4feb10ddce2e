import EmiliaModel
import Foundation
import GRDB

/// Keeps the `sessions` table equal to the fold of each order's events, inside the writer's transaction.
///
/// Each row keeps the fold's accumulator (`state`), so a new event costs one read and one write of its own
/// order's row, however many events the order already has; reads turn the accumulator into the session.
enum SessionProjection {
    /// The facts of a stored event, or nil when it is not part of a session.
    static func facts(eventID: String, receivedAt: Date, body: Data, timeZone: TimeZone) -> SessionFacts? {
        guard let document = try? JSONParser.parse(body) else { return nil }
        return SessionFacts(eventID: eventID, receivedAt: receivedAt, document: document, timeZone: timeZone)
    }

    /// Adds events to their order's session and writes the row.
    static func add(_ events: [SessionFacts], db: Database, tokenID: String, environment: String, orderID: String,
                    timeZone: TimeZone) throws {
        guard !events.isEmpty else { return }
        let stored = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, local_date, state FROM sessions WHERE token_id = ? AND env = ? AND order_id = ?"),
            arguments: [tokenID, environment, orderID])
        var accumulator = stored.flatMap { SessionAccumulator(storageText: $0["state"]) } ?? SessionAccumulator(orderID: orderID)
        for event in events { accumulator.add(event) }
        let row = SessionRow(accumulator, timeZone: timeZone)
        guard let stored else {
            try insert(row, db: db, tokenID: tokenID, environment: environment, orderID: orderID)
            return
        }
        // Leaving local_date out of the SET when it is unchanged spares the day index a page write.
        let sameDay = (stored["local_date"] as String?) == row.localDate
        try db.cachedStatement(sql: sameDay
            ? "UPDATE sessions SET table_number = ?, status = ?, opened_at = ?, closed_at = ?, state = ? WHERE id = ?"
            : "UPDATE sessions SET table_number = ?, status = ?, opened_at = ?, closed_at = ?, state = ?, local_date = ? WHERE id = ?"
        ).execute(arguments: row.updateArguments + (sameDay ? [] : [row.localDate]) + [stored["id"] as Int64])
    }

    /// The columns of a session row, from its accumulator.
    private struct SessionRow {
        var localDate: String?
        var updateArguments: StatementArguments

        init(_ accumulator: SessionAccumulator, timeZone: TimeZone) {
            let session = accumulator.session
            localDate = (session.openedAt ?? session.closedAt).map { LocalDay.of($0, in: timeZone) }
            updateArguments = [session.tableNumber, session.status.rawValue, session.openedAt?.timeIntervalSince1970,
                               session.closedAt?.timeIntervalSince1970, Data(accumulator.storageText.utf8)]
        }
    }

    private static func insert(_ row: SessionRow, db: Database, tokenID: String, environment: String, orderID: String) throws {
        try db.cachedStatement(sql: """
            INSERT INTO sessions (table_number, status, opened_at, closed_at, state, local_date, token_id, env, order_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: row.updateArguments + [row.localDate, tokenID, environment, orderID])
    }

    /// Re-folds one order from scratch out of all its stored events (for a rebuild after a change of rules).
    static func rebuild(db: Database, tokenID: String, environment: String, orderID: String, timeZone: TimeZone) throws {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, received_at, body FROM events WHERE token_id = ? AND env = ? AND order_id = ? AND is_test = 0"),
            arguments: [tokenID, environment, orderID])
        let events = rows.compactMap { row in
            facts(eventID: row["id"], receivedAt: Date(timeIntervalSince1970: row["received_at"]), body: row["body"], timeZone: timeZone)
        }
        try db.execute(sql: "DELETE FROM sessions WHERE token_id = ? AND env = ? AND order_id = ?",
                       arguments: [tokenID, environment, orderID])
        var accumulator = SessionAccumulator(orderID: orderID)
        for event in events { accumulator.add(event) }
        if !events.isEmpty {
            try insert(SessionRow(accumulator, timeZone: timeZone), db: db, tokenID: tokenID, environment: environment, orderID: orderID)
        }
    }

    /// Every (token, env, order) that has events, with the token's zone.
    static func allOrders(db: Database) throws -> [(tokenID: String, environment: String, orderID: String, timeZone: String)] {
        try Row.fetchAll(db, sql: """
            SELECT DISTINCT e.token_id, e.env, e.order_id, t.time_zone FROM events e JOIN tokens t ON t.id = e.token_id
            WHERE e.order_id IS NOT NULL AND e.is_test = 0
            """).map { ($0["token_id"], $0["env"], $0["order_id"], $0["time_zone"]) }
    }

    /// The session a stored accumulator folds to.
    static func decode(_ state: Data) throws -> TableSession {
        guard let accumulator = SessionAccumulator(storageText: state) else {
            throw StoreError(.unavailable, "a stored session could not be read")
        }
        return accumulator.session
    }
}
