import EmiliaModel
import Foundation
import GRDB

/// Keeps the `sessions` table equal to the fold of each order's events; runs inside the writer's transaction.
enum SessionProjection {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// Re-folds one order's session from all its stored events and writes (or removes) its row.
    static func refresh(db: Database, tokenID: String, environment: String, orderID: String, timeZone: TimeZone) throws {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, received_at, body FROM events WHERE token_id = ? AND env = ? AND order_id = ? AND is_test = 0"),
            arguments: [tokenID, environment, orderID])
        let facts = rows.compactMap { row -> SessionFacts? in
            let body: Data = row["body"]
            guard let document = try? JSONParser.parse(body) else { return nil }
            return SessionFacts(eventID: row["id"], receivedAt: Date(timeIntervalSince1970: row["received_at"]),
                                document: document, timeZone: timeZone)
        }
        guard let session = SessionFolding.fold(facts) else {
            try db.execute(sql: "DELETE FROM sessions WHERE token_id = ? AND env = ? AND order_id = ?",
                           arguments: [tokenID, environment, orderID])
            return
        }
        let localDate = (session.openedAt ?? session.closedAt).map { LocalDay.of($0, in: timeZone) }
        try db.cachedStatement(sql: """
            INSERT INTO sessions (token_id, env, order_id, local_date, table_number, status, opened_at, closed_at, data)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (token_id, env, order_id) DO UPDATE SET local_date = excluded.local_date,
                table_number = excluded.table_number, status = excluded.status, opened_at = excluded.opened_at,
                closed_at = excluded.closed_at, data = excluded.data
            """).execute(arguments: [
                tokenID, environment, orderID, localDate, session.tableNumber, session.status.rawValue,
                session.openedAt?.timeIntervalSince1970, session.closedAt?.timeIntervalSince1970,
                try encoder.encode(session),
            ])
    }

    /// Every (token, env, order) that has events, with the token's zone.
    static func allOrders(db: Database) throws -> [(tokenID: String, environment: String, orderID: String, timeZone: String)] {
        try Row.fetchAll(db, sql: """
            SELECT DISTINCT e.token_id, e.env, e.order_id, t.time_zone FROM events e JOIN tokens t ON t.id = e.token_id
            WHERE e.order_id IS NOT NULL AND e.is_test = 0
            """).map { ($0["token_id"], $0["env"], $0["order_id"], $0["time_zone"]) }
    }

    static func decode(_ data: Data) throws -> TableSession {
        try JSONDecoder().decode(TableSession.self, from: data)
    }
}
