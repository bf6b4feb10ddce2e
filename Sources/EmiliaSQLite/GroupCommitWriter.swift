import EmiliaModel
import EmiliaStore
import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// The single writer of the event log: it commits everything pending as one transaction (group commit, without an
/// fsync), and `LogSyncer` answers every waiting request once the log is synced, while the next batch commits. This
/// is what makes "200 means on disk" fast.
///
/// Run it as a `Service`; on graceful shutdown it commits what is queued, then refuses new writes. The queue in front
/// of it (`WriteQueue`) is the one every backend shares.
final class GroupCommitWriter: Service {
    private let database: DatabasePool
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let observer: CommitObserver
    private let maximumPending: Int
    /// Told the newest rowid after each commit (the session folder folds up to it).
    private let onCommitted: @Sendable (Int64) -> Void
    /// Told when a commit changed a token (a learned table style), so cached look-ups are dropped.
    private let onTokenChanged: @Sendable () -> Void
    private let queue: WriteQueue
    /// Where the session facts of new events go for the folder.
    private let handoff: FoldHandoff
    /// Makes each commit durable before its writes are answered.
    private let logSyncer: LogSyncer

    init(
        database: DatabasePool, logSyncer: LogSyncer, logger: Logger, maximumPending: Int, now: @escaping @Sendable () -> Date,
        observer: @escaping CommitObserver, handoff: FoldHandoff, onCommitted: @escaping @Sendable (Int64) -> Void,
        onTokenChanged: @escaping @Sendable () -> Void
    ) {
        self.handoff = handoff
        self.logSyncer = logSyncer
        self.onTokenChanged = onTokenChanged
        self.database = database
        self.logger = logger
        self.maximumPending = maximumPending
        self.now = now
        self.observer = observer
        self.onCommitted = onCommitted
        queue = WriteQueue(maximumPending: maximumPending)
    }

    /// How many writes wait for a commit, and for how long the oldest has.
    var backlog: (count: Int, oldestAge: Duration?) { queue.backlog }

    /// True when the most recent commit failed (health reports storage down until one succeeds).
    var lastCommitFailed: Bool { queue.lastCommitFailed }

    /// True once a sync of the log failed: writes are refused until a restart (`LogSyncer.hasFailed`).
    var logSyncFailed: Bool { logSyncer.hasFailed }

    /// True while the writer waits for the log's sync to catch up before its next commit.
    var isHeldBySync: Bool { logSyncer.isHoldingWriter }

    /// Clears `lastCommitFailed` after a successful write probe.
    func markHealthy() { queue.lastCommitFailed = false }

    /// Queues the event and waits for its commit.
    func append(_ event: IncomingEvent) async throws -> AppendReceipt { try await queue.append(event) }

    /// Queues a rejection record without waiting; dropped when the queue is full or closed.
    func record(_ rejection: Rejection) { queue.record(rejection) }

    func run() async throws {
        await queue.serve { identifiers in await commitPending(identifiers: &identifiers) }
        await logSyncer.drain()
    }

    private func commitPending(identifiers: inout TimeOrderedIdentifierGenerator) async {
        while true {
            // A stalled disk stalls the writer here, so the queue fills and refuses instead of growing.
            await logSyncer.waitForRoom()
            let items = queue.takeAll()
            if items.isEmpty { return }
            await commit(WriteBatch(items), identifiers: &identifiers)
        }
    }

    private func commit(_ batch: WriteBatch, identifiers: inout TimeOrderedIdentifierGenerator) async {
        let receivedAt = now()
        let events = batch.events.map { ($0, identifiers.next(now: receivedAt).lowercaseText) }
        let rejections = batch.rejections
        // Before the commit, so the folder finds them however soon it reads the new rows.
        handoff.handOver(events.lazy.map { ($0.1, $0.0) })
        let started = ContinuousClock.now
        let stored: [StoredWrite]
        do {
            // Without an fsync: the log syncer syncs it, and the next batch commits meanwhile.
            stored = try await database.writeUnsynced { db in
                let stored = try events.map { try Self.insert($0.0, id: $0.1, receivedAt: receivedAt, db: db) }
                for rejection in rejections { try Self.insert(rejection, db: db) }
                return stored
            }
        } catch {
            logger.error("Commit failed", metadata: ["error": "\(error)", "batch": "\(batch.items.count)"])
            fail(batch, StoreError(.unavailable, "the commit failed"))
            return
        }
        queue.lastCommitFailed = false
        logSyncer.afterNextSync { [self] synced in
            if case .failure(let error) = synced {
                logger.error("Sync of the write-ahead log failed", metadata: ["error": "\(error)", "batch": "\(batch.items.count)"])
                fail(batch, error)
                return
            }
            observer(batch.items.count, ContinuousClock.now - started)
            // Before the answers: a read right after its 200 must wait for this commit's fold, and see a learned style.
            if stored.contains(where: \.learnedTableStyle) { onTokenChanged() }
            if let newest = stored.compactMap(\.rowID).max() { onCommitted(newest) }
            batch.answer(.success(stored.map(\.receipt)))
        }
    }

    private func fail(_ batch: WriteBatch, _ error: StoreError) {
        queue.lastCommitFailed = true
        batch.answer(.failure(error))
    }

    /// One event's outcome: its receipt, and its rowid when it was new.
    private struct StoredWrite {
        var receipt: AppendReceipt
        var rowID: Int64?
        var learnedTableStyle = false
    }

    private static func insert(_ event: IncomingEvent, id: String, receivedAt: Date, db: Database) throws -> StoredWrite {
        let warningsJSON = JSONText.warnings(event.warnings)
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO events (id, token_id, env, received_at, event_type, is_test, order_id, order_id_is_number, table_number,
                                    occurred_at, dedup_key, request_id, content_type, content_encoding, warning_count, warnings, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (token_id, env, dedup_key) DO NOTHING
                """)
        try statement.execute(arguments: [
            id, event.tokenID, event.environment.rawValue, receivedAt.timeIntervalSince1970, event.summary.kind.name,
            event.summary.kind.isTest, event.summary.orderID, event.summary.orderIDIsNumber, event.summary.tableNumber,
            event.summary.occurredAt?.timeIntervalSince1970, event.deduplicationKey, event.requestID, event.contentType,
            event.contentEncoding, event.warnings.count, warningsJSON, event.body,
        ])
        if db.changesCount == 0 {
            let existing = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, received_at, warnings FROM events WHERE token_id = ? AND env = ? AND dedup_key = ?"),
                arguments: [event.tokenID, event.environment.rawValue, event.deduplicationKey])
            guard let existing else { throw StoreError(.unavailable, "dedup conflict without a row") }
            return StoredWrite(
                receipt: AppendReceipt(
                    eventID: existing["id"], receivedAt: Date(timeIntervalSince1970: existing["received_at"]),
                    isDuplicate: true, warningsJSON: existing["warnings"]))
        }
        let rowID = db.lastInsertedRowID
        var learned = false
        if let style = event.tableStyleToLearn {
            try db.execute(
                sql: "UPDATE tokens SET table_style = ? WHERE id = ? AND table_style IS NULL",
                arguments: [style, event.tokenID])
            learned = db.changesCount > 0
        }
        return StoredWrite(
            receipt: AppendReceipt(eventID: id, receivedAt: receivedAt, isDuplicate: false, warningsJSON: warningsJSON),
            rowID: rowID, learnedTableStyle: learned)
    }

    private static func insert(_ rejection: Rejection, db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO rejections (token_id, env, at, status, reason, body, request_id, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                rejection.tokenID, rejection.environment?.rawValue, rejection.at.timeIntervalSince1970,
                rejection.status, rejection.reason, rejection.bodyPrefix, rejection.requestID, rejection.count,
            ])
    }
}
