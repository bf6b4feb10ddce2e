import Dispatch
import EmiliaStore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Makes the group commit's transactions durable off the writer connection.
///
/// The writer commits a batch without an fsync (`synchronous=NORMAL`: its frames are in the write-ahead log, in the
/// OS's cache) and hands its answers here. This syncs the log file (`fdatasync`) on a thread of its own, once for
/// every commit that finished before the sync began, and only then runs their completions (the 200s). Meanwhile the
/// writer commits the next batch, so the disk's flush and the next batch's inserts overlap instead of taking turns.
///
/// Durability is the same as a commit with `synchronous=FULL`: a completion runs only after a sync that began after
/// its commit, and the log is synced as a whole. Frames a checkpoint copied into the database file before the sync are
/// safe too: SQLite syncs the log before such a copy and the database file before the log starts over.
final class LogSyncer: Sendable {
    /// The outcome of one sync, handed to every completion it covers.
    typealias Completion = @Sendable (Result<Void, StoreError>) -> Void

    private struct State {
        var waiting: [Completion] = []
        var isSyncing = false
        /// Completions handed over and not yet run.
        var unanswered = 0
        /// Writers waiting for `unanswered` to fall (`waitForRoom`).
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        /// Set by the first failed sync, for good (see `hasFailed`).
        var failure: StoreError?
    }

    /// How many handed-over commits may wait for their sync before `waitForRoom` holds the writer: the one being
    /// synced and the one after it. A stalled disk then stalls the writer, so its queue fills and refuses.
    static let maximumUnanswered = 2

    private let logPath: String
    private let state = Mutex(State())
    /// The open descriptor of the log file, used only on `queue`.
    private let descriptor = Mutex<Int32>(-1)
    private let queue = DispatchQueue(label: "emilia.log-sync", qos: .userInitiated)
    /// Syncs an open file's data: returns 0, or -1 with `errno` set.
    typealias Sync = @Sendable (_ descriptor: Int32) -> Int32

    /// `fdatasync`: the file's data, and the metadata needed to read it back.
    static let fileDataSync: Sync = {
        #if os(Linux)
            fdatasync($0)
        #else
            fsync($0)
        #endif
    }

    /// Runs the sync itself: `fileDataSync` unless a test wraps it.
    private let sync: Sync

    /// - Parameter databasePath: the SQLite file; its log is the file beside it with `-wal` appended.
    init(databasePath: String, sync: @escaping Sync = LogSyncer.fileDataSync) {
        logPath = databasePath + "-wal"
        self.sync = sync
    }

    deinit {
        let file = descriptor.withLock { $0 }
        if file >= 0 { close(file) }
    }

    /// Runs `completion` after a sync of the log that begins after this call.
    func afterNextSync(_ completion: @escaping Completion) {
        let startsSyncing = state.withLock { state in
            state.unanswered += 1
            state.waiting.append(completion)
            defer { state.isSyncing = true }
            return !state.isSyncing
        }
        if startsSyncing { queue.async { self.syncWhileWaiting() } }
    }

    /// True once a sync has failed. Linux marks the pages of a failed `fdatasync` clean, so a later sync that works
    /// proves nothing about them, and one lost frame voids every later commit in the log (their checksums chain).
    /// So a failure is for good: every later completion fails too, until the server restarts and SQLite recovers
    /// the log. No 200 can then follow data that may not be on disk.
    var hasFailed: Bool { state.withLock { $0.failure != nil } }

    /// True while a writer waits in `waitForRoom` (a sync is slow to finish).
    var isHoldingWriter: Bool { state.withLock { !$0.roomWaiters.isEmpty } }

    /// Returns once fewer than `maximumUnanswered` commits wait for their sync.
    func waitForRoom() async {
        await withCheckedContinuation { continuation in
            let hasRoom = state.withLock { state in
                if state.unanswered < Self.maximumUnanswered { return true }
                state.roomWaiters.append(continuation)
                return false
            }
            if hasRoom { continuation.resume() }
        }
    }

    /// Waits until every completion handed over so far has run.
    func drain() async {
        await withCheckedContinuation { continuation in afterNextSync { _ in continuation.resume() } }
    }

    private func syncWhileWaiting() {
        while true {
            let covered = state.withLock { state in
                defer { state.waiting.removeAll(keepingCapacity: true) }
                if state.waiting.isEmpty { state.isSyncing = false }
                return state.waiting
            }
            if covered.isEmpty { return }
            let outcome = syncOrStayFailed()
            for completion in covered { completion(outcome) }
            let writers = state.withLock { state in
                state.unanswered -= covered.count
                defer { state.roomWaiters.removeAll() }
                return state.roomWaiters
            }
            for writer in writers { writer.resume() }
        }
    }

    private func syncOrStayFailed() -> Result<Void, StoreError> {
        if let failure = state.withLock({ $0.failure }) { return .failure(failure) }
        let (outcome, syncRan) = syncLog()
        // Only a sync that ran and failed can have lost pages; a log that could not be opened (say, out of
        // descriptors under a flood of connections) refuses this batch and is tried again for the next.
        if case .failure(let error) = outcome, syncRan {
            state.withLock { $0.failure = StoreError(.unavailable, "\(error.message); writes stay refused until a restart") }
        }
        return outcome
    }

    /// Syncs the log through a descriptor of its own, opened again when the file was replaced (a log deleted by
    /// the last connection's close and created anew). SQLite holds no POSIX lock on the log (its locks are on the
    /// `-shm` file), so closing this descriptor drops none of them.
    private func syncLog() -> (outcome: Result<Void, StoreError>, syncRan: Bool) {
        descriptor.withLock { file in
            if file >= 0, !Self.isSameFile(file, logPath) {
                close(file)
                file = -1
            }
            if file < 0 { file = open(logPath, O_RDONLY | O_CLOEXEC) }
            guard file >= 0 else {
                return (.failure(StoreError(.unavailable, "the write-ahead log could not be opened (errno \(errno))")), false)
            }
            guard sync(file) == 0 else {
                return (.failure(StoreError(.unavailable, "the write-ahead log could not be synced (errno \(errno))")), true)
            }
            return (.success(()), true)
        }
    }

    private static func isSameFile(_ descriptor: Int32, _ path: String) -> Bool {
        var opened = stat()
        var named = stat()
        guard fstat(descriptor, &opened) == 0, stat(path, &named) == 0 else { return false }
        return opened.st_ino == named.st_ino && opened.st_dev == named.st_dev
    }
}
