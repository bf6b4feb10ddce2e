import EmiliaSQLite
import EmiliaServer
import EmiliaStore
import Foundation
import GRDB
import Logging
import NIOHTTP1
import Testing

/// Promise (contract §3): after a rotation the old token keeps working for a grace period, 24 h by default; the
/// new one works at once.
@Suite("Promise: rotation grace")
struct PromiseRotationTests {
    /// Store level with a clock the test moves, and the server's default grace: the old token works at +23 h 59 m
    /// and not at +24 h 01 m. Catches a default other than 24 h, a grace end computed wrongly (or never applied),
    /// and a token cache that keeps an expired token.
    @Test(.timeLimit(.minutes(2)))
    func theOldTokenWorksForTwentyFourHours() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let clock = PromiseClock(Date(timeIntervalSince1970: 1_764_000_000))
        let store = try SQLiteEventStore(
            directory: directory, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            now: { clock.now })
        let issued = try await store.createToken(name: "Rotating", timeZone: "UTC")
        let id = issued.record.id
        #expect(try await store.activeToken(matching: issued.token)?.id == id)

        let grace = ServerConfiguration(adminKey: TestServer.adminKey).rotationGrace
        #expect(grace == .seconds(24 * 3600))
        let rotated = try await store.rotateToken(id: id, grace: grace)
        #expect(rotated.token != issued.token)
        #expect(try await store.activeToken(matching: rotated.token)?.id == id)
        #expect(try await store.activeToken(matching: issued.token)?.id == id)

        clock.advance(by: 23 * 3600 + 59 * 60)
        #expect(try await store.activeToken(matching: issued.token)?.id == id, "the old token stopped before 24 h")
        #expect(try await store.activeToken(matching: rotated.token)?.id == id)

        clock.advance(by: 2 * 60)
        #expect(try await store.activeToken(matching: issued.token) == nil, "the old token still works after 24 h")
        #expect(try await store.activeToken(matching: rotated.token)?.id == id)
    }

    /// Through the admin API: both tokens post right after a rotation, and the old secret's grace ends 24 h from
    /// now. Catches AdminController passing another grace than the configured default.
    @Test(.timeLimit(.minutes(2)))
    func rotatingThroughTheAPIGivesTwentyFourHours() async throws {
        try await TestServer.with { server in
            let (id, old) = try await server.createToken()
            let before = Date()
            let answer = try await server.request(.POST, "/api/v1/tokens/\(id)/rotate", admin: true)
            #expect(answer.status == 200, "\(answer.text)")
            let new = try #require(try answer.json()["token"] as? String)
            #expect(new != old)
            #expect(try await server.post(token: old, body: Data(#"{"event":"test","n":1}"#.utf8)).status == 200)
            #expect(try await server.post(token: new, body: Data(#"{"event":"test","n":2}"#.utf8)).status == 200)
            let expiry = try await DatabaseQueue(path: server.dataDirectory.appendingPathComponent(SQLiteEventStore.fileName).path).read {
                db in
                try Double.fetchOne(db, sql: "SELECT expires_at FROM token_secrets WHERE hash = ?", arguments: [TokenSecrets.hash(old)])
            }
            let graceEnd = try #require(expiry, "the old token's secret has no expiry")
            #expect(abs(graceEnd - before.addingTimeInterval(24 * 3600).timeIntervalSince1970) < 60, "grace ends at \(graceEnd)")
        }
    }
}
