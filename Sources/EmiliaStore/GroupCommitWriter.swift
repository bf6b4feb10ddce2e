import EmiliaModel
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// The single writer of the event log: it commits everything pending as one transaction (group commit,
/// `synchronous=FULL`), then answers every waiting request. This is what makes "200 means on disk" fast.
///
/// Run it as a `Service`; on graceful shutdown it commits what is queued, then refuses new writes.
final class GroupCommitWriter: Service {
    private enum WriteItem: Sendable {
        case event(IncomingEvent, CheckedContinuation<AppendReceipt, any Error>)
        case rejection(Rejection)
    }

    private struct State: ~Copyable {
        var pending: [WriteItem] = []
        /// Rejection records among `pending`: they have a small cap of their own, so a flood of refusals never takes
        /// the room events need.
        var pendingRejections = 0
        var isClosed = false
        var lastCommitFailed = false
        /// When the oldest write still waiting for a commit was queued.
        var oldestPendingSince: ContinuousClock.Instant?
        /// The checkpointer left a long log: finish its pass between two commits.
        var checkpointRequested = false
    }

    /// How many rejection records may wait for a commit; more are dropped (they still count in the metrics).
    static let maximumPendingRejections = 1_000

    private let database: DatabasePool
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let observer: CommitObserver
    private let maximumPending: Int
    /// Told the newest rowid after each commit (the session folder folds up to it).
    private let onCommitted: @Sendable (Int64) -> Void
    /// Told when a commit changed a token (a learned table style), so cached look-ups are dropped.
    private let onTokenChanged: @Sendable () -> Void
    private let state = Mutex(State())
    private let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    init(database: DatabasePool, logger: Logger, maximumPending: Int, now: @escaping @Sendable () -> Date,
         observer: @escaping CommitObserver, onCommitted: @escaping @Sendable (Int64) -> Void,
         onTokenChanged: @escaping @Sendable () -> Void) {
        self.onTokenChanged = onTokenChanged
        self.database = database
        self.logger = logger
        self.maximumPending = maximumPending
        self.now = now
        self.observer = observer
        self.onCommitted = onCommitted
        (wakeUps, wakeUp) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// How many writes wait for a commit, and for how long the oldest has.
    var backlog: (count: Int, oldestAge: Duration?) {
        state.withLock { state in (state.pending.count, state.oldestPendingSince.map { ContinuousClock.now - $0 }) }
    }

    /// True when the most recent commit failed (health reports storage down until one succeeds).
    var lastCommitFailed: Bool { state.withLock { $0.lastCommitFailed } }

    /// Clears `lastCommitFailed` after a successful write probe.
    func markHealthy() { state.withLock { $0.lastCommitFailed = false } }

    /// Asks the writer to finish the checkpointer's pass between two commits, so its next commit starts the log over.
    @Sendable func finishCheckpoint() {
        state.withLock { $0.checkpointRequested = true }
        wakeUp.yield()
    }

    /// Queues the event and waits for its commit.
    func append(_ event: IncomingEvent) async throws -> AppendReceipt {
        try await withCheckedThrowingContinuation { continuation in
            let refusal: StoreError? = state.withLock { state in
                if state.isClosed { return StoreError(.unavailable, "the writer is shut down") }
                if state.pending.count - state.pendingRejections >= maximumPending {
                    return StoreError(.unavailable, "the write queue is full")
                }
                if state.pending.isEmpty { state.oldestPendingSince = ContinuousClock.now }
                state.pending.append(.event(event, continuation))
                return nil
            }
            if let refusal { continuation.resume(throwing: refusal) } else { wakeUp.yield() }
        }
    }

    /// Queues a rejection record without waiting; dropped when the queue is full or closed.
    func record(_ rejection: Rejection) {
        let queued = state.withLock { state in
            guard !state.isClosed, state.pendingRejections < Self.maximumPendingRejections else { return false }
            if state.pending.isEmpty { state.oldestPendingSince = ContinuousClock.now }
            state.pending.append(.rejection(rejection))
            state.pendingRejections += 1
            return true
        }
        if queued { wakeUp.yield() }
    }

    func run() async throws {
        var identifiers = TimeOrderedIdentifierGenerator()
        await withGracefulShutdownHandler {
            for await _ in wakeUps {
                await commitPending(identifiers: &identifiers)
                await checkpointIfRequested()
            }
        } onGracefulShutdown: { [wakeUp] in
            wakeUp.finish()
        }
        state.withLock { $0.isClosed = true }
        await commitPending(identifiers: &identifiers)
    }

    private func commitPending(identifiers: inout TimeOrderedIdentifierGenerator) async {
        while true {
            let batch = state.withLock { state -> [WriteItem] in
                defer {
                    state.pending.removeAll(keepingCapacity: true)
                    state.pendingRejections = 0
                    state.oldestPendingSince = nil
                }
                return state.pending
            }
            if batch.isEmpty { return }
            await commit(batch, identifiers: &identifiers)
        }
    }

    /// Copies the log's last frames into the database when the checkpointer asked (see `WALCheckpointer`).
    private func checkpointIfRequested() async {
        guard state.withLock({ state in defer { state.checkpointRequested = false }; return state.checkpointRequested }) else { return }
        do {
            try await database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
        } catch {
            logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
        }
    }

    private func commit(_ batch: [WriteItem], identifiers: inout TimeOrderedIdentifierGenerator) async {
        let receivedAt = now()
        var events: [(IncomingEvent, String)] = []
        var rejections: [Rejection] = []
        for item in batch {
            switch item {
            case .event(let event, _): events.append((event, identifiers.next(now: receivedAt).uuidString.lowercased()))
            case .rejection(let rejection): rejections.append(rejection)
            }
        }
        let started = ContinuousClock.now
        let outcome: Result<[StoredWrite], any Error>
        do {
            let stored = try await database.write { [events, rejections] db in
                let stored = try events.map { try Self.insert($0.0, id: $0.1, receivedAt: receivedAt, db: db) }
                for rejection in rejections { try Self.insert(rejection, db: db) }
                return stored
            }
            outcome = .success(stored)
            state.withLock { $0.lastCommitFailed = false }
            observer(batch.count, ContinuousClock.now - started)
        } catch {
            logger.error("Commit failed", metadata: ["error": "\(error)", "batch": "\(batch.count)"])
            outcome = .failure(StoreError(.unavailable, "the commit failed"))
            state.withLock { $0.lastCommitFailed = true }
        }
        // Before the answers: a read right after its 200 must wait for this commit's fold, and see a learned style.
        if case .success(let stored) = outcome {
            if stored.contains(where: \.learnedTableStyle) { onTokenChanged() }
            if let newest = stored.compactMap(\.rowID).max() { onCommitted(newest) }
        }
        var receiptIndex = 0
        for item in batch {
            guard case .event(_, let continuation) = item else { continue }
            switch outcome {
            case .success(let stored): continuation.resume(returning: stored[receiptIndex].receipt)
            case .failure(let error): continuation.resume(throwing: error)
            }
            receiptIndex += 1
        }
    }

    /// One event's outcome: its receipt, and its rowid when it was new.
    private struct StoredWrite {
        var receipt: AppendReceipt
        var rowID: Int64?
        var learnedTableStyle = false
    }

    private static func insert(_ event: IncomingEvent, id: String, receivedAt: Date, db: Database) throws -> StoredWrite {
        let warningsJSON = JSONText.warnings(event.warnings)
        let statement = try db.cachedStatement(sql: """
            INSERT INTO events (id, token_id, env, received_at, event_type, is_test, order_id, table_number, occurred_at,
                                dedup_key, request_id, content_type, warning_count, warnings, body)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (token_id, env, dedup_key) DO NOTHING
            """)
        try statement.execute(arguments: [
            id, event.tokenID, event.environment.rawValue, receivedAt.timeIntervalSince1970, event.summary.kind.name,
            event.summary.kind.isTest, event.summary.orderID, event.summary.tableNumber,
            event.summary.occurredAt?.timeIntervalSince1970, event.deduplicationKey, event.requestID, event.contentType,
            event.warnings.count, warningsJSON, event.body,
        ])
        if db.changesCount == 0 {
            let existing = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, received_at, warnings FROM events WHERE token_id = ? AND env = ? AND dedup_key = ?"),
                arguments: [event.tokenID, event.environment.rawValue, event.deduplicationKey])
            guard let existing else { throw StoreError(.unavailable, "dedup conflict without a row") }
            return StoredWrite(receipt: AppendReceipt(eventID: existing["id"], receivedAt: Date(timeIntervalSince1970: existing["received_at"]),
                                                      duplicate: true, warningsJSON: existing["warnings"]))
        }
        let rowID = db.lastInsertedRowID
        var learned = false
        if let style = event.tableStyleToLearn {
            try db.execute(sql: "UPDATE tokens SET table_style = ? WHERE id = ? AND table_style IS NULL",
                           arguments: [style, event.tokenID])
            learned = db.changesCount > 0
        }
        return StoredWrite(receipt: AppendReceipt(eventID: id, receivedAt: receivedAt, duplicate: false, warningsJSON: warningsJSON),
                           rowID: rowID, learnedTableStyle: learned)
    }

    private static func insert(_ rejection: Rejection, db: Database) throws {
        try db.execute(sql: """
            INSERT INTO rejections (token_id, env, at, status, reason, body, request_id, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [rejection.tokenID, rejection.environment?.rawValue, rejection.at.timeIntervalSince1970,
                             rejection.status, rejection.reason, rejection.bodyPrefix, rejection.requestID, rejection.count])
    }
}
