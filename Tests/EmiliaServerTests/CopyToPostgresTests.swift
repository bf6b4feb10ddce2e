import EmiliaServer
import Foundation
import NIOHTTP1
import Testing

/// `emilia copy`: a SQLite data dir moved into PostgreSQL loses nothing, and a second run resumes instead of
/// duplicating.
@Suite("emilia copy: from SQLite to PostgreSQL", .timeLimit(.minutes(3)))
struct CopyToPostgresTests {
    @Test func everythingArrivesAndTheTokenKeepsWorking() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        // One machine's history: two checks, an event with an Idempotency-Key, a refused post.
        let (tokenID, token, posted) = try await TestServer.with(dataDirectory: directory) { server in
            let (id, token) = try await server.createToken()
            var posted: [(id: String, body: Data)] = []
            for order in ["K-1", "K-2"] {
                for body in checkEvents(order: order, table: 3) {
                    let answer = try await server.post(token: token, env: "prod", body: Data(body.utf8))
                    posted.append((try #require(try answer.json()["event_id"] as? String), Data(body.utf8)))
                }
            }
            let keyed = Data(#"{"event":"test","n":"keyed"}"#.utf8)
            let answer = try await server.post(token: token, env: "prod", body: keyed, headers: [("Idempotency-Key", "copy-key")])
            posted.append((try #require(try answer.json()["event_id"] as? String), keyed))
            #expect(try await server.post(token: token, env: "prod", body: Data("{not json".utf8)).status == 400)
            return (id, token, posted)
        }
        let databaseURL = try await TestDatabase.createPostgresDatabase()
        let (status, output) = try await EmiliaProcess.run(["copy", "--from", directory.path, "--to", databaseURL])
        #expect(status == 0, "emilia copy failed: \(output)")
        #expect(output.contains("Copied 1 tokens, 7 events and 1 rejections"), "\(output)")

        // Run again: nothing is copied twice.
        let (again, secondOutput) = try await EmiliaProcess.run(["copy", "--from", directory.path, "--to", databaseURL])
        #expect(again == 0 && secondOutput.contains("Resumed after 7 events"), "\(secondOutput)")

        try await TestServer.with(configure: { $0.databaseURL = databaseURL }) { server in
            for event in posted {
                let raw = try await server.request(.GET, "/api/v1/events/\(event.id)/raw", admin: true)
                #expect(raw.status == 200 && raw.body == event.body, "event \(event.id)")
            }
            let list = try await server.request(.GET, "/api/v1/events?token_id=\(tokenID)&env=prod&limit=100", admin: true)
            #expect((try list.json()["events"] as? [Any])?.count == 7)
            for order in ["K-1", "K-2"] {
                let session = try await server.request(.GET, "/api/v1/sessions/\(order)?token_id=\(tokenID)&env=prod", admin: true)
                #expect(try session.json()["status"] as? String == "closed", "order \(order)")
            }
            let quality = try await server.request(
                .GET, "/api/v1/analytics?token_id=\(tokenID)&env=prod&date=\(LocalDayToday.sãoPaulo)",
                admin: true)
            #expect(quality.status == 200)
            // The same token value posts, and its dedup keys came along.
            let repeated = try await server.post(
                token: token, env: "prod", body: Data(#"{"event":"test","n":"retry"}"#.utf8),
                headers: [("Idempotency-Key", "copy-key")])
            #expect(try repeated.json()["duplicate"] as? Bool == true)
            #expect(try repeated.json()["event_id"] as? String == posted.last?.id)
        }
    }

    @Test func aDatabaseInUseIsRefused() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await TestServer.with(dataDirectory: directory) { server in
            let (_, token) = try await server.createToken()
            _ = try await server.post(token: token, body: Data(#"{"event":"test"}"#.utf8))
        }
        let databaseURL = try await TestDatabase.createPostgresDatabase()
        try await TestServer.with(configure: { $0.databaseURL = databaseURL }) { server in
            let (_, token) = try await server.createToken()
            _ = try await server.post(token: token, body: Data(#"{"event":"test","elsewhere":true}"#.utf8))
        }
        let (status, _) = try await EmiliaProcess.run(["copy", "--from", directory.path, "--to", databaseURL])
        #expect(status != 0)
    }
}

/// Today's date in São Paulo (the test tokens' zone), for analytics URLs.
enum LocalDayToday {
    static var sãoPaulo: String {
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "America/Sao_Paulo")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date())
    }
}
