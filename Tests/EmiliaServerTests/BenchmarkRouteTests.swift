import EmiliaServer
import Foundation
import NIOHTTP1
import Testing

/// `scripts/bench.sh` measures durable ingest against two routes of the same server (`--bench-routes`): they must stay
/// off unless asked for, and the unstored one must check a post exactly as the real route does.
@Suite("Benchmark routes: off by default; the unstored one checks like ingest and stores nothing", .timeLimit(.minutes(3)))
struct BenchmarkRouteTests {
    static let json = [("Content-Type", "application/json")]

    @Test func benchmarkRoutesAreOffByDefault() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            for prefix in ["/noop", "/unstored"] {
                let answer = try await server.request(
                    .POST, "\(prefix)/webhooks/v1/pos/\(token)?env=prod", body: try Fixture.data("session_complete.json"),
                    headers: Self.json)
                #expect(answer.status == 404, "\(prefix)")
            }
        }
    }

    @Test func theUnstoredRouteChecksLikeIngestAndStoresNothing() async throws {
        try await TestServer.with(configure: { $0.enableBenchmarkRoutes = true }) { server in
            let (tokenID, token) = try await server.createToken()
            let path = "/unstored/webhooks/v1/pos/\(token)?env=prod"
            let warned = try await server.request(.POST, path, body: try Fixture.data("totals_mismatch.json"), headers: Self.json)
            #expect(warned.status == 200)
            #expect(try warned.warningCodes() == ["totals_mismatch"])
            #expect(try warned.json()["env"] as? String == "prod")
            let invalid = try await server.request(.POST, path, body: Data("{".utf8), headers: Self.json)
            #expect(invalid.status == 400)
            #expect(invalid.text.contains("Invalid JSON"))
            let unknown = try await server.request(
                .POST, "/unstored/webhooks/v1/pos/\(UUID().uuidString)?env=prod", body: try Fixture.data("session_complete.json"),
                headers: Self.json)
            #expect(unknown.status == 401)
            let noop = try await server.request(
                .POST, "/noop/webhooks/v1/pos/\(token)", body: try Fixture.data("session_complete.json"), headers: Self.json)
            #expect(noop.status == 200)

            // One real post: the list holds it alone.
            let stored = try await server.request(
                .POST, "/webhooks/v1/pos/\(token)?env=prod", body: try Fixture.data("session_complete.json"), headers: Self.json)
            #expect(stored.status == 200)
            let list = try await server.request(.GET, "/api/v1/events?token_id=\(tokenID)&env=prod&limit=100", admin: true)
            let events = try #require(try list.json()["events"] as? [[String: Any]])
            #expect(events.map { $0["event_id"] as? String } == [try stored.json()["event_id"] as? String])
        }
    }
}
