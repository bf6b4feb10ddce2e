public import EmiliaModel
public import Foundation
import GRDB

/// A message's place in the outbox.
public enum OutboxMessageStatus: String, Sendable, Codable {
    case pending
    case delivered
    case dead
}

/// One queued webhook.
public struct OutboxMessage: Sendable, Hashable {
    public var id: Int64
    public var orderKey: String
    public var body: Data
    public var idempotencyKey: String
    public var status: OutboxMessageStatus
    public var attempts: Int
    public var lastStatus: Int?
    public var lastError: String?
    public var eventID: String?
    /// When its retry budget began: when it was enqueued, or requeued.
    public var createdAt: Date
    /// When it is (or was last) due.
    public var nextAttemptAt: Date
}

/// Counts by status.
public struct OutboxCounts: Sendable, Hashable, Codable {
    public var pending: Int
    public var delivered: Int
    public var dead: Int

    public init(pending: Int, delivered: Int, dead: Int) {
        self.pending = pending
        self.delivered = delivered
        self.dead = dead
    }
}

/// A durable queue of webhooks in a local SQLite file (WAL, `synchronous=FULL`): `enqueue` returns once the
/// message is on disk, so nothing enqueued is lost when the process or the server dies.
public final class Outbox: Sendable {
    let database: DatabaseQueue

    /// Opens (creating when needed) the outbox file.
    public init(path: URL) throws {
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        database = try DatabaseQueue(path: path.path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE messages (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        order_key TEXT NOT NULL,
                        body BLOB NOT NULL,
                        idempotency_key TEXT NOT NULL,
                        status TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL,
                        last_status INTEGER,
                        last_error TEXT,
                        event_id TEXT,
                        created_at REAL NOT NULL
                    );
                    CREATE INDEX messages_pending ON messages(status, order_key, id);
                    CREATE TABLE destination (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        base_url TEXT NOT NULL,
                        token TEXT NOT NULL,
                        env TEXT NOT NULL
                    );
                    """)
        }
        // A second process opening the same new file (`emilia outbox status` while `simulate` starts) can apply a
        // migration between our look and our run; our second attempt then finds it applied.
        do { try migrator.migrate(database) } catch { try migrator.migrate(database) }
    }

    /// Where this outbox delivers: one restaurant token (kept in the file, so `emilia outbox deliver` can finish
    /// what another process started).
    public struct Destination: Sendable, Hashable {
        public var baseURL: String
        public var token: String
        public var environment: DeploymentEnvironment

        public init(baseURL: String, token: String, environment: DeploymentEnvironment) {
            self.baseURL = baseURL
            self.token = token
            self.environment = environment
        }
    }

    /// Sets where messages go.
    public func setDestination(_ destination: Destination) async throws {
        try await database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO destination (id, base_url, token, env) VALUES (1, ?, ?, ?)",
                arguments: [destination.baseURL, destination.token, destination.environment.rawValue])
        }
    }

    /// Where messages go, if set.
    public func destination() async throws -> Destination? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM destination WHERE id = 1").map {
                Destination(
                    baseURL: $0["base_url"], token: $0["token"],
                    environment: DeploymentEnvironment(rawValue: $0["env"]) ?? .dev)
            }
        }
    }

    /// Queues a typed payload (in order with the other messages of its `order_id`).
    @discardableResult
    public func enqueue(_ payload: some WebhookPayload, timeZone: TimeZone) async throws -> Int64 {
        try await enqueue(json: payload.encoded(in: timeZone), orderID: payload.orderID)
    }

    /// Queues raw JSON; messages with the same `orderID` are delivered one after another, in enqueue order.
    @discardableResult
    public func enqueue(json body: Data, orderID: String?, now: Date = Date()) async throws -> Int64 {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO messages (order_key, body, idempotency_key, status, next_attempt_at, created_at)
                    VALUES (?, ?, ?, 'pending', ?, ?)
                    """,
                arguments: [
                    orderID.map { "order:" + $0 } ?? "", body, UUID().uuidString.lowercased(),
                    now.timeIntervalSince1970, now.timeIntervalSince1970,
                ])
            let id = db.lastInsertedRowID
            if orderID == nil { try db.execute(sql: "UPDATE messages SET order_key = ? WHERE id = ?", arguments: ["message:\(id)", id]) }
            return id
        }
    }

    /// How many messages are pending, delivered, dead.
    public func counts() async throws -> OutboxCounts {
        try await database.read { db in
            var counts = OutboxCounts(pending: 0, delivered: 0, dead: 0)
            for row in try Row.fetchAll(db, sql: "SELECT status, count(*) AS n FROM messages GROUP BY status") {
                switch OutboxMessageStatus(rawValue: row["status"]) {
                case .pending: counts.pending = row["n"]
                case .delivered: counts.delivered = row["n"]
                case .dead: counts.dead = row["n"]
                case nil: break
                }
            }
            return counts
        }
    }

    /// The dead messages, with their last status and reason.
    public func deadMessages(limit: Int = 100) async throws -> [OutboxMessage] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM messages WHERE status = 'dead' ORDER BY id LIMIT ?", arguments: [limit]).map(
                Self.message)
        }
    }

    /// Pending messages that have failed at least once (being retried), oldest first.
    public func retryingMessages(limit: Int = 100) async throws -> [OutboxMessage] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM messages WHERE status = 'pending' AND attempts > 0 ORDER BY id LIMIT ?",
                arguments: [limit]
            ).map(Self.message)
        }
    }

    /// Puts dead messages back to pending, due at `now`, with a fresh retry budget (`created_at` becomes `now`);
    /// `ids` nil requeues every dead message; ids of messages that are not dead are ignored. Returns how many.
    @discardableResult
    public func requeueDead(ids: [Int64]? = nil, now: Date = Date()) async throws -> Int {
        try await database.write { db in
            let time = now.timeIntervalSince1970
            if let ids {
                var requeued = 0
                for id in Set(ids) {
                    try db.execute(
                        sql: """
                            UPDATE messages SET status = 'pending', next_attempt_at = ?, created_at = ? WHERE id = ? AND status = 'dead'
                            """, arguments: [time, time, id])
                    requeued += db.changesCount
                }
                return requeued
            }
            try db.execute(
                sql: "UPDATE messages SET status = 'pending', next_attempt_at = ?, created_at = ? WHERE status = 'dead'",
                arguments: [time, time])
            return db.changesCount
        }
    }

    /// Due messages, at most one per order: the oldest pending one, only when nothing older of its order is pending.
    func due(now: Date, limit: Int) async throws -> [OutboxMessage] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT m.* FROM messages m
                    WHERE m.status = 'pending' AND m.next_attempt_at <= ?
                      AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.status = 'pending' AND p.order_key = m.order_key AND p.id < m.id)
                    ORDER BY m.id LIMIT ?
                    """, arguments: [now.timeIntervalSince1970, limit]
            ).map(Self.message)
        }
    }

    /// When the next pending message is due, if any; a message waiting behind an older one of its order does not count.
    func nextDue() async throws -> Date? {
        try await database.read { db in
            try Double.fetchOne(
                db,
                sql: """
                    SELECT min(m.next_attempt_at) FROM messages m
                    WHERE m.status = 'pending'
                      AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.status = 'pending' AND p.order_key = m.order_key AND p.id < m.id)
                    """)
        }.map(Date.init(timeIntervalSince1970:))
    }

    func markDelivered(_ id: Int64, eventID: String, attempts: Int) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE messages SET status = 'delivered', event_id = ?, attempts = ?, last_status = 200 WHERE id = ?",
                arguments: [eventID, attempts, id])
        }
    }

    /// Records a failed attempt: pending again at `retryAt`, or dead (at `now`) when `retryAt` is nil.
    func markFailed(_ id: Int64, attempts: Int, status: Int?, reason: String, retryAt: Date?, now: Date = Date()) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE messages SET status = ?, attempts = ?, last_status = ?, last_error = ?, next_attempt_at = ? WHERE id = ?
                    """,
                arguments: [
                    retryAt == nil ? "dead" : "pending", attempts, status, reason,
                    (retryAt ?? now).timeIntervalSince1970, id,
                ])
        }
    }

    static func message(_ row: Row) -> OutboxMessage {
        OutboxMessage(
            id: row["id"], orderKey: row["order_key"], body: row["body"], idempotencyKey: row["idempotency_key"],
            status: OutboxMessageStatus(rawValue: row["status"]) ?? .pending, attempts: row["attempts"],
            lastStatus: row["last_status"], lastError: row["last_error"], eventID: row["event_id"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            nextAttemptAt: Date(timeIntervalSince1970: row["next_attempt_at"]))
    }
}
