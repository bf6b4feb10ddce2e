import EmiliaModel
import EmiliaServer
import EmiliaStore
import Foundation
import GRDB
import Logging
import NIOHTTP1
import Synchronization
import Testing

@testable import EmiliaClient
@testable import EmiliaSQLite

/// Promises: "200 only after an fsync'd commit" (contract §1 durability) and "never a 200 for data that is not
/// stored", including when the write queue is full (decisions "Rejection records"; GroupCommitWriter.append).
@Suite("Promise: durability")
struct PromiseDurabilityTests {
    /// `synchronous=FULL` on the connection the group-commit writer commits through. Catches the pragma being
    /// lowered to NORMAL or OFF in SQLiteEventStore.init (a commit could then be lost by a power cut after its 200).
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

    /// The session fold commits without an fsync (it is rebuilt from the log), on the same connection as the events:
    /// after a fold, the connection must be back at FULL, and an event committed then must sync. Catches
    /// `writeUnsynced` leaving the connection at NORMAL, or the group commit not setting FULL again.
    @Test(.timeLimit(.minutes(2)))
    func eventCommitsSyncFullyAfterAFold() async throws {
        try await withFreshStore(.sqlite) { store in
            let sqlite = try #require(store as? SQLiteEventStore)
            let token = try await store.createToken(name: "Cantina", timeZone: "UTC").record
            for body in SampleCheck.events(order: "F-1") { _ = try await store.append(incomingEvent(body, token: token, store: store)) }
            // The read waits for the fold, so the unsynced transaction has run on the writer by now.
            let session = try await store.session(tokenID: token.id, environment: .prod, orderID: "F-1")
            #expect(session?.eventIDs.count == 3)
            let synchronous = try await sqlite.database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            #expect(synchronous == 2, "after a fold, PRAGMA synchronous on the writer is \(String(describing: synchronous)), not FULL (2)")
            // And a write that lowers it (as the fold does) cannot leak into the next event's commit: the last
            // `PRAGMA synchronous` the writer connection ran before the event's insert set FULL.
            let statements = Mutex<[String]>([])
            try await sqlite.database.writeWithoutTransaction { db in
                db.trace(options: .statement) { event in statements.withLock { $0.append("\(event)") } }
                try db.execute(sql: "PRAGMA synchronous = OFF")
            }
            _ = try await store.append(incomingEvent(SampleCheck.events(order: "F-2")[0], token: token, store: store))
            try await sqlite.database.writeWithoutTransaction { db in db.trace(options: .statement, nil) }
            let log = statements.withLock { $0 }
            let insert = try #require(log.lastIndex { $0.contains("INSERT INTO events") }, "\(log)")
            let pragma = log[..<insert].last { $0.contains("PRAGMA synchronous") }
            #expect(pragma?.contains("FULL") == true, "the event's commit ran after \(pragma ?? "no PRAGMA synchronous")")
        }
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
