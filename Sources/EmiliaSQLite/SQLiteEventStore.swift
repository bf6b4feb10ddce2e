public import EmiliaModel
public import EmiliaStore
public import Foundation
import GRDB
public import Logging
public import ServiceLifecycle

/// The event log in one SQLite file (WAL, every commit synced before it is answered): the default, single-node store.
///
/// Writes of events go through one group-commit writer (in `services`, which the server runs);
/// token administration writes directly, so the CLI can manage tokens while a server runs.
public final class SQLiteEventStore: EventStore {
    /// The file name inside the data directory.
    public static let fileName = "emilia.sqlite3"

    let database: DatabasePool
    let writer: GroupCommitWriter
    let folder: SessionFolder
    let directory: URL
    private let tokenCache: TokenCache
    private let appends = LogSignal()
    let now: @Sendable () -> Date
    private let minimumFreeBytes: Int64

    private let checkpointer: WALCheckpointer?

    /// The services the server runs beside the HTTP server: the WAL checkpointer, the session folder and the writer.
    /// They stop in reverse order: the writer commits what is queued, then the folder folds it.
    public var services: [any Service] { (checkpointer.map { [$0] } ?? []) + [folder, writer] }

    /// Opens (creating and migrating when needed) the store in `directory`.
    /// - Parameters:
    ///   - separateCheckpoints: checkpoint the WAL from a connection of its own (the default) instead of inside the
    ///     writer's commits.
    ///   - logRestartFrames: with separate checkpoints, the log length (in 4 KiB frames; 16 MiB by default) past which
    ///     the writer finishes the checkpointer's pass, so the log starts over instead of growing under steady writes.
    ///   - minimumFreeBytes: below this much free space in `directory`, health reports storage unavailable.
    public convenience init(
        directory: URL, logger: Logger, tokenCacheLifetime: Duration = .seconds(1), busyTimeout: Duration = .seconds(10),
        separateCheckpoints: Bool = true, logRestartFrames: Int = 4096,
        maximumPendingWrites: Int = 50_000, minimumFreeBytes: Int64 = 16 * 1024 * 1024,
        now: @escaping @Sendable () -> Date = { Date() }, monitor: StoreMonitor = StoreMonitor()
    ) throws {
        try self.init(
            directory: directory, logger: logger, tokenCacheLifetime: tokenCacheLifetime, busyTimeout: busyTimeout,
            separateCheckpoints: separateCheckpoints, logRestartFrames: logRestartFrames,
            maximumPendingWrites: maximumPendingWrites, minimumFreeBytes: minimumFreeBytes, now: now, monitor: monitor,
            syncLog: LogSyncer.fileDataSync)
    }

    /// The same, with the call that syncs the write-ahead log given (tests wrap `fdatasync` to watch it).
    init(
        directory: URL, logger: Logger, tokenCacheLifetime: Duration, busyTimeout: Duration, separateCheckpoints: Bool,
        logRestartFrames: Int, maximumPendingWrites: Int, minimumFreeBytes: Int64, now: @escaping @Sendable () -> Date,
        monitor: StoreMonitor, syncLog: @escaping LogSyncer.Sync
    ) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(Double(busyTimeout.components.seconds) + Double(busyTimeout.components.attoseconds) / 1e18)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Checkpoints run from WALCheckpointer's own connection; past 16× the restart length (the checkpointer
            // is stuck) the writer checkpoints on its own.
            if separateCheckpoints { try db.execute(sql: "PRAGMA wal_autocheckpoint = \(16 * logRestartFrames)") }
        }
        let path = directory.appendingPathComponent(Self.fileName).path
        let openLock = try OpenLock(path: path + ".open-lock", timeout: busyTimeout)
        database = try DatabasePool(path: path, configuration: configuration)
        // GRDB sets `synchronous = NORMAL` on the writer once it turns WAL on, after `prepareDatabase`: token and
        // retention writes sync in their own commit, so the writer syncs fully by default (a test reads it back off
        // the live connection); the group commit and the fold lower it for their transaction only.
        try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try SQLiteSchema.migrator.migrate(database)
        _ = consume openLock  // releases the lock here; without this line it could go right after it was taken
        self.now = now
        self.directory = directory
        self.minimumFreeBytes = minimumFreeBytes
        let handoff = FoldHandoff()
        let folder = SessionFolder(database: database, handoff: handoff, logger: logger, monitor: monitor)
        self.folder = folder
        let tokenCache = TokenCache(lifetime: tokenCacheLifetime)
        self.tokenCache = tokenCache
        writer = GroupCommitWriter(
            database: database, logSyncer: LogSyncer(databasePath: path, sync: syncLog), logger: logger,
            maximumPending: maximumPendingWrites,
            now: now, observer: monitor.commit, handoff: handoff,
            onCommitted: { [appends] in
                folder.committed(upTo: $0)
                appends.notify()
            },
            onTokenChanged: tokenCache.removeAll)
        checkpointer =
            separateCheckpoints
            ? WALCheckpointer(
                path: path, restartFrames: logRestartFrames, logger: logger, monitor: monitor,
                writer: database) : nil
    }

    public func activeToken(matching clearToken: String) async throws -> TokenRecord? {
        let instant = now()
        return try await tokenCache.record(matching: clearToken, at: instant) { [self] hash in
            try await read { db in
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT t.* FROM token_secrets s JOIN tokens t ON t.id = s.token_id
                        WHERE s.hash = ? AND t.status = 'active' AND (s.expires_at IS NULL OR s.expires_at > ?)
                        """, arguments: [hash, instant.timeIntervalSince1970]
                ).map(Self.token(from:))
            }
        }
    }

    public func recentlyVerifiedToken(matching clearToken: String) -> TokenRecord? {
        tokenCache.recentlyVerified(clearToken, at: now())
    }

    public func append(_ event: IncomingEvent) async throws -> AppendReceipt {
        try await writer.append(event)
    }

    public func recordRejection(_ rejection: Rejection) {
        writer.record(rejection)
    }

    public func createToken(name: String, timeZone: String) async throws -> IssuedToken {
        let issued = try IssuedToken.make(name: name, timeZone: timeZone, at: now())
        let (record, token) = (issued.record, issued.token)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO tokens (id, name, time_zone, status, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.id, record.name, record.timeZone, record.status.rawValue, record.prefix,
                    record.createdAt.timeIntervalSince1970,
                ])
            try db.execute(
                sql: "INSERT INTO token_secrets (hash, token_id, created_at) VALUES (?, ?, ?)",
                arguments: [TokenSecrets.hash(token), record.id, record.createdAt.timeIntervalSince1970])
        }
        return issued
    }

    public func listTokens() async throws -> [TokenRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM tokens ORDER BY created_at, id").map(Self.token(from:))
        }
    }

    public func token(id: String) async throws -> TokenRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE id = ?", arguments: [id.lowercased()]).map(Self.token(from:))
        }
    }

    public func setTokenStatus(id: String, _ status: TokenStatus) async throws -> TokenRecord {
        let record = try await write { db -> TokenRecord? in
            try db.execute(sql: "UPDATE tokens SET status = ? WHERE id = ?", arguments: [status.rawValue, id.lowercased()])
            return try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE id = ?", arguments: [id.lowercased()]).map(Self.token(from:))
        }
        guard let record else { throw StoreError(.notFound, "no token with id \(id)") }
        tokenCache.removeAll()
        return record
    }

    public func rotateToken(id: String, grace: Duration) async throws -> IssuedToken {
        let token = TokenSecrets.makeToken()
        let instant = now()
        let graceEnd = instant.addingTimeInterval(Double(grace.components.seconds))
        let record = try await write { db -> TokenRecord? in
            guard try Row.fetchOne(db, sql: "SELECT id FROM tokens WHERE id = ?", arguments: [id.lowercased()]) != nil else {
                return nil
            }
            try db.execute(
                sql: """
                    UPDATE token_secrets SET expires_at = ? WHERE token_id = ? AND (expires_at IS NULL OR expires_at > ?)
                    """, arguments: [graceEnd.timeIntervalSince1970, id.lowercased(), graceEnd.timeIntervalSince1970])
            try db.execute(
                sql: "INSERT INTO token_secrets (hash, token_id, created_at) VALUES (?, ?, ?)",
                arguments: [TokenSecrets.hash(token), id.lowercased(), instant.timeIntervalSince1970])
            try db.execute(sql: "UPDATE tokens SET prefix = ? WHERE id = ?", arguments: [TokenSecrets.prefix(token), id.lowercased()])
            return try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE id = ?", arguments: [id.lowercased()]).map(Self.token(from:))
        }
        guard let record else { throw StoreError(.notFound, "no token with id \(id)") }
        tokenCache.removeAll()
        return IssuedToken(record: record, token: token)
    }

    public func event(id: String) async throws -> StoredEvent? {
        try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.eventColumns) FROM events WHERE id = ?",
                arguments: [id.lowercased()]
            ).map(Self.event(from:))
        }
    }

    public func rawBody(eventID: String) async throws -> Data? {
        try await read { db in
            try Data.fetchOne(db, sql: "SELECT body FROM events WHERE id = ?", arguments: [eventID.lowercased()])
        }
    }

    public func rejections(tokenID: String, environment: DeploymentEnvironment?, limit: Int) async throws -> [Rejection] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM rejections WHERE token_id = ? AND (? IS NULL OR env = ? OR env IS NULL) ORDER BY id DESC LIMIT ?
                    """, arguments: [tokenID.lowercased(), environment?.rawValue, environment?.rawValue, limit]
            ).map { row in
                Rejection(
                    tokenID: row["token_id"], environment: (row["env"] as String?).flatMap(DeploymentEnvironment.init(rawValue:)),
                    at: Date(timeIntervalSince1970: row["at"]), status: row["status"], reason: row["reason"],
                    bodyPrefix: row["body"], requestID: row["request_id"], count: row["count"])
            }
        }
    }

    public func writeBacklog() -> (count: Int, oldestAge: Duration?) { writer.backlog }

    public var appendGeneration: UInt64 { appends.generation }

    public func waitForAppends(after generation: UInt64, timeout: Duration) async {
        await appends.wait(after: generation, timeout: timeout)
    }

    /// One file, one server.
    public var nodeCount: Int { 1 }

    public func checkHealth() async throws {
        _ = try await storage { try await read { db in try Int.fetchOne(db, sql: "SELECT 1") } }
        if let free = FreeSpace.available(at: directory), free < minimumFreeBytes {
            throw StoreError(.unavailable, "the disk holding the data directory is full (\(free) bytes free)")
        }
        if writer.logSyncFailed {
            throw StoreError(.unavailable, "a sync of the write-ahead log failed: restart the server")
        }
        if writer.lastCommitFailed {
            // Probe with a real write, so storage reads healthy again once it recovers, even with no traffic.
            do {
                try await write { db in
                    try db.execute(sql: "UPDATE projection_cursor SET last_rowid = last_rowid")
                }
            } catch {
                throw StoreError(.unavailable, "the last commit failed and writes still fail")
            }
            writer.markHealthy()
        }
    }

    static func token(from row: Row) -> TokenRecord {
        TokenRecord(
            id: row["id"], name: row["name"], timeZone: row["time_zone"],
            status: TokenStatus(rawValue: row["status"]) ?? .inactive, prefix: row["prefix"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]), tableStyle: row["table_style"])
    }

    static let eventColumns = """
        id, token_id, env, received_at, event_type, is_test, order_id, order_id_is_number, table_number, occurred_at,
        request_id, content_type, content_encoding, warnings, length(body) AS body_size
        """

    static func event(from row: Row) -> StoredEvent {
        let warningsText: String = row["warnings"]
        let warnings = (try? JSONDecoder().decode([ValidationWarning].self, from: Data(warningsText.utf8))) ?? []
        return StoredEvent(
            id: row["id"], position: row["id"], tokenID: row["token_id"], environment: DeploymentEnvironment(rawValue: row["env"]) ?? .prod,
            receivedAt: Date(timeIntervalSince1970: row["received_at"]), eventType: row["event_type"],
            orderID: row["order_id"], orderIDIsNumber: row["order_id_is_number"], tableNumber: row["table_number"],
            occurredAt: (row["occurred_at"] as Double?).map(Date.init(timeIntervalSince1970:)), isTest: row["is_test"],
            requestID: row["request_id"], contentType: row["content_type"],
            contentEncoding: row["content_encoding"], bodySize: row["body_size"], warnings: warnings,
            body: row.hasColumn("body") ? row["body"] : nil)
    }
}
