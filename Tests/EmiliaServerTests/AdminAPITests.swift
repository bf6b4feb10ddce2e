import EmiliaServer
import Foundation
import Logging
import NIOHTTP1
import Synchronization
import Testing

@Suite("Admin API, operations, secrets", .timeLimit(.minutes(3)))
struct AdminAPITests {
    @Test(arguments: Backend.allCases) func adminAPINeedsTheKey(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            #expect(try await server.request(.GET, "/api/v1/tokens").status == 401)
            let wrong = try await server.request(.GET, "/api/v1/tokens", headers: [("Authorization", "Bearer not-the-key")])
            #expect(wrong.status == 401)
            #expect(try wrong.json()["detail"] as? String == "Admin key required")
            #expect(try await server.request(.GET, "/api/v1/tokens", admin: true).status == 200)
        }
    }

    @Test(arguments: Backend.allCases) func tokenLifecycle(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let created = try await server.request(
                .POST, "/api/v1/tokens", body: Data(#"{"name":"Bar Central","timezone":"Europe/Lisbon"}"#.utf8),
                headers: [("Content-Type", "application/json")], admin: true)
            #expect(created.status == 201)
            let json = try created.json()
            let id = try #require(json["id"] as? String)
            let token = try #require(json["token"] as? String)
            #expect(json["prefix"] as? String == String(token.prefix(8)))
            #expect(json["timezone"] as? String == "Europe/Lisbon")
            #expect(json["status"] as? String == "active")

            let listed = try await server.request(.GET, "/api/v1/tokens", admin: true).json()["tokens"] as? [[String: Any]] ?? []
            #expect(listed.count == 1)
            #expect(listed.first?["token"] == nil)
            #expect(listed.first?["name"] as? String == "Bar Central")

            let defaultZone = try await server.request(
                .POST, "/api/v1/tokens", body: Data(#"{"name":"Padaria"}"#.utf8),
                headers: [("Content-Type", "application/json")], admin: true)
            #expect(try defaultZone.json()["timezone"] as? String == "America/Sao_Paulo")
            let badZone = try await server.request(
                .POST, "/api/v1/tokens", body: Data(#"{"name":"X","timezone":"Mars/Base"}"#.utf8),
                headers: [("Content-Type", "application/json")], admin: true)
            #expect(badZone.status == 400)
            #expect((try badZone.json()["detail"] as? String)?.contains("unknown time zone") == true)
            #expect(try await server.request(.POST, "/api/v1/tokens/\(UUID().uuidString)/deactivate", admin: true).status == 404)

            let deactivated = try await server.request(.POST, "/api/v1/tokens/\(id)/deactivate", admin: true).json()
            #expect(deactivated["status"] as? String == "inactive")
            let reactivated = try await server.request(.POST, "/api/v1/tokens/\(id)/reactivate", admin: true).json()
            #expect(reactivated["status"] as? String == "active")
        }
    }

    @Test(arguments: Backend.allCases) func rotationKeepsTheOldTokenForTheGracePeriod(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (id, old) = try await server.createToken()
            let rotated = try await server.request(.POST, "/api/v1/tokens/\(id)/rotate", admin: true)
            #expect(rotated.status == 200)
            let new = try #require(try rotated.json()["token"] as? String)
            #expect(new != old)
            let body = Data(#"{"event":"test"}"#.utf8)
            #expect(try await server.post(token: new, body: body).status == 200)
            #expect(try await server.post(token: old, body: body, headers: [("Idempotency-Key", "2")]).status == 200)
        }
        try await TestServer.with(backend: backend, configure: { $0.rotationGrace = .zero }) { server in
            let (id, old) = try await server.createToken()
            let new = try #require(try await server.request(.POST, "/api/v1/tokens/\(id)/rotate", admin: true).json()["token"] as? String)
            let body = Data(#"{"event":"test"}"#.utf8)
            #expect(try await server.post(token: old, body: body).status == 401)
            #expect(try await server.post(token: new, body: body).status == 200)
        }
    }

    @Test(arguments: Backend.allCases) func healthAndMetrics(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let health = try await server.request(.GET, "/health")
            #expect(health.status == 200)
            #expect(try health.json()["status"] as? String == "ok")
            #expect(try health.json()["storage"] as? String == "ok")
            #expect(try health.json()["version"] as? String != nil)
            let (_, token) = try await server.createToken()
            _ = try await server.post(token: token, body: Data(#"{"event":"test"}"#.utf8))
            _ = try await server.post(token: token, env: "qa", body: Data(#"{"event":"test"}"#.utf8))
            let metrics = try await server.request(.GET, "/metrics").text
            #expect(metrics.contains(#"emilia_http_requests_total{route="/webhooks/v1/pos/{token}",method="POST",status="200"} 1"#))
            #expect(metrics.contains(#"emilia_rejections_total{reason="unknown_env"} 1"#))
            #expect(metrics.contains("emilia_ingest_duration_seconds_bucket"))
            #expect(metrics.contains("emilia_commit_batch_size_count"))
            #expect(metrics.contains("emilia_oldest_uncommitted_seconds 0"))
        }
    }

    @Test func tokensNeverReachTheDatabaseFileOrTheLogs() async throws {
        let lines = LogLines()
        let logger = Logger(label: "test") { _ in RecordingLogHandler(lines: lines) }
        let directory = TemporaryDirectory.make()
        let token = try await TestServer.with(logger: logger, dataDirectory: directory) { server in
            let (id, token) = try await server.createToken()
            _ = try await server.post(token: token, body: try Fixture.data("session_complete.json"))
            _ = try await server.post(token: token, env: "nope", body: Data("{".utf8))
            _ = try await server.post(token: token, body: Data("{".utf8))
            _ = try await server.request(.GET, "/webhooks/v1/pos/\(token)")
            let rotated = try await server.request(.POST, "/api/v1/tokens/\(id)/rotate", admin: true)
            let second = try rotated.json()["token"] as! String
            _ = try await server.post(token: second, body: Data(#"{"event":"test"}"#.utf8))
            return [token, second]
        }
        #expect(!lines.all.isEmpty)
        var files = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            files.append(try Data(contentsOf: directory.appendingPathComponent(name)))
        }
        for value in token {
            for form in [value, value.uppercased(), String(value.dropFirst(8))] {
                #expect(files.range(of: Data(form.utf8)) == nil, "a token is in the database files")
                #expect(!lines.all.contains { $0.contains(form) }, "a token is in the logs")
            }
        }
        #expect(lines.all.contains { $0.contains(String(token[0].prefix(8))) })
    }
}

/// Log lines captured in memory (message and metadata), to check what logs contain.
final class LogLines: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var all: [String] { storage.withLock { $0 } }
}

struct RecordingLogHandler: LogHandler {
    let lines: LogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        lines.append("\(event.level) \(event.message) \(all) \(event.source) \(event.function)")
    }
}
