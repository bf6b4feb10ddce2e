import EmiliaModel
import EmiliaSQLite
import EmiliaStore
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Testing

@Suite("Retention", .timeLimit(.minutes(3)))
struct RetentionTests {
    /// Appends `count` test events to a store whose clock says `receivedAt`.
    private func append(_ count: Int, at receivedAt: Date, directory: URL, tokenID: String) async throws {
        let store = try SQLiteEventStore(directory: directory, logger: Logger(label: "test"), now: { receivedAt })
        let group = ServiceGroup(services: store.services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for index in 0..<count {
                _ = try await store.append(
                    IncomingEvent(
                        tokenID: tokenID, environment: .prod, deduplicationKey: "k\(receivedAt.timeIntervalSince1970)-\(index)",
                        body: Data(#"{"event":"test"}"#.utf8), summary: EventSummary(kind: .test("test")), warnings: [],
                        requestID: nil, contentType: "application/json"))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func oldEventsGoInBatchesRecentOnesStay() async throws {
        let directory = TemporaryDirectory.make()
        let store = try SQLiteEventStore(directory: directory, logger: Logger(label: "test"))
        let token = try await store.createToken(name: "Old", timeZone: "UTC").record.id
        try await append(25, at: Date().addingTimeInterval(-100 * 86_400), directory: directory, tokenID: token)
        try await append(5, at: Date(), directory: directory, tokenID: token)
        let deleted = try await store.deleteExpired(olderThan: Date().addingTimeInterval(-90 * 86_400), batchSize: 10)
        #expect(deleted == 25)
        let left = try await DatabaseQueue(path: directory.appendingPathComponent("emilia.sqlite3").path).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM events")
        }
        #expect(left == 5)
    }

    @Test func retentionNeverGoesBelowTheDedupWindow() {
        let service = RetentionService(
            store: try! SQLiteEventStore(directory: TemporaryDirectory.make(), logger: Logger(label: "test")),
            age: .seconds(3600), logger: Logger(label: "test"))
        #expect(service.age == RetentionService.minimumAge)
        #expect(RetentionService.minimumAge == .seconds(72 * 3600))
    }
}
