import EmiliaModel
import EmiliaSQLite
import EmiliaStore
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@Suite("Upgrading a data dir written by an earlier version", .timeLimit(.minutes(3)))
struct MigrationTests {
    /// `stores/v3-one-session.sql`: the dump of a data dir written by schema v3 (one token, the three fixture events of
    /// order ORD-2025-0124 folded into one closed session). Its clear token is this one.
    static let clearToken = "f683f424-8b86-41c2-ad38-006509f393f0"

    @Test func aVersion3StoreKeepsItsTokensEventsAndSessions() async throws {
        let directory = TemporaryDirectory.make()
        let dump = try String(decoding: Fixture.data("stores/v3-one-session.sql"), as: UTF8.self)
        try await DatabaseQueue(path: directory.appendingPathComponent(SQLiteEventStore.fileName).path).writeWithoutTransaction { db in
            try db.execute(sql: dump)
            // An event of that version whose order id was sent as a number.
            try db.execute(
                sql: """
                    CREATE TEMP TABLE numeric AS SELECT * FROM events LIMIT 1;
                    UPDATE numeric SET id = '0199aaaa-0000-7000-8000-000000000001', dedup_key = 'key:numeric', order_id = '4711',
                        body = CAST('{"event":"session_opened","order_id":4711,"table_number":"Mesa 1"}' AS BLOB);
                    INSERT INTO events SELECT * FROM numeric;
                    """)
        }

        let store = try SQLiteEventStore(directory: directory, logger: Logger(label: "test"))
        let token = try #require(try await store.activeToken(matching: Self.clearToken))
        let session = try #require(try await store.session(tokenID: token.id, environment: .prod, orderID: "ORD-2025-0124"))
        #expect(session.status == .closed)
        #expect(
            try await store.sessions(tokenID: token.id, environment: .prod, localDate: "2025-11-24").map(\.orderID) == ["ORD-2025-0124"])
        let page = try await store.events(EventQuery(tokenID: token.id, environment: .prod))
        #expect(page.events.count == 4)
        // The upgrade read each stored event's order id type from its body.
        #expect(page.events.filter(\.orderIDIsNumber).map(\.orderID) == ["4711"])

        // The upgraded session row still takes new events for its order, and new orders get rows of their own.
        let group = ServiceGroup(services: store.services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let event = try incomingEvent(
                #"{"event":"session_opened","order_id":"ORD-2025-0125","table_number":"Mesa 9","timestamp":"2025-11-24T21:00:00-03:00"}"#,
                token: token, store: store, key: "new")
            #expect(try await store.append(event).isDuplicate == false)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let day = try await store.sessions(tokenID: token.id, environment: .prod, localDate: "2025-11-24")
        #expect(day.map(\.orderID) == ["ORD-2025-0124", "ORD-2025-0125"])
        #expect(day.last?.status == .open)
    }
}

@Suite("The write-ahead log under steady writes", .timeLimit(.minutes(3)))
struct WriteAheadLogTests {
    /// With writes always in flight a PASSIVE checkpoint never lets the log start over, so it grows by every byte
    /// written; the writer finishing the checkpointer's pass keeps it a fraction of what went through it.
    @Test func theLogStartsOverInsteadOfGrowing() async throws {
        let directory = TemporaryDirectory.make()
        let store = try SQLiteEventStore(directory: directory, logger: Logger(label: "test"), logRestartFrames: 256)
        let walPath = directory.appendingPathComponent(SQLiteEventStore.fileName + "-wal").path
        let group = ServiceGroup(services: store.services, logger: Logger(label: "test"))
        let body = Data(#"{"event":"test","fill":"\#(String(repeating: "x", count: 16 * 1024))"}"#.utf8)
        let written = Counter()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for writer in 0..<32 {
                tasks.addTask {
                    var index = 0
                    while !Task.isCancelled {
                        index += 1
                        _ = try await store.append(
                            IncomingEvent(
                                tokenID: "t", environment: .prod, deduplicationKey: "key:\(writer)-\(index)", body: body,
                                summary: EventSummary(kind: .test("test")), warnings: [], requestID: nil, contentType: nil))
                        written.add(body.count)
                    }
                }
            }
            // Ten checkpoint rounds of writing as fast as the store takes it.
            var largestLog = 0
            let end = ContinuousClock.now + .milliseconds(2500)
            try await waitUntil(timeout: .seconds(60)) {
                let size = (try? FileManager.default.attributesOfItem(atPath: walPath)[.size] as? Int) ?? 0
                largestLog = max(largestLog, size)
                return ContinuousClock.now >= end && written.value > 128 * 1024 * 1024
            }
            #expect(largestLog < written.value / 3, "the log grew to \(largestLog) bytes for \(written.value) written")
            tasks.cancelAll()
            await group.triggerGracefulShutdown()
            _ = try? await tasks.waitForAll()
        }
    }
}

/// A thread-safe running total.
final class Counter: Sendable {
    private let total = Mutex(0)
    func add(_ amount: Int) { total.withLock { $0 += amount } }
    var value: Int { total.withLock { $0 } }
}
