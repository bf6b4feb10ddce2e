public import EmiliaModel
public import EmiliaStore
public import Foundation
import GRDB

// Sessions, analytics inputs and the event log, read from SQLite.
extension SQLiteEventStore {
    public func sessions(tokenID: String, environment: DeploymentEnvironment, localDate: String) async throws -> [TableSession] {
        await folder.waitUntilFolded()
        return try await read { db in
            try Data.fetchAll(
                db,
                sql: """
                    SELECT state FROM sessions WHERE token_id = ? AND env = ? AND local_date = ? ORDER BY opened_at, order_id
                    """, arguments: [tokenID.lowercased(), environment.rawValue, localDate]
            ).map(SessionState.decode)
        }
    }

    public func session(tokenID: String, environment: DeploymentEnvironment, orderID: String) async throws -> TableSession? {
        await folder.waitUntilFolded()
        return try await read { db in
            try Data.fetchOne(
                db, sql: "SELECT state FROM sessions WHERE token_id = ? AND env = ? AND order_id = ?",
                arguments: [tokenID.lowercased(), environment.rawValue, orderID]
            ).map(SessionState.decode)
        }
    }

    public func dataQuality(tokenID: String, environment: DeploymentEnvironment, from: Date, to: Date) async throws -> DataQuality {
        try await read { db in
            var quality = DataQuality()
            let arguments: StatementArguments = [
                tokenID.lowercased(), environment.rawValue, from.timeIntervalSince1970, to.timeIntervalSince1970,
            ]
            quality.events =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM events
                        WHERE token_id = ? AND env = ? AND COALESCE(occurred_at, received_at) >= ? AND COALESCE(occurred_at, received_at) < ?
                        """, arguments: arguments) ?? 0
            quality.eventsWithWarnings =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM events
                        WHERE token_id = ? AND env = ? AND COALESCE(occurred_at, received_at) >= ? AND COALESCE(occurred_at, received_at) < ?
                          AND warning_count > 0
                        """, arguments: arguments) ?? 0
            // Codes are counted in SQLite over the newest flagged events only: the work and memory of a view stay bounded
            // however many events a day has (`warningsSampled` says when the counts cover part of the day).
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT json_extract(w.value, '$.code') AS code, count(DISTINCT f.id) AS n, max(f.id) AS example
                    FROM (SELECT id, warnings FROM events
                          WHERE token_id = ? AND env = ? AND COALESCE(occurred_at, received_at) >= ? AND COALESCE(occurred_at, received_at) < ?
                            AND warning_count > 0
                          ORDER BY id DESC LIMIT \(DataQuality.warningSampleLimit)) f, json_each(f.warnings) w
                    GROUP BY code
                    """, arguments: arguments)
            for row in rows {
                guard let code: String = row["code"] else { continue }
                quality.warnings[code] = row["n"]
                quality.examples[code] = row["example"]
            }
            quality.warningsSampled = quality.eventsWithWarnings > DataQuality.warningSampleLimit
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT status, sum(count) AS n FROM rejections
                    WHERE token_id = ? AND (env = ? OR env IS NULL) AND at >= ? AND at < ? GROUP BY status
                    """, arguments: arguments)
            {
                quality.rejections[row["status"]] = row["n"]
            }
            let failures = try Row.fetchOne(
                db,
                sql: """
                    SELECT count(*) AS n, max(reason) AS reason, max(event_id) AS example FROM fold_failures
                    WHERE token_id = ? AND env = ? AND at >= ? AND at < ?
                    """, arguments: arguments)
            quality.unfoldedEvents = failures?["n"] ?? 0
            quality.unfoldedReason = failures?["reason"]
            quality.unfoldedExample = failures?["example"]
            return quality
        }
    }

    public func events(_ query: EventQuery) async throws -> EventPage {
        try await read { db in
            var conditions = ["token_id = ?", "env = ?"]
            var arguments: StatementArguments = [query.tokenID.lowercased(), query.environment.rawValue]
            if let type = query.eventType {
                conditions.append("event_type = ?")
                arguments += [type]
            }
            if let table = query.tableNumber {
                conditions.append("table_number = ?")
                arguments += [table]
            }
            if let order = query.orderID {
                conditions.append("order_id = ?")
                arguments += [order]
            }
            if let flagged = query.hasWarnings { conditions.append(flagged ? "warning_count > 0" : "warning_count = 0") }
            if let since = query.since {
                conditions.append("received_at >= ?")
                arguments += [since.timeIntervalSince1970]
            }
            if let until = query.until {
                conditions.append("received_at < ?")
                arguments += [until.timeIntervalSince1970]
            }
            if let cursor = query.cursor {
                conditions.append(query.isOldestFirst ? "id > ?" : "id < ?")
                arguments += [cursor.lowercased()]
            }
            let limit = max(1, min(query.limit, 1000))
            let columns = Self.eventColumns + (query.includesBodies ? ", body" : "")
            let sql =
                "SELECT \(columns) FROM events WHERE \(conditions.joined(separator: " AND ")) ORDER BY id \(query.isOldestFirst ? "ASC" : "DESC") LIMIT \(limit + 1)"
            // A page holds at most `limit` events and, with bodies, about `EventQuery.maximumPageBytes` of them.
            var events: [StoredEvent] = []
            var bytes = 0
            var hasMore = false
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                if events.count == limit || (query.includesBodies && bytes >= EventQuery.maximumPageBytes) {
                    hasMore = true
                    break
                }
                let event = Self.event(from: row)
                bytes += event.bodySize
                events.append(event)
            }
            return EventPage(events: events, nextCursor: hasMore ? events.last?.position : nil)
        }
    }

    public func activities(in windows: [String: Range<Date>]) async throws -> [String: TokenActivity] {
        let triples = windows.map {
            "[\(JSONText.quoted($0.key.lowercased())),\($0.value.lowerBound.timeIntervalSince1970),\($0.value.upperBound.timeIntervalSince1970)]"
        }
        return try await read { db in
            // The newest id per env is the last event (ids are time-ordered), found through the log index.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    WITH w(id, f, t) AS (
                        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?))
                    SELECT w.id,
                        (SELECT received_at FROM events WHERE token_id = w.id AND env = 'prod' ORDER BY id DESC LIMIT 1) AS last_prod,
                        (SELECT received_at FROM events WHERE token_id = w.id AND env = 'dev' ORDER BY id DESC LIMIT 1) AS last_dev,
                        (SELECT count(*) FROM events WHERE token_id = w.id AND env = 'prod'
                            AND COALESCE(occurred_at, received_at) >= w.f AND COALESCE(occurred_at, received_at) < w.t) AS n,
                        (SELECT count(*) FROM events WHERE token_id = w.id AND env = 'prod' AND warning_count > 0
                            AND COALESCE(occurred_at, received_at) >= w.f AND COALESCE(occurred_at, received_at) < w.t) AS flagged
                    FROM w
                    """, arguments: ["[" + triples.joined(separator: ",") + "]"])
            var activities: [String: TokenActivity] = [:]
            for row in rows {
                let last = [row["last_prod"] as Double?, row["last_dev"] as Double?].compactMap { $0 }.max()
                activities[row["id"]] = TokenActivity(
                    lastEventAt: last.map(Date.init(timeIntervalSince1970:)), events: row["n"],
                    eventsWithWarnings: row["flagged"])
            }
            return activities
        }
    }

    /// Deletes events and rejections received before `cutoff`, `batchSize` rows per transaction (so the writer
    /// is never held long); returns how many events went.
    public func deleteExpired(olderThan cutoff: Date, batchSize: Int) async throws -> Int {
        var total = 0
        // Event ids are time-ordered: every event received before the cutoff sorts below this prefix.
        let boundary = TimeOrderedIdentifierGenerator.lowerBound(at: cutoff)
        while true {
            let deleted = try await write { db in
                // The newest event always stays: rowids then never start over, so the fold cursor stays meaningful.
                try db.execute(
                    sql: """
                        DELETE FROM events WHERE rowid IN (
                            SELECT rowid FROM events WHERE id < ? AND rowid < (SELECT max(rowid) FROM events) ORDER BY id LIMIT ?)
                        """, arguments: [boundary, batchSize])
                let events = db.changesCount
                try db.execute(
                    sql: "DELETE FROM rejections WHERE id IN (SELECT id FROM rejections WHERE at < ? LIMIT ?)",
                    arguments: [cutoff.timeIntervalSince1970, batchSize])
                let rejections = db.changesCount
                // A fold failure lives as long as its event.
                try db.execute(
                    sql: """
                        DELETE FROM fold_failures WHERE rowid IN (
                            SELECT f.rowid FROM fold_failures f LEFT JOIN events e ON e.id = f.event_id WHERE e.id IS NULL LIMIT ?)
                        """, arguments: [batchSize])
                return (events, max(rejections, db.changesCount))
            }
            total += deleted.0
            if deleted.0 < batchSize && deleted.1 < batchSize { return total }
        }
    }

    public func rebuildSessions(progress: @Sendable (Int, Int) -> Void) async throws -> Int {
        let orders = try await read { db in try SessionProjection.allOrders(db: db) }
        let batchSize = 500
        var done = 0
        progress(0, orders.count)
        for start in stride(from: 0, to: orders.count, by: batchSize) {
            let batch = Array(orders[start..<min(start + batchSize, orders.count)])
            try await write { db in
                for order in batch {
                    // One order that cannot be written is kept with the reason; the others are rebuilt.
                    let zone = TimeZone(identifier: order.timeZone) ?? .gmt
                    do {
                        try db.inSavepoint {
                            try SessionProjection.rebuild(db: db, key: order, timeZone: zone)
                            return .commit
                        }
                    } catch let error as DatabaseError where !error.isStoreFault {
                        try SessionProjection.recordFailure(
                            of: try Self.events(of: order, db: db), key: order,
                            reason: error.message ?? "\(error)", db: db)
                    }
                }
            }
            done += batch.count
            progress(done, orders.count)
        }
        return orders.count
    }

    private static func events(of order: SessionKey, db: Database) throws -> [(id: String, occurredAt: Date)] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT id, COALESCE(occurred_at, received_at) AS at FROM events WHERE token_id = ? AND env = ? AND order_id = ? AND is_test = 0
                """, arguments: [order.tokenID, order.environment, order.orderID]
        )
        .map { ($0["id"], Date(timeIntervalSince1970: $0["at"])) }
    }
}
