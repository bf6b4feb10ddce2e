import Foundation
import NIOHTTP1
import Testing

/// Promise (contract §1 `?env=`): "Dev and prod data never mix: every read path filters by env." One token posts
/// distinguishable sessions and refused bodies in each env; each read answers only its own.
@Suite("Promise: dev/prod separation on the read API")
struct PromiseSeparationTests {
    /// Posts DEV-1 (closed, 10.00) + one invalid body in dev, PROD-1 (closed, 99.00) + PROD-2 (open) + two
    /// invalid bodies in prod, and returns the token's id once the refusals are recorded.
    private func seed(_ server: TestServer) async throws -> String {
        let (id, token) = try await server.createToken()
        func opened(_ order: String, _ table: String, _ time: String) -> Data {
            Data(
                #"{"event":"session_opened","order_id":"\#(order)","table_number":"\#(table)","timestamp":"2025-11-24T\#(time):00-03:00"}"#
                    .utf8)
        }
        func closed(_ order: String, _ table: String, _ start: String, _ end: String, _ total: String) -> Data {
            Data(
                #"{"event":"session_complete","order_id":"\#(order)","table_number":"\#(table)","timestamp":"2025-11-24T\#(end):00-03:00","session_start":"2025-11-24T\#(start):00-03:00","session_end":"2025-11-24T\#(end):00-03:00","totals":{"subtotal":\#(total),"total":\#(total)}}"#
                    .utf8)
        }
        let posts: [(String, Data)] = [
            ("dev", opened("DEV-1", "Mesa 1", "19:00")), ("dev", closed("DEV-1", "Mesa 1", "19:00", "20:00", "10.00")),
            ("prod", opened("PROD-1", "Mesa 2", "19:00")), ("prod", closed("PROD-1", "Mesa 2", "19:00", "21:00", "99.00")),
            ("prod", opened("PROD-2", "Mesa 3", "19:30")),
        ]
        for (env, body) in posts {
            let answer = try await server.post(token: token, env: env, body: body)
            try #require(answer.status == 200, "\(answer.status): \(answer.text)")
        }
        for (env, body) in [("dev", "{"), ("prod", "["), ("prod", "{\"a\":")] {
            try #require(try await server.post(token: token, env: env, body: Data(body.utf8)).status == 400)
        }
        // Rejection records are written without the post waiting for them.
        try await waitUntil {
            let list = try await server.request(.GET, "/api/v1/rejections?token_id=\(id)", admin: true).json()
            return (list["rejections"] as? [Any])?.count == 3
        }
        return id
    }

    /// /api/v1/events, and prod when `env` is absent. Catches a missing `env = ?` in the event query.
    @Test(.timeLimit(.minutes(2)), arguments: Backend.allCases)
    func eventsListOnlyTheirEnv(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let id = try await seed(server)
            for (env, orders, count) in [("dev", ["DEV-1"], 2), ("prod", ["PROD-1", "PROD-2"], 3)] {
                let events =
                    try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=\(env)&limit=1000", admin: true)
                    .json()["events"] as? [[String: Any]] ?? []
                #expect(events.count == count, "\(env): \(events)")
                #expect(events.allSatisfy { $0["env"] as? String == env })
                #expect(Set(events.compactMap { $0["order_id"] as? String }) == Set(orders))
            }
            let unnamed = try await server.request(.GET, "/api/v1/events?token_id=\(id)", admin: true).json()["events"] as? [[String: Any]]
            #expect(unnamed?.count == 3 && unnamed?.allSatisfy { $0["env"] as? String == "prod" } == true)
        }
    }

    /// /api/v1/export (NDJSON, payloads included). Catches an export that pages over both envs.
    @Test(.timeLimit(.minutes(2)), arguments: Backend.allCases)
    func exportHoldsOnlyItsEnv(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let id = try await seed(server)
            for (env, other, count) in [("dev", "PROD-", 2), ("prod", "DEV-", 3)] {
                let answer = try await server.request(.GET, "/api/v1/export?token_id=\(id)&env=\(env)", admin: true)
                #expect(answer.status == 200)
                let lines = answer.text.split(separator: "\n").compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
                #expect(lines.count == count, "\(env): \(answer.text)")
                #expect(lines.allSatisfy { $0["env"] as? String == env })
                #expect(!answer.text.contains(other))
            }
        }
    }

    /// /api/v1/analytics: sessions, revenue, event counts and rejection counts of one env. Catches sessions or
    /// data-quality counts read without the env (prod would show 2 closed and 109.00, dev 2 rejections more).
    @Test(.timeLimit(.minutes(2)), arguments: Backend.allCases)
    func analyticsCountOnlyTheirEnv(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let id = try await seed(server)
            for (env, closed, open, revenue, events, refused) in [("dev", 1, 0, 10.0, 2, 1), ("prod", 1, 1, 99.0, 3, 2)] {
                let day = try await server.request(.GET, "/api/v1/analytics?token_id=\(id)&env=\(env)&date=2025-11-24", admin: true).json()
                #expect(day["env"] as? String == env)
                let turnover = try #require(day["turnover"] as? [String: Any])
                #expect(turnover["sessions_closed"] as? Int == closed, "\(env): \(turnover)")
                #expect(turnover["sessions_open"] as? Int == open, "\(env): \(turnover)")
                #expect((day["revenue"] as? [String: Any])?["total"] as? Double == revenue)
                #expect((day["data_quality"] as? [String: Any])?["events"] as? Int == events)
                // The refusals happened today (the payloads are from 2025): they count on today's page.
                let today = try await server.request(.GET, "/api/v1/analytics?token_id=\(id)&env=\(env)", admin: true).json()
                let rejections = (today["data_quality"] as? [String: Any])?["rejections"] as? [String: Int]
                #expect(rejections == ["400": refused], "\(env): \(String(describing: rejections))")
            }
        }
    }

    /// /api/v1/rejections?env=: only that env's refusals. Catches a rejection list that ignores `env`.
    @Test(.timeLimit(.minutes(2)), arguments: Backend.allCases)
    func rejectionsListOnlyTheirEnv(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let id = try await seed(server)
            for (env, count) in [("dev", 1), ("prod", 2)] {
                let answer = try await server.request(.GET, "/api/v1/rejections?token_id=\(id)&env=\(env)", admin: true)
                #expect(answer.status == 200)
                let rejections = try answer.json()["rejections"] as? [[String: Any]] ?? []
                let envs = rejections.map { $0["env"] as? String ?? "none" }
                #expect(envs == Array(repeating: env, count: count), "?env=\(env) listed refusals from \(envs)")
            }
        }
    }
}
