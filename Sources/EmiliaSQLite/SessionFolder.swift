import EmiliaModel
import EmiliaStore
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Folds committed session events into `sessions`, off the commit path, in bounded chunks.
///
/// It reads the log past `projection_cursor` (at most `chunkEvents` events or about `chunkBytes` of bodies at a
/// time), parses and folds them outside any lock, then writes the touched sessions and the cursor in one short
/// transaction, so a commit never waits long behind a fold, however large an event. At start it folds whatever a
/// crash left past the cursor. An order whose write fails on its own (not the disk, the whole store) is skipped: its
/// events stay in the log, listed in `fold_failures` with the reason, and the cursor moves on. When the store itself
/// fails, the chunk is retried with backoff.
final class SessionFolder: Service, CustomStringConvertible {
    /// How long committed events wait to be folded while writes keep coming (unless a read asks for them).
    static let foldInterval: Duration = .milliseconds(25)
    /// How long a read waits for the fold before it answers from what is folded.
    static let readWaitLimit: Duration = .seconds(2)

    private struct State {
        /// The newest rowid known committed, and the newest folded (the cursor).
        var committed: Int64 = 0
        var folded: Int64 = 0
        var isStopped = false
    }

    let chunkEvents: Int
    let chunkBytes: Int
    private let database: DatabasePool
    private let zones = TimeZoneCache()
    /// Session facts the writer read at ingest, so most events need no second parse.
    private let handoff: FoldHandoff
    private let logger: Logger
    private let monitor: StoreMonitor
    private let state = Mutex(State())
    /// Reads waiting for the fold to reach the rowid committed when they asked.
    private let readers = ProgressWaiters()
    private let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    var description: String { "SessionFolder" }

    init(
        database: DatabasePool, handoff: FoldHandoff, logger: Logger, monitor: StoreMonitor,
        chunkEvents: Int = 256, chunkBytes: Int = 4 * 1024 * 1024
    ) {
        self.database = database
        self.handoff = handoff
        self.logger = logger
        self.monitor = monitor
        self.chunkEvents = chunkEvents
        self.chunkBytes = chunkBytes
        (wakeUps, wakeUp) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The writer committed events up to this rowid.
    func committed(upTo rowID: Int64) {
        state.withLock { $0.committed = max($0.committed, rowID) }
        wakeUp.yield()
    }

    /// Returns once every event committed so far is folded, or after `readWaitLimit` (then reads answer from what is
    /// folded: a failing fold must not hang them).
    func waitUntilFolded(timeout: Duration = SessionFolder.readWaitLimit) async {
        let target = state.withLock { state -> Int64? in
            state.isStopped || state.folded >= state.committed ? nil : state.committed
        }
        guard let target else { return }
        wakeUp.yield()
        await readers.wait(for: target, timeout: timeout) {
            state.withLock { $0.isStopped || $0.folded >= target }
        }
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await recover()
            for await _ in wakeUps {
                if readers.isEmpty { try? await Task.sleep(for: Self.foldInterval) }
                await foldCommitted(stopping: false)
            }
        } onGracefulShutdown: { [wakeUp] in
            wakeUp.finish()
        }
        // The writer has stopped by now (services stop in reverse order): fold its last commits.
        await foldCommitted(stopping: true)
        state.withLock { $0.isStopped = true }
        readers.resumeAll()
    }

    /// Reads the cursor and the log's end, retrying until the store answers (the server serves meanwhile).
    private func recover() async {
        var backoff = FailureBackoff(maximum: .seconds(1))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let (cursor, newest) = try await database.read { db in
                    (
                        try Int64.fetchOne(db, sql: "SELECT last_rowid FROM projection_cursor") ?? 0,
                        try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM events") ?? 0
                    )
                }
                state.withLock { state in
                    // A log emptied by retention restarts its rowids: then everything in it is past the cursor.
                    state.folded = newest < cursor ? 0 : cursor
                    state.committed = max(state.committed, newest)
                }
                return
            } catch {
                let wait = backoff.record(
                    error, service: "folder", monitor: monitor, logger: logger, "Could not read the fold cursor; will retry")
                try? await Task.sleep(for: wait)
            }
        }
    }

    /// Folds chunks until everything committed when the pass began is folded; a failing store is retried with backoff
    /// (a few times when stopping, so shutdown ends: what is left is folded at the next start). Commits made during the
    /// pass wait for the next one: chasing them would fold a few events per transaction, each taking the writer from
    /// the group commit.
    private func foldCommitted(stopping: Bool) async {
        var backoff = FailureBackoff()
        let target = state.withLock { $0.committed }
        while true {
            let (folded, committed) = state.withLock { ($0.folded, $0.committed) }
            guard folded < target else { return }
            // A shutdown does not wait out a failing store here: the last pass (or the next start) folds the rest.
            if !stopping && Task.isShuttingDownGracefully { return }
            do {
                let (end, hadEvents) = try await foldChunk(after: folded)
                let nowFolded = state.withLock { state in
                    // Nothing new past the cursor: caught up with what the writer said it committed.
                    state.folded = end > folded || hadEvents ? end : max(state.folded, committed)
                    return state.folded
                }
                if backoff.succeeded() { logger.notice("Folding sessions works again") }
                readers.resume(upTo: nowFolded)
            } catch {
                // Cancelled (the service group is going away): what is left is folded at the next start.
                if error is CancellationError || Task.isCancelled { return }
                let wait = backoff.record(error, service: "folder", monitor: monitor, logger: logger, "Folding sessions failed; will retry")
                if stopping && backoff.failures >= 3 { return }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            }
        }
    }

    /// One chunk: read outside the lock, fold in memory, write sessions and the cursor in one short transaction.
    /// Returns the rowid the cursor moved to, and whether the chunk held session events.
    private func foldChunk(after cursor: Int64) async throws -> (end: Int64, hadEvents: Bool) {
        let chunk = try await database.read { [chunkEvents, chunkBytes] db in
            try FoldChunk.read(db, after: cursor, events: chunkEvents, bytes: chunkBytes)
        }
        var orders: [SessionKey: [(rowID: Int64, facts: SessionFacts)]] = [:]
        for row in chunk.rows {
            guard
                let facts = handoff.facts(
                    eventID: row.eventID, receivedAt: row.receivedAt, body: row.body, timeZone: row.key.timeZone, zones: zones)
            else { continue }
            orders[row.key, default: []].append((row.rowID, facts))
        }
        let stored = try await database.read { [orders] db in
            try orders.keys.map { key in (key, try SessionProjection.StoredSession.fetch(db, key)) }
        }
        var folded: [(key: SessionKey, read: SessionProjection.StoredSession?, unreadable: Bool, columns: SessionState.Columns)] = []
        for (key, read) in stored {
            guard let events = orders[key] else { continue }
            let base = read?.accumulator
            var accumulator = base ?? SessionAccumulator(orderID: key.orderID)
            for event in events { accumulator.add(event.facts) }
            let columns = SessionState.Columns(accumulator, timeZone: zones.zone(named: key.timeZone))
            folded.append((key, read, read != nil && base == nil, columns))
        }
        let failures = try await database.writeUnsynced { [zones, orders, folded] db in
            var failures = 0
            for (key, read, unreadable, columns) in folded {
                let events = orders[key] ?? []
                do {
                    try db.inSavepoint {
                        try SessionProjection.write(
                            columns, over: read, readIsUnreadable: unreadable, events: events.map(\.facts),
                            key: key, timeZone: zones.zone(named: key.timeZone), db: db)
                        return .commit
                    }
                } catch let error as DatabaseError where !error.isStoreFault {
                    try SessionProjection.recordFailure(
                        of: events.map { ($0.facts.eventID, $0.facts.occurredAt) }, key: key,
                        reason: error.message ?? "\(error)", db: db)
                    failures += events.count
                }
            }
            try db.execute(sql: "UPDATE projection_cursor SET last_rowid = ?", arguments: [chunk.end])
            return failures
        }
        if failures > 0 {
            monitor.foldFailures(failures)
            logger.error("Events could not be folded into their session; kept with the reason", metadata: ["events": "\(failures)"])
        }
        return (chunk.end, !chunk.rows.isEmpty)
    }
}

/// A bounded run of the log past the cursor: its session events, and how far it reaches.
struct FoldChunk {
    struct Row {
        var rowID: Int64
        var eventID: String
        var receivedAt: Date
        var key: SessionKey
        var body: Data
    }

    var rows: [Row] = []
    /// The rowid the cursor moves to once these are folded.
    var end: Int64 = 0

    static func read(_ db: Database, after cursor: Int64, events: Int, bytes: Int) throws -> FoldChunk {
        var chunk = FoldChunk()
        let newest = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM events") ?? 0
        let from = newest < cursor ? 0 : cursor
        let cursorRows = try GRDB.Row.fetchCursor(
            db,
            sql: """
                SELECT e.rowid, e.id, e.received_at, e.token_id, e.env, e.order_id, e.body, t.time_zone FROM events e
                JOIN tokens t ON t.id = e.token_id
                WHERE e.rowid > ? AND e.is_test = 0 AND e.order_id IS NOT NULL ORDER BY e.rowid LIMIT ?
                """, arguments: [from, events])
        var total = 0
        while let row = try cursorRows.next() {
            let body: Data = row["body"]
            chunk.rows.append(
                Row(
                    rowID: row["rowid"], eventID: row["id"], receivedAt: Date(timeIntervalSince1970: row["received_at"]),
                    key: SessionKey(
                        tokenID: row["token_id"], environment: row["env"], orderID: row["order_id"],
                        timeZone: row["time_zone"]),
                    body: body))
            total += body.count
            if total >= bytes { break }
        }
        // A full chunk ends at its last event; a short one covers the whole log as this snapshot sees it.
        let isFull = chunk.rows.count >= events || total >= bytes
        chunk.end = isFull ? chunk.rows.last?.rowID ?? newest : max(newest, from)
        return chunk
    }
}

extension DatabaseError {
    /// True when the store itself failed (disk full, I/O, locks, memory): retry the whole chunk later rather than
    /// blaming the events being written.
    var isStoreFault: Bool {
        switch resultCode {
        case .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_NOMEM, .SQLITE_CANTOPEN, .SQLITE_READONLY,
            .SQLITE_INTERRUPT, .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_PROTOCOL, .SQLITE_ABORT:
            return true
        default:
            return false
        }
    }
}
