import EmiliaModel
import EmiliaStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// One node's group-commit writer: everything queued goes into one multi-row insert (`ON CONFLICT DO NOTHING` on the
/// dedup index), a transaction of its own, and every append of the batch is answered after its commit.
///
/// The statement first takes the positions lock (transaction-scoped), so log positions rise in commit order across
/// every node: a reader that saw position N has seen every event below it (docs/decisions.md). One statement is one
/// round trip to the database: the lock is held for as short a time as the commit allows.
final class PostgresCommitWriter: Service, CustomStringConvertible {
    /// Rows per INSERT statement when copying a log in (PostgreSQL takes at most 65,535 parameters in one).
    static let rowsPerStatement = 1_000
    /// Events per commit, all in one statement: a backlog commits in steps, each well within the call deadline.
    static let eventsPerCommit = 3_000
    /// Body bytes per commit: the bodies travel as one `bytea[]` parameter, which PostgreSQL caps at 1 GB.
    static let bytesPerCommit = 256 * 1024 * 1024

    private let client: PostgresClient
    private let logger: Logger
    private let callTimeout: Duration
    private let now: @Sendable () -> Date
    private let observer: CommitObserver
    private let onTokenChanged: @Sendable () -> Void
    /// Told after a commit that stored events (the local stream waits on it; other nodes hear the NOTIFY).
    private let onAppended: @Sendable () -> Void
    private let queue: WriteQueue
    /// Where the session facts of new events go for this node's folder.
    private let handoff: FoldHandoff
    /// True while a commit runs, also one abandoned at its deadline: the next waits for it rather than queue behind
    /// it on the positions lock, up to `abandonedCommitLimit`.
    private let commitRunning = Atomic(false)
    /// When the running commit started (the writer's own state: only `run` reads and writes it).
    private let commitStarted = Mutex<ContinuousClock.Instant?>(nil)
    /// How long an abandoned commit may hold up the next ones. A call on a connection that died mid-flight can
    /// wait without end in the driver; the server ends an idle transaction (and frees its locks) after 30 s anyway.
    static let abandonedCommitLimit: Duration = .seconds(10)

    var description: String { "PostgresCommitWriter" }

    init(
        client: PostgresClient, logger: Logger, maximumPending: Int, callTimeout: Duration, now: @escaping @Sendable () -> Date,
        observer: @escaping CommitObserver, handoff: FoldHandoff, onTokenChanged: @escaping @Sendable () -> Void,
        onAppended: @escaping @Sendable () -> Void
    ) {
        self.handoff = handoff
        self.onAppended = onAppended
        self.client = client
        self.logger = logger
        self.callTimeout = callTimeout
        self.now = now
        self.observer = observer
        self.onTokenChanged = onTokenChanged
        queue = WriteQueue(maximumPending: maximumPending)
    }

    var backlog: (count: Int, oldestAge: Duration?) { queue.backlog }
    var lastCommitFailed: Bool { queue.lastCommitFailed }
    func markHealthy() { queue.lastCommitFailed = false }
    func append(_ event: IncomingEvent) async throws -> AppendReceipt { try await queue.append(event) }
    func record(_ rejection: Rejection) { queue.record(rejection) }

    func run() async throws {
        await queue.serve { identifiers in await commitPending(identifiers: &identifiers) }
    }

    private func commitPending(identifiers: inout TimeOrderedIdentifierGenerator) async {
        while true {
            let items = queue.take(maximumEvents: Self.eventsPerCommit, maximumBytes: Self.bytesPerCommit)
            if items.isEmpty { return }
            let batch = WriteBatch(items)
            if commitRunning.load(ordering: .acquiring),
                let started = commitStarted.withLock({ $0 }), ContinuousClock.now - started < Self.abandonedCommitLimit
            {
                // An abandoned commit still runs (it may yet commit): refuse rather than pile transactions up.
                queue.lastCommitFailed = true
                batch.answer(.failure(StoreError(.unavailable, "the previous commit has not ended")))
                continue
            }
            commitRunning.store(true, ordering: .releasing)
            commitStarted.withLock { $0 = ContinuousClock.now }
            let receivedAt = now()
            let ids = batch.events.map { _ in identifiers.next(now: receivedAt).lowercaseText }
            // Before the commit, so this node's folder finds them however soon it reads the new rows.
            handoff.handOver(zip(ids, batch.events))
            let started = ContinuousClock.now
            do {
                let (receipts, learned) = try await PostgresFailure.withDeadline(callTimeout) { [client, logger] in
                    defer { self.commitRunning.store(false, ordering: .releasing) }
                    return try await client.withConnection { connection in
                        try await PostgresFailure.closingOnFailure(connection) {
                            try await Self.commit(batch, ids: ids, receivedAt: receivedAt, connection: connection, logger: logger)
                        }
                    }
                }
                queue.lastCommitFailed = false
                observer(items.count, ContinuousClock.now - started)
                if learned { onTokenChanged() }
                if receipts.contains(where: { !$0.isDuplicate }) { onAppended() }
                batch.answer(.success(receipts))
            } catch {
                // Timed out or failed: the transaction may still commit, so the caller gets 503 and retries; its
                // dedup key then finds the stored copy.
                logger.error("Commit failed", metadata: ["error": "\(PostgresFailure.storeError(error))", "batch": "\(items.count)"])
                queue.lastCommitFailed = true
                batch.answer(.failure(StoreError(.unavailable, "the commit failed")))
            }
        }
    }

    /// The batch's statements: the events' insert commits on its own; then the stored copies of duplicates are read,
    /// table styles learned and rejections recorded. When one of those fails the whole batch answers 503: its events
    /// may be stored, and a retry then finds them by their dedup keys. Answers the receipts in the order of
    /// `batch.events`, and whether a token learned its table style.
    private static func commit(
        _ batch: WriteBatch, ids: [String], receivedAt: Date, connection: PostgresConnection,
        logger: Logger
    ) async throws -> ([AppendReceipt], Bool) {
        var receipts: [AppendReceipt] = []
        var learned = false
        if !batch.events.isEmpty {
            // Warning messages quote payload text; jsonb (data quality reads them as jsonb) refuses `\u0000`.
            let warnings = batch.events.map { event in
                JSONText.warnings(
                    event.warnings.map { ValidationWarning(code: $0.code, field: $0.field.postgresSafe, message: $0.message.postgresSafe) })
            }
            let statement = PostgresCommitInsert(
                lock: PostgresSchema.Lock.positions, channel: PostgresLogListener.channel,
                rows: batch.events.indices.map { index in
                    LogRecords.Event(batch.events[index], id: ids[index], receivedAt: receivedAt, warnings: warnings[index])
                })
            let rows = try await connection.execute(statement, logger: logger)
            var inserted: Set<String> = []
            for try await id in rows { inserted.insert(id) }
            // The rows arrive before PostgreSQL has committed (an autocommit statement commits when its exchange
            // ends, and a commit that fails sends its error after them): the next statement on this connection is
            // answered only after the commit, so its answer is what confirms it. Reading the duplicates' originals is
            // that statement; with none, `SELECT 1` is.
            let originals = try await originalsOfDuplicates(
                batch.events, ids: ids, inserted: inserted, connection: connection, logger: logger)
            if inserted.count == batch.events.count {
                for try await _ in try await connection.query("SELECT 1", logger: logger) {}
            }
            for (index, event) in batch.events.enumerated() {
                if inserted.contains(ids[index]) {
                    receipts.append(
                        AppendReceipt(eventID: ids[index], receivedAt: receivedAt, isDuplicate: false, warningsJSON: warnings[index]))
                } else if let original = originals[DedupKey(event)] {
                    receipts.append(original)
                } else {
                    throw StoreError(.unavailable, "dedup conflict without a row")
                }
            }
            learned = try await learnTableStyles(batch.events, connection: connection, logger: logger)
        }
        if !batch.rejections.isEmpty {
            try await connection.query(try insertRejections(batch.rejections), logger: logger)
        }
        return (receipts, learned)
    }

    private struct DedupKey: Hashable {
        var tokenID: String
        var environment: String
        var key: String

        init(_ event: IncomingEvent) {
            self.init(
                tokenID: event.tokenID.postgresSafe, environment: event.environment.rawValue, key: event.deduplicationKey.postgresSafe)
        }

        init(tokenID: String, environment: String, key: String) {
            self.tokenID = tokenID
            self.environment = environment
            self.key = key
        }
    }

    /// The stored copies of the events that were not inserted (their dedup key was taken, by this batch, an earlier
    /// one, or another node).
    private static func originalsOfDuplicates(
        _ events: [IncomingEvent], ids: [String], inserted: Set<String>,
        connection: PostgresConnection, logger: Logger
    ) async throws -> [DedupKey: AppendReceipt] {
        let missing = events.indices.filter { !inserted.contains(ids[$0]) }.map { DedupKey(events[$0]) }
        guard !missing.isEmpty else { return [:] }
        let rows = try await connection.query(
            """
            SELECT e.token_id, e.env, e.dedup_key, e.id, e.received_at, e.warnings FROM events e
            JOIN unnest(\(missing.map(\.tokenID)), \(missing.map(\.environment)), \(missing.map(\.key))) AS k(token_id, env, dedup_key)
              ON e.token_id = k.token_id AND e.env = k.env AND e.dedup_key = k.dedup_key
            """, logger: logger)
        var originals: [DedupKey: AppendReceipt] = [:]
        for try await (tokenID, env, key, id, receivedAt, warnings) in rows.decode((String, String, String, String, Double, String).self) {
            originals[DedupKey(tokenID: tokenID, environment: env, key: key)] =
                AppendReceipt(eventID: id, receivedAt: Date(timeIntervalSince1970: receivedAt), isDuplicate: true, warningsJSON: warnings)
        }
        return originals
    }

    /// Records the table style of tokens that have none yet; true when one changed.
    private static func learnTableStyles(_ events: [IncomingEvent], connection: PostgresConnection, logger: Logger) async throws -> Bool {
        var styles: [String: String] = [:]
        for event in events {
            if let style = event.tableStyleToLearn, styles[event.tokenID] == nil { styles[event.tokenID] = style.postgresSafe }
        }
        var learned = false
        for (tokenID, style) in styles.sorted(by: { $0.key < $1.key }) {
            let rows = try await connection.query(
                "UPDATE tokens SET table_style = \(style) WHERE id = \(tokenID.postgresSafe) AND table_style IS NULL RETURNING id",
                logger: logger)
            for try await _ in rows { learned = true }
        }
        return learned
    }

    private static func insertRejections(_ rejections: [Rejection]) throws -> PostgresQuery {
        var sql = "INSERT INTO rejections (token_id, env, at, status, reason, body, request_id, count) VALUES"
        var bindings = PostgresBindings(capacity: rejections.count * 8)
        for (offset, rejection) in rejections.enumerated() {
            let base = offset * 8
            sql += (offset == 0 ? " (" : ", (") + (1...8).map { "$\(base + $0)" }.joined(separator: ",") + ")"
            bindings.append(rejection.tokenID.postgresSafe)
            bindings.append(rejection.environment?.rawValue)
            bindings.append(rejection.at.timeIntervalSince1970)
            bindings.append(rejection.status)
            bindings.append(rejection.reason.postgresSafe)
            try bindings.append(rejection.bodyPrefix)
            bindings.append(rejection.requestID?.postgresSafe)
            bindings.append(rejection.count)
        }
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }
}
