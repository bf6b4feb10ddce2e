import EmiliaModel
package import EmiliaStore
import Foundation
import GRDB

// The rows as stored, for `emilia copy` to another backend.
extension SQLiteEventStore {
    package func exportTokens() async throws -> [LogRecords.Token] {
        try await read { db in
            let secrets = Dictionary(grouping: try Row.fetchAll(db, sql: "SELECT * FROM token_secrets"), by: { $0["token_id"] as String })
            return try Row.fetchAll(db, sql: "SELECT * FROM tokens ORDER BY created_at, id").map { row in
                let record = Self.token(from: row)
                return LogRecords.Token(
                    record: record,
                    secrets: (secrets[record.id] ?? []).map {
                        LogRecords.Secret(hash: $0["hash"], createdAt: $0["created_at"], expiresAt: $0["expires_at"])
                    })
            }
        }
    }

    /// Up to `limit` events after `sourceOrder` (the rowid), in log order, with at most about `maximumBytes` of bodies.
    package func exportEvents(after sourceOrder: Int64, limit: Int, maximumBytes: Int) async throws -> [LogRecords.Event] {
        try await read { db in
            var events: [LogRecords.Event] = []
            var bytes = 0
            let rows = try Row.fetchCursor(
                db, sql: "SELECT rowid, * FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?",
                arguments: [sourceOrder, limit])
            while bytes < maximumBytes, let row = try rows.next() {
                let event = LogRecords.Event(
                    sourceOrder: row["rowid"], id: row["id"], tokenID: row["token_id"], environment: row["env"],
                    receivedAt: row["received_at"], eventType: row["event_type"], isTest: row["is_test"], orderID: row["order_id"],
                    orderIDIsNumber: row["order_id_is_number"], tableNumber: row["table_number"], occurredAt: row["occurred_at"],
                    deduplicationKey: row["dedup_key"],
                    requestID: row["request_id"], contentType: row["content_type"],
                    contentEncoding: row["content_encoding"], warningCount: row["warning_count"],
                    warnings: row["warnings"], body: row["body"])
                bytes += event.body.count
                events.append(event)
            }
            return events
        }
    }

    /// The rowid of an event, or nil when it is not in this log.
    package func sourceOrder(ofEvent id: String) async throws -> Int64? {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT rowid FROM events WHERE id = ?", arguments: [id]) }
    }

    package func eventCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0 }
    }

    /// Up to `limit` rejections after the one with id `after`, by id.
    package func exportRejections(after: Int64, limit: Int) async throws -> [LogRecords.Rejection] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM rejections WHERE id > ? ORDER BY id LIMIT ?", arguments: [after, limit]).map { row in
                LogRecords.Rejection(
                    id: row["id"],
                    rejection: Rejection(
                        tokenID: row["token_id"], environment: (row["env"] as String?).flatMap(DeploymentEnvironment.init(rawValue:)),
                        at: Date(timeIntervalSince1970: row["at"]), status: row["status"], reason: row["reason"], bodyPrefix: row["body"],
                        requestID: row["request_id"], count: row["count"]))
            }
        }
    }
}
