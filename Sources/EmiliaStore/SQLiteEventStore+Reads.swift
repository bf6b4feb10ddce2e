import EmiliaModel
import Foundation
import GRDB

// Sessions, analytics inputs and the event log, read from SQLite.
extension SQLiteEventStore {
    public func sessions(tokenID: String, environment: DeploymentEnvironment, localDate: String) async throws -> [TableSession] {
        await writer.waitUntilFolded()
        return try await database.read { db in
            try Data.fetchAll(db, sql: """
                SELECT state FROM sessions WHERE token_id = ? AND env = ? AND local_date = ? ORDER BY opened_at, order_id
                """, arguments: [tokenID.lowercased(), environment.rawValue, localDate]).map(SessionProjection.decode)
        }
    }

    public func session(tokenID: String, environment: DeploymentEnvironment, orderID: String) async throws -> TableSession? {
        await writer.waitUntilFolded()
        return try await database.read { db in
            try Data.fetchOne(db, sql: "SELECT state FROM sessions WHERE token_id = ? AND env = ? AND order_id = ?",
                              arguments: [tokenID.lowercased(), environment.rawValue, orderID]).map(SessionProjection.decode)
        }
    }

    public func dataQuality(tokenID: String, environment: DeploymentEnvironment, from: Date, to: Date) async throws -> DataQuality {
        try await database.read { db in
            var quality = DataQuality()
            let arguments: StatementArguments = [tokenID.lowercased(), environment.rawValue, from.timeIntervalSince1970, to.timeIntervalSince1970]
            quality.events = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM events
                WHERE token_id = ? AND env = ? AND COALESCE(occurred_at, received_at) >= ? AND COALESCE(occurred_at, received_at) < ?
                """, arguments: arguments) ?? 0
            let flagged = try Row.fetchAll(db, sql: """
                SELECT id, warnings FROM events
                WHERE token_id = ? AND env = ? AND COALESCE(occurred_at, received_at) >= ? AND COALESCE(occurred_at, received_at) < ?
                  AND warning_count > 0
                ORDER BY id DESC
                """, arguments: arguments)
            quality.eventsWithWarnings = flagged.count
            for row in flagged {
                let text: String = row["warnings"]
                let warnings = (try? JSONDecoder().decode([ValidationWarning].self, from: Data(text.utf8))) ?? []
                for code in Set(warnings.map(\.code.rawValue)) {
                    quality.warnings[code, default: 0] += 1
                    if quality.examples[code] == nil { quality.examples[code] = row["id"] }
                }
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT status, count(*) AS n FROM rejections
                WHERE token_id = ? AND (env = ? OR env IS NULL) AND at >= ? AND at < ? GROUP BY status
                """, arguments: arguments) {
                quality.rejections[row["status"]] = row["n"]
            }
            return quality
        }
    }

    public func events(_ query: EventQuery) async throws -> EventPage {
        try await database.read { db in
            var conditions = ["token_id = ?", "env = ?"]
            var arguments: StatementArguments = [query.tokenID.lowercased(), query.environment.rawValue]
            if let type = query.eventType { conditions.append("event_type = ?"); arguments += [type] }
            if let table = query.tableNumber { conditions.append("table_number = ?"); arguments += [table] }
            if let order = query.orderID { conditions.append("order_id = ?"); arguments += [order] }
            if let flagged = query.hasWarnings { conditions.append(flagged ? "warning_count > 0" : "warning_count = 0") }
            if let since = query.since { conditions.append("received_at >= ?"); arguments += [since.timeIntervalSince1970] }
            if let until = query.until { conditions.append("received_at < ?"); arguments += [until.timeIntervalSince1970] }
            if let cursor = query.cursor {
                conditions.append(query.ascending ? "id > ?" : "id < ?")
                arguments += [cursor.lowercased()]
            }
            let limit = max(1, min(query.limit, 1000))
            let columns = Self.eventColumns + (query.includeBodies ? ", body" : "")
            let sql = "SELECT \(columns) FROM events WHERE \(conditions.joined(separator: " AND ")) ORDER BY id \(query.ascending ? "ASC" : "DESC") LIMIT \(limit + 1)"
            var events = try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.event(from:))
            let hasMore = events.count > limit
            if hasMore { events.removeLast() }
            return EventPage(events: events, nextCursor: hasMore ? events.last?.id : nil)
        }
    }

    public func activity(tokenID: String, from: Date, to: Date) async throws -> TokenActivity {
        try await database.read { db in
            let id = tokenID.lowercased()
            // The newest id per env is the last event (ids are time-ordered), found through the log index.
            let last = try ["prod", "dev"].compactMap { env in
                try Double.fetchOne(db, sql: "SELECT received_at FROM events WHERE token_id = ? AND env = ? ORDER BY id DESC LIMIT 1",
                                    arguments: [id, env])
            }.max()
            let counts = try Row.fetchOne(db, sql: """
                SELECT count(*) AS n, coalesce(sum(warning_count > 0), 0) AS flagged FROM events
                WHERE token_id = ? AND env = 'prod' AND COALESCE(occurred_at, received_at) >= ? AND COALESCE(occurred_at, received_at) < ?
                """, arguments: [id, from.timeIntervalSince1970, to.timeIntervalSince1970])
            return TokenActivity(lastEventAt: last.map(Date.init(timeIntervalSince1970:)), events: counts?["n"] ?? 0,
                                 eventsWithWarnings: counts?["flagged"] ?? 0)
        }
    }

    /// Deletes events and rejections received before `cutoff`, `batchSize` rows per transaction (so the writer
    /// is never held long); returns how many events went.
    public func deleteExpired(olderThan cutoff: Date, batchSize: Int) async throws -> Int {
        var total = 0
        // Event ids are time-ordered: every event received before the cutoff sorts below this prefix.
        let boundary = TimeOrderedIdentifierGenerator.lowerBound(at: cutoff)
        while true {
            let deleted = try await database.write { db in
                try db.execute(sql: """
                    DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE id < ? ORDER BY id LIMIT ?)
                    """, arguments: [boundary, batchSize])
                let events = db.changesCount
                try db.execute(sql: "DELETE FROM rejections WHERE id IN (SELECT id FROM rejections WHERE at < ? LIMIT ?)",
                               arguments: [cutoff.timeIntervalSince1970, batchSize])
                return (events, db.changesCount)
            }
            total += deleted.0
            if deleted.0 < batchSize && deleted.1 < batchSize { return total }
        }
    }

    public func rebuildSessions(progress: @Sendable (Int, Int) -> Void) async throws -> Int {
        let orders = try await database.read { db in try SessionProjection.allOrders(db: db) }
        let batchSize = 500
        var done = 0
        progress(0, orders.count)
        for start in stride(from: 0, to: orders.count, by: batchSize) {
            let batch = Array(orders[start..<min(start + batchSize, orders.count)])
            try await database.write { db in
                for order in batch {
                    try SessionProjection.rebuild(db: db, tokenID: order.tokenID, environment: order.environment, orderID: order.orderID,
                                                  timeZone: TimeZone(identifier: order.timeZone) ?? .gmt)
                }
            }
            done += batch.count
            progress(done, orders.count)
        }
        return orders.count
    }
}
