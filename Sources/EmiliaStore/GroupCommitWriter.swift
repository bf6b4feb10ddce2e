import EmiliaModel
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Observes commits, for metrics: how many writes went into one transaction and how long it took.
public typealias CommitObserver = @Sendable (_ batchSize: Int, _ duration: Duration) -> Void

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
        var isClosed = false
        var lastCommitFailed = false
        /// When the oldest write still waiting for a commit was queued.
        var oldestPendingSince: ContinuousClock.Instant?
        /// Committed session events not yet folded into `sessions`, and the reads waiting for them.
        var unfolded = 0
        var foldWaiters: [CheckedContinuation<Void, Never>] = []
        var isStopped = false
        /// The checkpointer left a long log: finish its pass between two commits.
        var checkpointRequested = false
    }

    /// How long committed session events may wait to be folded while writes keep coming, and how many.
    static let foldInterval: Duration = .milliseconds(25)
    static let foldBatch = 4096

    private let database: DatabasePool
    private let zones = TimeZoneCache()
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let observer: CommitObserver
    private let maximumPending: Int
    private let state = Mutex(State())
    private let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    init(database: DatabasePool, logger: Logger, maximumPending: Int, now: @escaping @Sendable () -> Date,
         observer: @escaping CommitObserver) {
        self.database = database
        self.logger = logger
        self.maximumPending = maximumPending
        self.now = now
        self.observer = observer
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

    /// Returns once every session event committed so far is folded into `sessions` (reads of sessions call it first).
    func waitUntilFolded() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waits = state.withLock { state in
                guard state.unfolded > 0, !state.isStopped else { return false }
                state.foldWaiters.append(continuation)
                return true
            }
            if waits { wakeUp.yield() } else { continuation.resume() }
        }
    }

    /// Queues the event and waits for its commit.
    func append(_ event: IncomingEvent) async throws -> AppendReceipt {
        try await withCheckedThrowingContinuation { continuation in
            let refusal: StoreError? = state.withLock { state in
                if state.isClosed { return StoreError(.unavailable, "the writer is shut down") }
                if state.pending.count >= maximumPending { return StoreError(.unavailable, "the write queue is full") }
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
            guard !state.isClosed, state.pending.count < maximumPending else { return false }
            if state.pending.isEmpty { state.oldestPendingSince = ContinuousClock.now }
            state.pending.append(.rejection(rejection))
            return true
        }
        if queued { wakeUp.yield() }
    }

    func run() async throws {
        var identifiers = TimeOrderedIdentifierGenerator()
        var pending = PendingSessionEvents()
        do {
            pending = try await database.read { db in try PendingSessionEvents.unfolded(db: db, zones: zones) }
            state.withLock { $0.unfolded = pending.count }
        } catch {
            logger.error("Could not read the events left unfolded", metadata: ["error": "\(error)"])
        }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                // A tick, so events committed just before traffic stops are folded without waiting for more writes.
                group.addTask { [wakeUp] in
                    while (try? await Task.sleep(for: Self.foldInterval)) != nil { wakeUp.yield() }
                }
                for await _ in wakeUps {
                    await commitPending(identifiers: &identifiers, folding: &pending)
                    await foldIfDue(&pending, force: false)
                    await checkpointIfRequested()
                }
                group.cancelAll()
            }
        } onGracefulShutdown: { [wakeUp] in
            wakeUp.finish()
        }
        state.withLock { $0.isClosed = true }
        await commitPending(identifiers: &identifiers, folding: &pending)
        await foldIfDue(&pending, force: true)
        let waiters = state.withLock { state in
            state.isStopped = true
            defer { state.foldWaiters = [] }
            return state.foldWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func commitPending(identifiers: inout TimeOrderedIdentifierGenerator, folding pending: inout PendingSessionEvents) async {
        while true {
            let batch = state.withLock { state -> [WriteItem] in
                defer {
                    state.pending.removeAll(keepingCapacity: true)
                    state.oldestPendingSince = nil
                }
                return state.pending
            }
            if batch.isEmpty { return }
            await commit(batch, identifiers: &identifiers, folding: &pending)
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

    /// Folds the waiting session events when a read waits for them, there are many, the oldest has waited
    /// `foldInterval`, or the writer is stopping. A failed fold keeps them for the next try.
    private func foldIfDue(_ pending: inout PendingSessionEvents, force: Bool) async {
        let readersWait = state.withLock { !$0.foldWaiters.isEmpty }
        if !pending.isEmpty {
            let due = force || readersWait || pending.count >= Self.foldBatch
                || (pending.oldest.map { ContinuousClock.now - $0 >= Self.foldInterval } ?? false)
            guard due else { return }
            do {
                try await database.write { [pending, zones] db in try pending.fold(db: db, zones: zones) }
                pending = PendingSessionEvents()
            } catch {
                logger.error("Folding sessions failed; will retry", metadata: ["error": "\(error)", "events": "\(pending.count)"])
            }
        }
        let waiters = state.withLock { state in
            state.unfolded = pending.count
            defer { state.foldWaiters = [] }
            return state.foldWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func commit(_ batch: [WriteItem], identifiers: inout TimeOrderedIdentifierGenerator,
                        folding pending: inout PendingSessionEvents) async {
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
        var receiptIndex = 0
        for item in batch {
            guard case .event(_, let continuation) = item else { continue }
            switch outcome {
            case .success(let stored): continuation.resume(returning: stored[receiptIndex].receipt)
            case .failure(let error): continuation.resume(throwing: error)
            }
            receiptIndex += 1
        }
        // After the answers: folding waits for the next batch anyway.
        if case .success(let stored) = outcome { queueForFolding(zip(events.map(\.0), stored), into: &pending) }
    }

    /// One event's outcome: its receipt, and its rowid when it was new.
    private struct StoredWrite {
        var receipt: AppendReceipt
        var rowID: Int64?
    }

    /// Queues the newly stored session events of a committed batch for the next fold.
    private func queueForFolding(_ stored: some Sequence<(IncomingEvent, StoredWrite)>, into pending: inout PendingSessionEvents) {
        for (event, write) in stored {
            guard let rowID = write.rowID else { continue }
            pending.committed(upTo: rowID)
            guard event.summary.kind.isSessionEvent, !(event.summary.orderID ?? "").isEmpty else { continue }
            guard let document = event.document ?? (try? JSONParser.parse(event.body)),
                  let facts = SessionFacts(eventID: write.receipt.eventID, receivedAt: write.receipt.receivedAt,
                                           document: document, timeZone: zones.zone(named: event.timeZone))
            else { continue }
            pending.add(facts, tokenID: event.tokenID, environment: event.environment.rawValue, timeZone: event.timeZone)
        }
        state.withLock { $0.unfolded = pending.count }
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
        if let style = event.tableStyleToLearn {
            try db.execute(sql: "UPDATE tokens SET table_style = ? WHERE id = ? AND table_style IS NULL",
                           arguments: [style, event.tokenID])
        }
        return StoredWrite(receipt: AppendReceipt(eventID: id, receivedAt: receivedAt, duplicate: false, warningsJSON: warningsJSON),
                           rowID: rowID)
    }

    private static func insert(_ rejection: Rejection, db: Database) throws {
        try db.execute(sql: """
            INSERT INTO rejections (token_id, env, at, status, reason, body, request_id) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [rejection.tokenID, rejection.environment?.rawValue, rejection.at.timeIntervalSince1970,
                             rejection.status, rejection.reason, rejection.bodyPrefix, rejection.requestID])
    }
}
