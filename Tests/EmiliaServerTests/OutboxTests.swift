import EmiliaClient
import EmiliaModel
import EmiliaServer
import Foundation
import NIOHTTP1
import Testing

private let fast = RetryPolicy(maximumAttempts: 3, baseDelay: .milliseconds(5), maximumDelay: .milliseconds(20))

private func event(_ order: String, _ step: Int) -> Data {
    Data(
        #"{"event":"items_added","order_id":"\#(order)","table_number":"Mesa 1","timestamp":"2025-11-24T19:00:0\#(step)-03:00","items":[],"step":\#(step)}"#
            .utf8)
}

@Suite("Durable outbox", .timeLimit(.minutes(3)))
struct OutboxTests {
    @Test func deliversInOrderPerOrderAndConcurrentlyAcrossOrders() async throws {
        try await TestServer.with(configure: {
            $0.rateLimitPerSecond = 10_000
            $0.rateLimitBurst = 10_000
        }) { server in
            let (id, token) = try await server.createToken()
            let outbox = try Outbox(path: TemporaryDirectory.make().appendingPathComponent("outbox.sqlite3"))
            for step in 0..<5 {
                for order in ["A", "B", "C"] { try await outbox.enqueue(json: event(order, step), orderID: order) }
            }
            await #expect(try outbox.counts() == OutboxCounts(pending: 15, delivered: 0, dead: 0))
            let client = WebhookClient(token: token, environment: .dev, baseURL: server.baseURL)
            let counts = try await OutboxDelivery(outbox: outbox, client: client, policy: fast, concurrency: 3, logger: outboxLogger)
                .drain()
            #expect(counts == OutboxCounts(pending: 0, delivered: 15, dead: 0))
            for order in ["A", "B", "C"] {
                let page = try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=dev&order_id=\(order)", admin: true).json()
                let ids = (page["events"] as? [[String: Any]] ?? []).compactMap { $0["event_id"] as? String }
                var steps: [Int] = []
                for eventID in ids.reversed() {
                    let raw = try await server.request(.GET, "/api/v1/events/\(eventID)/raw", admin: true).json()
                    steps.append(raw["step"] as? Int ?? -1)
                }
                #expect(steps == [0, 1, 2, 3, 4], "order \(order) arrived out of order")
            }
        }
    }

    @Test func refusedAndExhaustedMessagesAreParkedAsDeadWithTheReason() async throws {
        let server = ScriptedServer([.status(400), .status(503), .status(503), .status(503)])
        let outbox = try Outbox(path: TemporaryDirectory.make().appendingPathComponent("outbox.sqlite3"))
        let clock = SimulatedClock()
        try await outbox.enqueue(json: event("A", 1), orderID: "A", now: clock.now)
        try await outbox.enqueue(json: event("B", 1), orderID: "B", now: clock.now)
        let monitor = WebhookMonitor()
        // Waits of exactly 1 s (a 2 s ceiling, the dice at one half) against a 1.5 s budget: tries at 0, 1 and 2 s.
        let policy = RetryPolicy(baseDelay: .seconds(2), maximumDelay: .seconds(2))
        let counts = try await server.run { url in
            let client = WebhookClient(token: "3f6c1b9e-8a3d-4c2b-9f1e-2d7a5b8c0e41", baseURL: url)
            return try await OutboxDelivery(
                outbox: outbox, client: client, policy: policy, retryBudget: .milliseconds(1500),
                concurrency: 1, monitor: monitor,
                clock: RetryClock(sleep: { clock.advance($0) }, random: { 0.5 }),
                now: { clock.now }, logger: outboxLogger
            ).drain()
        }
        #expect(counts == OutboxCounts(pending: 0, delivered: 0, dead: 2))
        let dead = try await outbox.deadMessages()
        #expect(dead.map(\.attempts) == [1, 3])
        #expect(dead.map(\.lastStatus) == [400, 503])
        #expect(dead.first?.lastError?.contains("scripted 400") == true)
        // Every attempt of a message carried the same idempotency key.
        let keys = server.attempts.compactMap(\.idempotencyKey)
        #expect(Set(keys.dropFirst()).count == 1)
        #expect(monitor.statistics.failed == 4)
    }

    @Test func survivesAKilledProcessAndDeliversEverythingExactlyOnce() async throws {
        try await TestServer.with(configure: {
            $0.rateLimitPerSecond = 10_000
            $0.rateLimitBurst = 10_000
        }) { server in
            let (id, token) = try await server.createToken()
            let path = TemporaryDirectory.make().appendingPathComponent("outbox.sqlite3").path
            let child = try EmiliaProcess([
                "simulate", "--url", server.baseURL, "--token", token, "--sessions", "400",
                "--outbox", path, "--json",
            ])
            // Kill it in the middle of delivery.
            var enqueued = 0
            var lastCounts: OutboxCounts?
            do {
                try await waitUntil(timeout: .seconds(60)) {
                    guard FileManager.default.fileExists(atPath: path),
                        let counts = try? await Outbox(path: URL(fileURLWithPath: path)).counts()
                    else { return false }
                    lastCounts = counts
                    enqueued = counts.pending + counts.delivered + counts.dead
                    return counts.delivered >= 50
                }
            } catch {
                Issue.record(
                    "no delivery progress: counts \(String(describing: lastCounts)), running \(child.process.isRunning), output: \(child.standardOutput.suffix(2000)), errors: \(child.standardError.suffix(2000))"
                )
                throw error
            }
            child.kill()
            let outbox = try Outbox(path: URL(fileURLWithPath: path))
            let left = try await outbox.counts()
            #expect(left.pending > 0, "the child finished before it was killed")
            enqueued = left.pending + left.delivered + left.dead

            let (status, output) = try await EmiliaProcess.run(["outbox", "deliver", "--outbox", path])
            #expect(status == 0)
            #expect(output.contains("pending 0"))
            await #expect(try outbox.counts() == OutboxCounts(pending: 0, delivered: enqueued, dead: 0))
            var stored = 0
            var cursor: String?
            repeat {
                let page = try await server.request(
                    .GET, "/api/v1/events?token_id=\(id)&env=dev&limit=1000" + (cursor.map { "&cursor=\($0)" } ?? ""),
                    admin: true
                ).json()
                stored += (page["events"] as? [Any])?.count ?? 0
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(stored == enqueued, "every enqueued message is stored once: none lost, none twice")
        }
    }
}

@Suite("CLI exit codes", .timeLimit(.minutes(3)))
struct CLITests {
    /// What went wrong, on one line: not the usage text, which would bury it.
    @Test(arguments: [
        (["token", "create", "--name", "Cantina", "--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["token", "deactivate", "00000000-0000-0000-0000-000000000000"], "no token"),
        (["outbox", "status", "--outbox", "/nonexistent/outbox.sqlite3"], "no outbox at /nonexistent/outbox.sqlite3"),
        (["send", "/nonexistent/event.json", "--token", "3f6c1b9e-8a3d-4c2b-9f1e-2d7a5b8c0e41"], "cannot read /nonexistent/event.json"),
    ])
    func aFailureIsAClearErrorWithoutTheUsage(arguments: [String], message: String) async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let storage = arguments[0] == "token" ? ["--data-dir", directory.path] : []
        let (status, _, errors) = try await EmiliaProcess.runCapturingErrors(arguments + storage)
        #expect(status == 1)
        #expect(errors.contains("Error: ") && errors.contains(message), "\(errors)")
        #expect(!errors.contains("USAGE"), "\(errors)")
    }

    @Test func lintExitCodes() async throws {
        let fixtures = Fixture.directory.path
        #expect(try await EmiliaProcess.run(["lint", "\(fixtures)/session_complete.json"]).0 == 0)
        let warned = try await EmiliaProcess.run(["lint", "\(fixtures)/utc_offset_in_sao_paulo.json"])
        #expect(warned.0 == 1)
        #expect(warned.1.contains("offset_mismatch\ttimestamp"))
        #expect(try await EmiliaProcess.run(["lint", "\(fixtures)/invalid_json.txt"]).0 == 2)
        #expect(try await EmiliaProcess.run(["lint", "\(fixtures)/utc_offset_in_sao_paulo.json", "--timezone", "UTC"]).0 == 0)
    }

    @Test func sendDiagnoseAndGenerate() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let sent = try await EmiliaProcess.run([
                "send", "\(Fixture.directory.path)/table_alias.json", "--url", server.baseURL, "--token", token,
            ])
            #expect(sent.0 == 0)
            #expect(sent.1.contains("warning table_alias"))
            #expect(
                try await EmiliaProcess.run([
                    "send", "\(Fixture.directory.path)/table_alias.json", "--url", server.baseURL,
                    "--token", UUID().uuidString,
                ]).0 == 1)
            let diagnosis = try await EmiliaProcess.run(["diagnose", token, "--url", server.baseURL, "--json", "--samples", "3"])
            #expect(diagnosis.0 == 0)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(diagnosis.1.utf8)) as? [String: Any])
            #expect(report["ok"] as? Bool == true)
            #expect((report["latency_ms"] as? [String: Any])?["samples"] as? Int == 3)
            let failing = try await EmiliaProcess.run(["diagnose", UUID().uuidString, "--url", server.baseURL])
            #expect(failing.0 == 1)
            #expect(failing.1.contains("token is unknown or inactive"))
            let generated = try await EmiliaProcess.run(["generate", "--sessions", "5", "--seed", "3"])
            let again = try await EmiliaProcess.run(["generate", "--sessions", "5", "--seed", "3"])
            #expect(generated.1 == again.1, "the same seed gives the same events")
            let lines = generated.1.split(separator: "\n")
            #expect(lines.count >= 15)
            for line in lines {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(object["order_id"] != nil && object["table_number"] != nil)
            }
        }
    }

    @Test func simulatePrintsItsSummaryAndDemoServesADashboard() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let path = TemporaryDirectory.make().appendingPathComponent("outbox.sqlite3").path
            let (status, output) = try await EmiliaProcess.run([
                "simulate", "--url", server.baseURL, "--token", token, "--sessions", "12",
                "--outbox", path, "--json",
            ])
            #expect(status == 0)
            let last = try #require(output.split(separator: "\n").last)
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Int])
            #expect(summary["sessions"] == 12)
            #expect(summary["delivered"] == summary["enqueued"])
            #expect(summary["dead"] == 0)
            let counts = try await EmiliaProcess.run(["outbox", "status", "--outbox", path, "--json"])
            let statusJSON = try JSONSerialization.jsonObject(with: Data(counts.1.utf8)) as? [String: Int]
            #expect(statusJSON?["pending"] == 0 && statusJSON?["delivered"] == summary["delivered"], "\(counts.1)")
            // Paced like real time, 20 000 times faster: a night of ~10 hours in about two seconds.
            let paced = try await EmiliaProcess.run([
                "simulate", "--url", server.baseURL, "--token", token, "--sessions", "4",
                "--outbox", path + "-paced", "--speed", "20000x", "--json",
            ])
            #expect(paced.0 == 0)
            let pacedSummary = try #require(
                try JSONSerialization.jsonObject(with: Data(paced.1.split(separator: "\n").last!.utf8)) as? [String: Int])
            #expect(pacedSummary["delivered"] == pacedSummary["enqueued"] && pacedSummary["dead"] == 0)
            #expect(
                try await EmiliaProcess.run(["simulate", "--url", server.baseURL, "--token", token, "--outbox", path, "--speed", "fast"]).0
                    != 0)
        }
        let demo = try EmiliaProcess(["demo", "--port", "0", "--sessions", "10"])
        defer { demo.kill() }
        try await waitUntil(timeout: .seconds(60)) { demo.standardOutput.contains("Admin key:") }
        let text = demo.standardOutput
        let dashboard = try #require(
            text.range(of: #"http://127\.0\.0\.1:\d+/restaurants/\S+"#, options: .regularExpression).map { String(text[$0]) })
        let key = try #require(text.range(of: #"emk_[0-9a-f]+"#, options: .regularExpression).map { String(text[$0]) })
        let parts = dashboard.split(separator: "/")  // ["http:", "127.0.0.1:PORT", "restaurants", "ID?env=…"]
        let base = "http://\(parts[1])"
        let tokenID = String(parts[3].split(separator: "?")[0])
        let server = TestServer(baseURL: base, dataDirectory: URL(fileURLWithPath: "/tmp"))
        let sessions =
            try await server.request(
                .GET, "/api/v1/sessions?token_id=\(tokenID)&env=prod",
                headers: [("Authorization", "Bearer \(key)")]
            ).json()["sessions"] as? [Any]
        #expect((sessions?.count ?? 0) >= 5)
    }
}
