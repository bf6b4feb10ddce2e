import EmiliaModel
import Foundation
import GRDB

/// Session events already committed to the log but not yet folded into `sessions`.
///
/// The writer folds them in batches (every 25 ms under load, at once when a read asks or the writer stops), so a
/// check whose events arrive close together costs one session row write, and the session indexes one page write per
/// order and batch instead of one per event. `projection_cursor` records the newest event folded, in the same
/// transaction as the fold, so after a crash the events past it are folded again (the fold is idempotent).
struct PendingSessionEvents {
    struct OrderKey: Hashable {
        var tokenID: String
        var environment: String
        var orderID: String
        var timeZone: String
    }

    private(set) var orders: [OrderKey: [SessionFacts]] = [:]
    /// How many events wait.
    private(set) var count = 0
    /// The rowid of the newest committed event: how far the log is folded once these are.
    private(set) var lastRowID: Int64?
    /// When the oldest waiting event was committed.
    private(set) var oldest: ContinuousClock.Instant?

    var isEmpty: Bool { count == 0 }

    mutating func add(_ facts: SessionFacts, tokenID: String, environment: String, timeZone: String) {
        if count == 0 { oldest = .now }
        orders[OrderKey(tokenID: tokenID, environment: environment, orderID: facts.orderID, timeZone: timeZone), default: []]
            .append(facts)
        count += 1
    }

    mutating func committed(upTo rowID: Int64) {
        lastRowID = max(lastRowID ?? rowID, rowID)
    }

    /// Folds every waiting event into its session and moves the cursor, inside the caller's transaction.
    func fold(db: Database, zones: TimeZoneCache) throws {
        for (order, facts) in orders {
            try SessionProjection.add(facts, db: db, tokenID: order.tokenID, environment: order.environment,
                                      orderID: order.orderID, timeZone: zones.zone(named: order.timeZone))
        }
        if let lastRowID {
            try db.cachedStatement(sql: "UPDATE projection_cursor SET last_rowid = ?").execute(arguments: [lastRowID])
        }
    }

    /// The session events committed after the cursor: what a crash left unfolded.
    static func unfolded(db: Database, zones: TimeZoneCache) throws -> PendingSessionEvents {
        var pending = PendingSessionEvents()
        let cursor = try Int64.fetchOne(db, sql: "SELECT last_rowid FROM projection_cursor") ?? 0
        let newest = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM events") ?? 0
        // A log emptied by retention restarts its rowids: then everything in it is past the cursor.
        let from = newest < cursor ? 0 : cursor
        let rows = try Row.fetchCursor(db, sql: """
            SELECT e.rowid, e.id, e.received_at, e.token_id, e.env, e.body, t.time_zone FROM events e
            JOIN tokens t ON t.id = e.token_id
            WHERE e.rowid > ? AND e.is_test = 0 AND e.order_id IS NOT NULL ORDER BY e.rowid
            """, arguments: [from])
        while let row = try rows.next() {
            let zoneName: String = row["time_zone"]
            if let facts = SessionProjection.facts(eventID: row["id"], receivedAt: Date(timeIntervalSince1970: row["received_at"]),
                                                   body: row["body"], timeZone: zones.zone(named: zoneName)) {
                pending.add(facts, tokenID: row["token_id"], environment: row["env"], timeZone: zoneName)
            }
        }
        if newest > from { pending.committed(upTo: newest) }
        return pending
    }
}
