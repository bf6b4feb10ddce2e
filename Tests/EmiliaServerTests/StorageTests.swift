import EmiliaServer
import Foundation
import GRDB
import NIOHTTP1
import Testing

@Suite("Ingest storage: exact bytes, dedup, durability errors", .timeLimit(.minutes(3)))
struct StorageTests {
    @Test func exactBytesAreStoredAndServedBack() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let body = Data(
                "  {\"event\" :\"session_opened\", \"order_id\":\"Ω-1\",\n\"table_number\":\"Mesa 8\",\"timestamp\":\"2025-11-24T18:30:00-03:00\", \"x\": 1.50e0 }\n"
                    .utf8)
            let answer = try await server.post(token: token, body: body)
            let id = try #require(try answer.json()["event_id"] as? String)
            let raw = try await server.request(.GET, "/api/v1/events/\(id)/raw", admin: true)
            #expect(raw.status == 200)
            #expect(raw.body == body)
            let meta = try await server.request(.GET, "/api/v1/events/\(id)", admin: true).json()
            #expect(meta["order_id"] as? String == "Ω-1")
            #expect(meta["table_number"] as? String == "Mesa 8")
            #expect(meta["event"] as? String == "session_opened")
            #expect(meta["size_bytes"] as? Int == body.count)
            #expect(meta["env"] as? String == "dev")
            #expect(try await server.request(.GET, "/api/v1/events/\(UUID().uuidString)", admin: true).status == 404)
        }
    }

    @Test(arguments: [
        ([("Idempotency-Key", "order-77-close")], true),
        ([("X-Request-ID", "req-77")], true),
        ([], false),
    ])
    func repeatsAreAnsweredWithTheSameEventID(headers: [(String, String)], varyBody: Bool) async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let first = try await server.post(token: token, body: Data(#"{"event":"test","n":1}"#.utf8), headers: headers)
            // With a key, the body may differ (a retry that re-serialised); without one, the body hash decides.
            let repeatBody = varyBody ? Data(#"{"event":"test","n":2}"#.utf8) : Data(#"{"event":"test","n":1}"#.utf8)
            let second = try await server.post(token: token, body: repeatBody, headers: headers)
            #expect(first.status == 200 && second.status == 200)
            #expect(try first.json()["duplicate"] as? Bool == false)
            #expect(try second.json()["duplicate"] as? Bool == true)
            #expect(try second.json()["event_id"] as? String == first.json()["event_id"] as? String)
            // Another token sending the same thing is not a duplicate.
            let (_, other) = try await server.createToken(name: "Other")
            let third = try await server.post(token: other, body: repeatBody, headers: headers)
            #expect(try third.json()["duplicate"] as? Bool == false)
            let count = try await DatabaseQueue(path: server.dataDirectory.appendingPathComponent("emilia.sqlite3").path)
                .read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") }
            #expect(count == 2)
        }
    }

    @Test func concurrentRepeatsStoreOneEvent() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let answers = try await withThrowingTaskGroup(of: (String?, Bool?).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let json = try await server.post(
                            token: token, body: Data(#"{"event":"test"}"#.utf8),
                            headers: [("Idempotency-Key", "same")]
                        ).json()
                        return (json["event_id"] as? String, json["duplicate"] as? Bool)
                    }
                }
                return try await group.reduce(into: [(String?, Bool?)]()) { $0.append($1) }
            }
            #expect(Set(answers.map(\.0)).count == 1)
            #expect(answers.first?.0 != nil)
            #expect(answers.filter { $0.1 == false }.count == 1, "exactly one answer stored it")
            let rows = try await DatabaseQueue(path: server.dataDirectory.appendingPathComponent("emilia.sqlite3").path)
                .read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") }
            #expect(rows == 1)
        }
    }

    @Test func lockedStorageAnswers503AndHealthSaysSo() async throws {
        try await TestServer.with(configure: { $0.storageBusyTimeout = .milliseconds(200) }) { server in
            let (_, token) = try await server.createToken()
            #expect(try await server.request(.GET, "/health").status == 200)
            // Another process holds the write lock: the commit cannot happen, so no 200 may be sent.
            let path = server.dataDirectory.appendingPathComponent("emilia.sqlite3").path
            var blockerConfiguration = Configuration()
            blockerConfiguration.allowsUnsafeTransactions = true
            let blocker = try DatabaseQueue(path: path, configuration: blockerConfiguration)
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
            let refused = try await server.post(token: token, body: Data(#"{"event":"test","n":9}"#.utf8))
            #expect(refused.status == 503)
            #expect(try refused.json()["detail"] as? String == "Storage unavailable, retry later")
            #expect(refused.headers["Retry-After"].first != nil)
            let health = try await server.request(.GET, "/health")
            #expect(health.status == 503)
            try await blocker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            // Health recovers by itself once writes can happen again, before any new post.
            #expect(try await server.request(.GET, "/health").status == 200)
            let accepted = try await server.post(token: token, body: Data(#"{"event":"test","n":9}"#.utf8))
            #expect(accepted.status == 200)
            #expect(try accepted.json()["duplicate"] as? Bool == false)
            #expect(try await server.request(.GET, "/health").status == 200)
        }
    }

    /// A graceful shutdown that starts while posts are in flight: each post is answered 200 (and then stored) or
    /// refused cleanly; exactly the answered events are stored.
    @Test func everyAnsweredEventIsThereAfterAGracefulShutdown() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let acknowledged = LogLines()
        let token = try await TestServer.with(dataDirectory: directory) { server in
            let (_, token) = try await server.createToken()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in 0..<100 {
                            guard
                                let answer = try? await server.post(
                                    token: token, body: Data(#"{"event":"test","w":\#(worker),"i":\#(index)}"#.utf8))
                            else {
                                return  // refused or closed: the server has stopped
                            }
                            #expect(answer.status == 200 || answer.status == 503, "answered \(answer.status)")
                            if answer.status == 200, let id = try answer.json()["event_id"] as? String { acknowledged.append(id) }
                        }
                    }
                }
                group.addTask {
                    try await waitUntil(timeout: .seconds(60)) { acknowledged.all.count >= 100 }
                    await server.shutDown()
                }
                try await group.waitForAll()
            }
            return token
        }
        #expect(acknowledged.all.count >= 100 && acknowledged.all.count < 800, "the shutdown came mid-burst")
        let stored = try await DatabaseQueue(path: directory.appendingPathComponent("emilia.sqlite3").path).read { db in
            try String.fetchSet(db, sql: "SELECT id FROM events")
        }
        #expect(stored == Set(acknowledged.all), "stored events differ from the answered ones")
        try await TestServer.with(dataDirectory: directory) { (server: TestServer) async throws -> Void in
            #expect(try await server.post(token: token, body: Data(#"{"event":"test"}"#.utf8)).status == 200)
        }
    }
}
