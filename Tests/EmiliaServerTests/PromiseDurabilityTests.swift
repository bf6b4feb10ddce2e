import EmiliaModel
import EmiliaServer
import EmiliaStore
import Foundation
import GRDB
import Logging
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing

@testable import EmiliaClient
@testable import EmiliaSQLite

/// Promises: "200 only after an fsync'd commit" (contract §1 durability) and "never a 200 for data that is not
/// stored", including when the write queue is full (decisions "Rejection records"; GroupCommitWriter.append).
@Suite("Promise: durability")
struct PromiseDurabilityTests {
    /// `synchronous=FULL` on the writer connection: every write but the group commit's and the fold's (tokens,
    /// retention) syncs in its own commit. Catches the pragma being lowered to NORMAL or OFF in SQLiteEventStore.init
    /// (a token change could then be lost by a power cut after its 201).
    @Test(.timeLimit(.minutes(2)))
    func theStoresWriterConnectionSyncsFully() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteEventStore(directory: directory, logger: Logger(label: "test"))
        let (synchronous, journal) = try await store.database.write { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous"), try String.fetchOne(db, sql: "PRAGMA journal_mode"))
        }
        #expect(synchronous == 2, "PRAGMA synchronous on the writer is \(String(describing: synchronous)), not FULL (2)")
        #expect(journal?.lowercased() == "wal")
    }

    /// The group commit writes its transaction without an fsync and hands its answers to the log syncer: no append
    /// may return before a sync of the write-ahead log that began after its commit. The sync is held here (a wrapped
    /// `fdatasync`) while the event is already committed and readable. Catches answering after the commit instead of
    /// after the sync, and syncing some file other than the store's log.
    @Test(.timeLimit(.minutes(2)))
    func anAppendReturnsOnlyAfterTheLogIsSynced() async throws {
        let gate = SyncGate()
        try await withSyncWatchedStore(gate: gate) { store, directory in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            let appended = Mutex(false)
            async let receipt = {
                defer { appended.withLock { $0 = true } }
                return try await store.append(incomingEvent(SampleCheck.events(order: "F-1")[0], token: token, store: store))
            }()
            defer { gate.open() }  // before the append is awaited on the way out, should a check below throw
            try await waitUntil { gate.waiting > 0 }
            let committed = try await DatabaseQueue(path: directory.appendingPathComponent(SQLiteEventStore.fileName).path)
                .read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") }
            #expect(committed == 1, "the sync began before the event was committed")
            #expect(appended.withLock { $0 } == false, "the append returned while the log's sync was still running")
            gate.open()
            #expect(try await receipt.isDuplicate == false)
            let log = try FileManager.default.attributesOfItem(
                atPath: directory.appendingPathComponent(SQLiteEventStore.fileName + "-wal").path)
            #expect(gate.syncedFiles.contains(log[.systemFileNumber] as? UInt64 ?? 0), "the syncer synced some other file")
        }
    }

    /// A log that cannot be synced must not turn into 200s, then or later: Linux marks a failed `fdatasync`'s pages
    /// clean, so a later sync that works proves nothing. The commit's events are refused as unavailable, so is the
    /// retry (a duplicate of a row that may not be on disk) and every later write, and health says so. Catches a
    /// failed sync being ignored, or forgotten by the next one.
    @Test(.timeLimit(.minutes(2)))
    func aFailedSyncRefusesTheCommitsItCovered() async throws {
        let gate = SyncGate(failures: 1)
        gate.open()
        try await withSyncWatchedStore(gate: gate) { store, _ in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            let event = try incomingEvent(SampleCheck.events(order: "F-1")[0], token: token, store: store, key: "k-1")
            await #expect(throws: StoreError.self) { try await store.append(event) }
            await #expect(throws: StoreError.self, "the retry was answered after a failed sync") {
                try await store.append(event)
            }
            let later = try incomingEvent(SampleCheck.events(order: "F-2")[0], token: token, store: store)
            await #expect(throws: StoreError.self, "a later write was answered after a failed sync") {
                try await store.append(later)
            }
            await #expect(throws: StoreError.self, "health reported storage up after a failed sync") {
                try await store.checkHealth()
            }
        }
    }

    /// A stalled disk must not let the writer run on: while one sync hangs, it commits at most the batch after the
    /// one being synced, so its queue fills and refuses (503) instead of growing committed-but-unanswered work
    /// without bound. Catches the writer committing batches without waiting for room (`LogSyncer.waitForRoom`).
    @Test(.timeLimit(.minutes(2)))
    func aStalledSyncHoldsTheWriterSoItsQueueFillsAndRefuses() async throws {
        let gate = SyncGate()
        try await withSyncWatchedStore(gate: gate) { store, directory in
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            let log = try DatabaseQueue(path: directory.appendingPathComponent(SQLiteEventStore.fileName).path)
            let committed = { try await log.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0 } }
            let queueRoom = 100  // `maximumPendingWrites` in withSyncWatchedStore
            let events = try (0..<(2 + queueRoom + 50)).map {
                try incomingEvent(SampleCheck.events(order: "F-\($0)")[0], token: token, store: store)
            }
            let outcomes = Outcomes()
            let append: @Sendable (IncomingEvent) async -> Void = { outcomes.add((try? await store.append($0)) != nil) }
            try await withThrowingTaskGroup(of: Void.self) { posts in
                defer { gate.open() }  // before the group awaits its appends, should a check below throw
                // The first batch's sync hangs; the second batch commits behind it; then the writer must stop.
                posts.addTask { await append(events[0]) }
                try await waitUntil { gate.waiting > 0 }
                posts.addTask { await append(events[1]) }
                try await waitUntil { store.writer.isHeldBySync }
                #expect(try await committed() == 2)
                for event in events[2...] { posts.addTask { await append(event) } }
                try await waitUntil { outcomes.all.count == 50 }
                #expect(outcomes.all.allSatisfy { !$0 }, "an append returned while the log's sync hung")
                #expect(try await committed() == 2, "the writer committed on while the log's sync hung")
                gate.open()
                try await posts.waitForAll()
            }
            let stored = outcomes.all.filter { $0 }.count
            #expect(stored == 2 + queueRoom)
            #expect(try await committed() == stored, "every 200 is stored, nothing refused is")
        }
    }

    /// A log that could not be opened was never synced, so nothing was lost: that batch is refused and the next one
    /// tries again. Latching it like a failed sync would let a flood that runs the process out of descriptors stop
    /// writes until a restart. Catches an open failure being kept as the syncer's failure.
    @Test(.timeLimit(.minutes(2)))
    func aLogThatCouldNotBeOpenedRefusesOnlyItsBatch() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("absent.sqlite3").path
        let syncer = LogSyncer(databasePath: database)
        let first = await withCheckedContinuation { done in syncer.afterNextSync { done.resume(returning: $0) } }
        #expect(throws: StoreError.self, "a log that does not exist was reported synced") { try first.get() }
        #expect(!syncer.hasFailed, "a log that could not be opened refused writes for good")
        #expect(FileManager.default.createFile(atPath: database + "-wal", contents: Data("frames".utf8)))
        let second = await withCheckedContinuation { done in syncer.afterNextSync { done.resume(returning: $0) } }
        #expect(throws: Never.self) { try second.get() }
    }

    /// The client's outbox: `enqueue` returns once the message is on disk. Catches the outbox's
    /// `PRAGMA synchronous = FULL` (Outbox.init) being lowered.
    @Test(.timeLimit(.minutes(2)))
    func theOutboxSyncsFully() throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let outbox = try Outbox(path: directory.appendingPathComponent("outbox.sqlite3"))
        let synchronous = try outbox.database.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 2, "PRAGMA synchronous on the outbox is \(String(describing: synchronous)), not FULL (2)")
    }

    /// A full write queue answers 503 + Retry-After, never 200; every 200 is stored. Catches: the queue-full branch
    /// of GroupCommitWriter.append answering success (or dropping the event after a 200), a failed commit
    /// resuming its waiters with receipts, and 503s without Retry-After.
    @Test(.timeLimit(.minutes(2)))
    func aFullWriteQueueAnswers503AndEvery200IsStored() async throws {
        let logs = LogLines()
        let logger = Logger(label: "test", factory: { _ in RecordingLogHandler(lines: logs) })
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await TestServer.with(
            configure: {
                $0.maximumPendingWrites = 1
                $0.storageBusyTimeout = .milliseconds(500)
            }, logger: logger, dataDirectory: directory
        ) { server in
            let (_, token) = try await server.createToken()
            let path = directory.appendingPathComponent(SQLiteEventStore.fileName).path
            // Another connection holds the write lock: nothing can commit until it rolls back.
            var blockerConfiguration = Configuration()
            blockerConfiguration.allowsUnsafeTransactions = true
            let blocker = try DatabaseQueue(path: path, configuration: blockerConfiguration)
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }

            func post(_ index: Int) async throws -> HTTPAnswer {
                try await server.post(token: token, body: Data(#"{"event":"test","n":\#(index)}"#.utf8))
            }
            // While the lock is held: one write is committing, one waits, the rest find the queue full. All 503.
            let held = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for index in 0..<16 { group.addTask { try await post(index) } }
                return try await group.reduce(into: [HTTPAnswer]()) { $0.append($1) }
            }
            for answer in held {
                #expect(answer.status == 503, "answered \(answer.status) while nothing could commit: \(answer.text)")
                #expect(answer.headers["Retry-After"].first != nil)
            }
            #expect(
                logs.all.contains { $0.contains("the write queue is full") },
                "no post met a full queue, so this test did not exercise it")

            // Lock released while posts are in flight: each answer is 503 or 200, and nothing else.
            var answers = held
            answers += try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for index in 16..<32 { group.addTask { try await post(index) } }
                var collected: [HTTPAnswer] = []
                for try await answer in group {
                    if collected.isEmpty {
                        #expect(answer.status == 503, "answered \(answer.status) before the lock was released")
                        try await blocker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
                    }
                    collected.append(answer)
                }
                return collected
            }
            // Writes work again.
            for index in 32..<36 { answers.append(try await post(index)) }

            var stored: Set<String> = []
            for answer in answers {
                #expect(answer.status == 200 || answer.status == 503, "unexpected \(answer.status): \(answer.text)")
                if answer.status == 503 { #expect(answer.headers["Retry-After"].first != nil) }
                guard answer.status == 200 else { continue }
                let id = try #require(try answer.json()["event_id"] as? String)
                #expect(
                    try await server.request(.GET, "/api/v1/events/\(id)", admin: true).status == 200,
                    "event \(id) was answered 200 but is not stored")
                stored.insert(id)
            }
            #expect(stored.count >= 4)
            // Nothing answered 503 was stored either: the log holds exactly the 200s.
            let count = try await DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") }
            #expect(count == stored.count)
        }
    }
}

/// Wraps the store's `fdatasync` of its log: holds syncs until opened, can fail the first ones, and records which
/// files (inode numbers) it synced.
private final class SyncGate: Sendable {
    private struct State {
        var isOpen = false
        var waiting = 0
        var calls = 0
        var failuresLeft: Int
        var files: Set<UInt64> = []
    }

    private let state: Mutex<State>
    private let opened = DispatchSemaphore(value: 0)

    init(failures: Int = 0) { state = Mutex(State(failuresLeft: failures)) }

    var waiting: Int { state.withLock { $0.waiting } }
    var calls: Int { state.withLock { $0.calls } }
    var syncedFiles: Set<UInt64> { state.withLock { $0.files } }

    func open() {
        state.withLock { $0.isOpen = true }
        opened.signal()
    }

    /// Runs on the syncer's thread: blocks until `open()`, then fails or calls `fdatasync`.
    func sync(_ descriptor: Int32) -> Int32 {
        var file = stat()
        let mustWait = state.withLock { state in
            state.calls += 1
            if fstat(descriptor, &file) == 0 { state.files.insert(UInt64(file.st_ino)) }
            if !state.isOpen { state.waiting += 1 }
            return !state.isOpen
        }
        if mustWait {
            opened.wait()
            opened.signal()
        }
        let fails = state.withLock { state in
            defer { state.failuresLeft = max(0, state.failuresLeft - 1) }
            return state.failuresLeft > 0
        }
        if fails {
            errno = EIO
            return -1
        }
        return fdatasync(descriptor)
    }
}

/// Whether each of a test's appends was stored, in the order they returned.
private final class Outcomes: Sendable {
    private let list = Mutex<[Bool]>([])
    var all: [Bool] { list.withLock { $0 } }
    func add(_ stored: Bool) { list.withLock { $0.append(stored) } }
}

/// A SQLite store whose log syncs go through `gate`, with its services running for `body`.
private func withSyncWatchedStore(
    gate: SyncGate, _ body: @Sendable (SQLiteEventStore, URL) async throws -> Void
) async throws {
    let directory = TemporaryDirectory.make()
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try SQLiteEventStore(
        directory: directory, logger: Logger(label: "test"), tokenCacheLifetime: .seconds(1), busyTimeout: .seconds(10),
        separateCheckpoints: true, logRestartFrames: 4096, maximumPendingWrites: 100, minimumFreeBytes: 0, now: { Date() },
        monitor: StoreMonitor(), syncLog: { gate.sync($0) })
    let group = ServiceGroup(services: store.services, logger: Logger(label: "test"))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await body(store, directory)
        } catch {
            gate.open()
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}
