import EmiliaServer
import Foundation
import GRDB
import NIOHTTP1
import Testing

/// Floods cost bounded storage; the small holes of the security review stay closed.
@Suite("Floods and small holes", .timeLimit(.minutes(3)))
struct FloodAndHoleTests {
    @Test(.timeLimit(.minutes(2)))
    func aTokenThatIgnoresRetryAfterCostsABoundedNumberOfRecords() async throws {
        try await TestServer.with(configure: {
            $0.rateLimitPerSecond = 0.01
            $0.rateLimitBurst = 1
            $0.rejectionCountInterval = .seconds(1)
        }) { server in
            let (id, token) = try await server.createToken(name: "Flooder")
            let (_, calm) = try await server.createToken(name: "Calm")
            #expect(try await server.post(token: token, body: Data(#"{"event":"test"}"#.utf8)).status == 200)
            let started = ContinuousClock.now
            var refused = 0
            for _ in 0..<300 where try await server.post(token: token, body: Data(#"{"event":"test"}"#.utf8)).status == 429 {
                refused += 1
            }
            #expect(refused == 300)
            #expect(try await server.post(token: calm, body: Data(#"{"event":"test"}"#.utf8)).status == 200)
            let metrics = try await server.request(.GET, "/metrics").text
            #expect(metrics.split(separator: "\n").contains(#"emilia_rejections_total{reason="rate_limited"} 300"#))
            // Every refusal is counted; only a burst is written in full, the rest as counts.
            let database = server.dataDirectory.appendingPathComponent("emilia.sqlite3").path
            try await waitUntil {
                let total = try await DatabaseQueue(path: database).read { db in
                    try Int.fetchOne(db, sql: "SELECT COALESCE(sum(count), 0) FROM rejections WHERE token_id = ?", arguments: [id])
                }
                return total == 300
            }
            let rows = try await DatabaseQueue(path: database).read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM rejections WHERE token_id = ?", arguments: [id])
            }
            // The burst in full, then one counted record per flush (every second) at most.
            let seconds = Int((ContinuousClock.now - started).components.seconds) + 1
            #expect(try #require(rows) <= 20 + seconds + 1, "\(rows ?? 0) records in \(seconds) s")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func unknownTokensAreRateLimitedPerAddressWithoutHurtingAKnownToken() async throws {
        try await TestServer.with(configure: {
            $0.unknownTokenBurst = 5
            $0.unknownTokenRatePerSecond = 0.01
            $0.tokenCacheLifetime = .seconds(60)  // "a moment ago", however loaded the machine
        }) { server in
            let (_, token) = try await server.createToken()
            #expect(try await server.post(token: token, body: Data(#"{"event":"test","n":0}"#.utf8)).status == 200)
            var statuses: [Int] = []
            for _ in 0..<12 {
                statuses.append(try await server.post(token: UUID().uuidString.lowercased(), body: Data(#"{"event":"test"}"#.utf8)).status)
            }
            #expect(statuses == Array(repeating: 401, count: 5) + Array(repeating: 429, count: 7))
            // The known token was verified a moment ago: it keeps working from the same address.
            #expect(try await server.post(token: token, body: Data(#"{"event":"test","n":1}"#.utf8)).status == 200)
        }
    }

    @Test(arguments: [
        "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/\\evil.example", "//evil.example",
        "https://evil.example", "javascript:alert(1)", "/ /evil.example", "\t/x",
    ])
    func signInNeverRedirectsOffSite(next: String) async throws {
        try await TestServer.with { server in
            let encoded = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let answer = try await server.request(
                .POST, "/login", body: Data("admin_key=\(TestServer.adminKey)&next=\(encoded)".utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(answer.status == 303)
            #expect(answer.headers["Location"].first == "/")
        }
    }

    @Test func signInKeepsASameSitePath() async throws {
        try await TestServer.with { server in
            let answer = try await server.request(
                .POST, "/login", body: Data("admin_key=\(TestServer.adminKey)&next=%2Ftokens%3Fa%3D1".utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(answer.headers["Location"].first == "/tokens?a=1")
        }
    }

    @Test func signInAttemptsAreThrottledPerClient() async throws {
        try await TestServer.with(configure: { $0.signInFailureBurst = 3 }) { server in
            var statuses: [Int] = []
            for _ in 0..<5 {
                statuses.append(
                    try await server.request(
                        .POST, "/login", body: Data("admin_key=wrong&next=%2F".utf8),
                        headers: [("Content-Type", "application/x-www-form-urlencoded")]
                    ).status)
            }
            #expect(statuses == [401, 401, 401, 429, 429])
            // Even the right key waits out the throttle.
            let right = try await server.request(
                .POST, "/login", body: Data("admin_key=\(TestServer.adminKey)&next=%2F".utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(right.status == 429)
            #expect(right.headers["Retry-After"].first != nil)
        }
    }

    @Test func behindATrustedProxyTheCookieIsSecureAndAnswersCarryHSTS() async throws {
        try await TestServer.with(configure: { $0.trustProxy = true }) { server in
            let answer = try await server.request(
                .POST, "/login", body: Data("admin_key=\(TestServer.adminKey)&next=%2F".utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("X-Forwarded-Proto", "https")])
            #expect(answer.headers["Set-Cookie"].first?.hasSuffix("; Secure") == true)
            #expect(answer.headers["Strict-Transport-Security"].first != nil)
            let plain = try await server.request(
                .POST, "/login", body: Data("admin_key=\(TestServer.adminKey)&next=%2F".utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(plain.headers["Set-Cookie"].first?.contains("Secure") == false)
        }
        try await TestServer.with { server in
            // Not trusted: anyone could send the header.
            let answer = try await server.request(
                .POST, "/login", body: Data("admin_key=\(TestServer.adminKey)&next=%2F".utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("X-Forwarded-Proto", "https")])
            #expect(answer.headers["Set-Cookie"].first?.contains("Secure") == false)
        }
    }

    @Test func csvExportNeutralisesFormulasAndQuotesLineBreaks() async throws {
        try await TestServer.with { server in
            let (id, token) = try await server.createToken()
            let answer = try await server.post(
                token: token,
                body: Data(
                    #"{"event":"session_opened","order_id":"A\r\nB,=1","table_number":"=HYPERLINK(\"http://x\")","timestamp":"2025-11-24T19:00:00-03:00"}"#
                        .utf8))
            #expect(answer.status == 200)
            let csv = try await server.request(.GET, "/api/v1/export?token_id=\(id)&env=dev&format=csv", admin: true).text
            #expect(csv.contains("\"A\r\nB,=1\""))
            #expect(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""))
            #expect(!csv.contains(",=HYPERLINK"))
            // One header and one record: the CR LF inside the quoted field does not start a row.
            let records = csv.components(separatedBy: "\n").filter { !$0.isEmpty && !$0.hasPrefix("B,") }
            #expect(records.count == 2)
        }
    }

    @Test func longIdempotencyKeysAreKeptWholeNotTruncatedIntoCollisions() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let prefix = String(repeating: "k", count: 300)
            let first = try await server.post(
                token: token, body: Data(#"{"event":"test","n":1}"#.utf8), headers: [("Idempotency-Key", prefix + "-1")])
            let second = try await server.post(
                token: token, body: Data(#"{"event":"test","n":2}"#.utf8), headers: [("Idempotency-Key", prefix + "-2")])
            let repeated = try await server.post(
                token: token, body: Data(#"{"event":"test","n":3}"#.utf8), headers: [("Idempotency-Key", prefix + "-1")])
            #expect(try first.json()["duplicate"] as? Bool == false)
            #expect(try second.json()["duplicate"] as? Bool == false)
            #expect(try repeated.json()["duplicate"] as? Bool == true)
            #expect(try repeated.json()["event_id"] as? String == first.json()["event_id"] as? String)
        }
    }

    @Test func rateLimitZeroMeansNoLimit() async throws {
        try await TestServer.with(configure: {
            $0.rateLimitPerSecond = 0
            $0.rateLimitBurst = 1
        }) { server in
            let (_, token) = try await server.createToken()
            for index in 0..<20 {
                #expect(try await server.post(token: token, body: Data(#"{"event":"test","n":\#(index)}"#.utf8)).status == 200)
            }
        }
    }

    @Test(arguments: [
        ("EMILIA_RATE_LIMIT", "-1"), ("EMILIA_RATE_LIMIT", "nan"), ("EMILIA_RATE_LIMIT", "fast"),
        ("EMILIA_RATE_BURST", "0"), ("EMILIA_INGEST_MEMORY_MB", "1"), ("EMILIA_RETENTION_DAYS", "-3"),
    ])
    func aSettingTheServerCannotRunWithStopsItWithAClearMessage(name: String, value: String) async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let child = try EmiliaProcess(
            ["serve", "--port", "0", "--data-dir", directory.path],
            environment: ["EMILIA_ADMIN_KEY": "settings-test-admin-key-012345", name: value])
        defer { child.kill() }
        try await waitUntil(timeout: .seconds(30)) { !child.process.isRunning }
        #expect(child.process.terminationStatus != 0)
        try await waitUntil(timeout: .seconds(5)) { child.standardError.contains(name) }
    }

    @Test func aStorageErrorOnADashboardPageIsA503Page() async throws {
        try await TestServer.with { server in
            let (id, _) = try await server.createToken()
            let cookie = try await server.signIn()
            let database = server.dataDirectory.appendingPathComponent("emilia.sqlite3").path
            try await DatabaseQueue(path: database).write { db in try db.execute(sql: "ALTER TABLE sessions RENAME TO sessions_away") }
            let page = try await server.page("/restaurants/\(id)", cookie: cookie)
            #expect(page.status == 503)
            #expect(page.headers["Content-Type"].first?.hasPrefix("text/html") == true)
            #expect(page.text.contains("Storage"))
            let api = try await server.request(.GET, "/api/v1/sessions?token_id=\(id)", admin: true)
            #expect(api.status == 503)
            #expect(api.headers["Retry-After"].first != nil)
            #expect(try api.json()["detail"] as? String == "Storage unavailable, retry later")
        }
    }
}
