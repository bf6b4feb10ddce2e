import EmiliaModel
import EmiliaSQLite
import EmiliaServer
import EmiliaStore
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing

/// Promises (README, decisions "Operations"): events and rejections are kept 90 days by default and deleted by a
/// service the server runs; `EMILIA_RETENTION_DAYS=0` keeps them forever; sessions are always kept.
@Suite("Promise: retention")
struct PromiseRetentionTests {
    /// The wiring in buildApplication: a RetentionService with the configured age when `retention` is set (90 days
    /// by default), none when it is nil. Catches the `if let retention` in Application+build.swift being dropped
    /// or inverted, and a changed default.
    @Test(.timeLimit(.minutes(2)))
    func theServiceRunsOnlyWhenRetentionIsSet() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        var configuration = ServerConfiguration(adminKey: TestServer.adminKey)
        configuration.port = 0
        configuration.dataDirectory = directory
        #expect(configuration.retention == .seconds(90 * 86_400))
        let kept = try await buildApplication(configuration: configuration, logger: logger)
        let services = kept.services.compactMap { $0 as? RetentionService }
        #expect(services.count == 1)
        #expect(services.first?.age == .seconds(90 * 86_400))

        configuration.retention = nil
        let forever = try await buildApplication(configuration: configuration, logger: logger)
        #expect(!forever.services.contains { $0 is RetentionService })
    }

    /// End to end through `emilia serve`: with the default, the first pass (at start) deletes an event and a
    /// rejection 100 days old but keeps the event's session and everything recent; with EMILIA_RETENTION_DAYS=0,
    /// started first and up at least as long, nothing goes. Catches ServeCommand reading 0 as "0 days" (clamped to
    /// 72 h, which deletes history), a first pass that waits an interval, sessions deleted with their events, and
    /// rejections left behind.
    @Test(.timeLimit(.minutes(3)))
    func serveDeletesOldEventsAndRejectionsButKeepsSessionsUnlessDaysIsZero() async throws {
        let keepAll = TemporaryDirectory.make()
        let standard = TemporaryDirectory.make()
        defer {
            try? FileManager.default.removeItem(at: keepAll)
            try? FileManager.default.removeItem(at: standard)
        }
        let keepAllSeed = try await seedHistory(in: keepAll)
        let standardSeed = try await seedHistory(in: standard)

        func environment(_ directory: URL) -> [String: String] {
            ["EMILIA_DATA_DIR": directory.path, "EMILIA_PORT": "0", "EMILIA_ADMIN_KEY": TestServer.adminKey]
        }
        var zeroEnvironment = environment(keepAll)
        zeroEnvironment["EMILIA_RETENTION_DAYS"] = "0"
        let zeroChild = try EmiliaProcess(["serve"], environment: zeroEnvironment)
        defer { stopIfRunning(zeroChild) }
        let zeroServer = TestServer(baseURL: try await zeroChild.waitForListening(), dataDirectory: keepAll)
        let standardChild = try EmiliaProcess(["serve"], environment: environment(standard))
        defer { stopIfRunning(standardChild) }
        let standardServer = TestServer(baseURL: try await standardChild.waitForListening(), dataDirectory: standard)

        // Default retention: the old event goes at start, without waiting for the hourly interval.
        try await waitUntil(timeout: .seconds(30)) {
            try await standardServer.request(.GET, "/api/v1/events/\(standardSeed.oldEventID)", admin: true).status == 404
        }
        #expect(try await standardServer.request(.GET, "/api/v1/events/\(standardSeed.recentEventID)", admin: true).status == 200)
        let session = try await standardServer.request(
            .GET, "/api/v1/sessions/OLD-1?token_id=\(standardSeed.tokenID)&env=prod", admin: true)
        #expect(session.status == 200, "the session of a deleted event must be kept: \(session.text)")
        #expect(try await reasons(standardServer, standardSeed.tokenID) == ["recent_refusal"])

        // EMILIA_RETENTION_DAYS=0: started before the other server, which has finished its first pass by now.
        #expect(try await zeroServer.request(.GET, "/api/v1/events/\(keepAllSeed.oldEventID)", admin: true).status == 200)
        #expect(try await zeroServer.request(.GET, "/api/v1/events/\(keepAllSeed.recentEventID)", admin: true).status == 200)
        #expect(
            try await zeroServer.request(.GET, "/api/v1/sessions/OLD-1?token_id=\(keepAllSeed.tokenID)&env=prod", admin: true).status == 200
        )
        #expect(try await reasons(zeroServer, keepAllSeed.tokenID) == ["old_refusal", "recent_refusal"])
        #expect(zeroChild.process.isRunning)
    }

    /// The sorted reasons of a token's rejection records.
    private func reasons(_ server: TestServer, _ tokenID: String) async throws -> [String] {
        let list = try await server.request(.GET, "/api/v1/rejections?token_id=\(tokenID)", admin: true).json()
        return ((list["rejections"] as? [[String: Any]]) ?? []).compactMap { $0["reason"] as? String }.sorted()
    }

    /// Writes, with a store whose clock is 100 days back, a session_opened (folded into a session) and a rejection;
    /// then, with the clock at now, a test event and a rejection.
    private func seedHistory(in directory: URL) async throws -> (tokenID: String, oldEventID: String, recentEventID: String) {
        let old = Date().addingTimeInterval(-100 * 86_400)
        let clock = PromiseClock(old)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = try SQLiteEventStore(directory: directory, logger: logger, now: { clock.now })
        let group = ServiceGroup(services: store.services, logger: logger)
        let seeded = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let tokenID = try await store.createToken(name: "Old Cantina", timeZone: "America/Sao_Paulo").record.id
            let stamp = ISO8601DateFormatter().string(from: old)
            var opened = IncomingEvent(
                tokenID: tokenID, environment: .prod, deduplicationKey: "key:old-open",
                body: Data(#"{"event":"session_opened","order_id":"OLD-1","table_number":"Mesa 1","timestamp":"\#(stamp)"}"#.utf8),
                summary: EventSummary(kind: .sessionOpened, orderID: "OLD-1", tableNumber: "Mesa 1", occurredAt: old),
                warnings: [], requestID: nil, contentType: "application/json")
            opened.timeZone = "America/Sao_Paulo"
            let oldEventID = try await store.append(opened).eventID
            store.recordRejection(
                Rejection(
                    tokenID: tokenID, environment: .prod, at: old, status: 400,
                    reason: "old_refusal", bodyPrefix: Data("{".utf8), requestID: "old"))
            clock.now = Date()
            let recentEventID = try await store.append(
                IncomingEvent(
                    tokenID: tokenID, environment: .prod, deduplicationKey: "key:recent", body: Data(#"{"event":"test"}"#.utf8),
                    summary: EventSummary(kind: .test("test")), warnings: [], requestID: nil, contentType: "application/json")
            ).eventID
            store.recordRejection(
                Rejection(
                    tokenID: tokenID, environment: .prod, at: Date(), status: 400,
                    reason: "recent_refusal", bodyPrefix: Data("[".utf8), requestID: "recent"))
            // Waits for the fold: the old order has its session row.
            let session = try await store.session(tokenID: tokenID, environment: .prod, orderID: "OLD-1")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return (tokenID, oldEventID, recentEventID, session != nil)
        }
        try #require(seeded.3, "the seed's session was not folded")
        let counts = try await DatabaseQueue(path: directory.appendingPathComponent(SQLiteEventStore.fileName).path).read { db in
            [
                try Int.fetchOne(db, sql: "SELECT count(*) FROM events"), try Int.fetchOne(db, sql: "SELECT count(*) FROM rejections"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM sessions"),
            ]
        }
        try #require(counts == [2, 2, 1], "seed: \(counts)")
        return (seeded.0, seeded.1, seeded.2)
    }
}

/// A clock tests can move.
final class PromiseClock: Sendable {
    private let instant: Mutex<Date>
    init(_ start: Date) { instant = Mutex(start) }
    var now: Date {
        get { instant.withLock { $0 } }
        set { instant.withLock { $0 = newValue } }
    }
    func advance(by seconds: TimeInterval) { instant.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
