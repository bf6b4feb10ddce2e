import AsyncHTTPClient
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import Testing

/// One POS bug must never crash, brick or stall the server: huge amounts, a fold that fails, a huge event.
@Suite("Poison events", .timeLimit(.minutes(3)))
struct PoisonEventTests {
    static let adminKey = "poison-test-admin-key-0123456789"

    @Test(.timeLimit(.minutes(3)))
    func anAmountBeyondWhatEmiliaCanAddUpIsAWarningNotACrash() async throws {
        try await TestServer.with { server in
            let (id, token) = try await server.createToken()
            let subtotal = try await server.post(
                token: token,
                body: Data(
                    #"{"event":"session_complete","order_id":"A","table_number":"Mesa 1","timestamp":"2025-11-24T20:00:00-03:00","totals":{"subtotal":922337203685477.58076,"tip":1,"tax":1,"total":2}}"#
                        .utf8))
            #expect(subtotal.status == 200)
            #expect(try subtotal.warningCodes() == ["amount_out_of_range"])
            let product = try await server.post(
                token: token,
                body: Data(
                    #"{"event":"items_added","order_id":"A","table_number":"Mesa 1","timestamp":"2025-11-24T20:00:00-03:00","items":[{"timestamp":"2025-11-24T20:00:00-03:00","employee_id":1,"name":"X","quantity":"0.0001","price":"922337203685477.5807"}]}"#
                        .utf8))
            #expect(product.status == 200)
            #expect(try product.warningCodes() == ["amount_out_of_range"])
            // Two totals each within range whose sum would wrap: the day's analytics and page still answer.
            for order in ["B", "C"] {
                let answer = try await server.post(
                    token: token, env: "prod",
                    body: Data(
                        #"{"event":"session_complete","order_id":"\#(order)","table_number":"Mesa 1","timestamp":"2025-11-24T20:00:00-03:00","session_start":"2025-11-24T19:00:00-03:00","totals":{"total":999999999999.99}}"#
                            .utf8))
                #expect(answer.status == 200)
            }
            let analytics = try await server.request(.GET, "/api/v1/analytics?token_id=\(id)&env=prod&date=2025-11-24", admin: true)
            #expect(analytics.status == 200)
            #expect(analytics.text.contains("1999999999999.98"))
            #expect(try await server.request(.GET, "/health").status == 200)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aStoredPoisonEventDoesNotBrickTheServerAfterACrash() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, token) = try await EmiliaProcess.createToken(named: "Poison", in: directory)
        let environment = ["EMILIA_ADMIN_KEY": Self.adminKey]
        let server = try EmiliaProcess(["serve", "--port", "0", "--data-dir", directory.path], environment: environment)
        let baseURL = try await server.waitForListening()
        // The validator never reads a top-level `total` when `totals` is absent; the fold does.
        let poison = try await post(
            baseURL, token: token, #"{"event":"session_complete","order_id":"P","table_number":"Mesa 1","total":"922337203685477.58076"}"#)
        #expect(poison == 200)
        server.kill()
        let restarted = try EmiliaProcess(["serve", "--port", "0", "--data-dir", directory.path], environment: environment)
        defer { restarted.kill() }
        let again = try await restarted.waitForListening()
        #expect(try await HTTPClient.shared.execute(HTTPClientRequest(url: again + "/health"), timeout: .seconds(10)).status == .ok)
        #expect(try await post(again, token: token, #"{"event":"session_opened","order_id":"Q","table_number":"Mesa 2"}"#) == 200)
        #expect(restarted.process.isRunning)
    }

    @Test(.timeLimit(.minutes(3)))
    func anOrderWhoseFoldFailsIsKeptWithTheReasonAndTheOthersFold() async throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("emilia.sqlite3").path
        let tokenID = try await TestServer.with(dataDirectory: directory) { server in
            let (id, token) = try await server.createToken()
            // A deterministic failure for one order, as a corrupt row or a constraint would give.
            try await DatabaseQueue(path: database).write { db in
                try db.execute(
                    sql: """
                        CREATE TRIGGER poison BEFORE INSERT ON sessions WHEN NEW.order_id = 'POISON'
                        BEGIN SELECT RAISE(ABORT, 'poisoned order'); END
                        """)
            }
            for order in ["OK-1", "POISON", "OK-2"] {
                let answer = try await server.post(
                    token: token, env: "prod",
                    body: Data(
                        #"{"event":"session_opened","order_id":"\#(order)","table_number":"Mesa 3","timestamp":"2025-11-24T19:00:00-03:00"}"#
                            .utf8))
                #expect(answer.status == 200)
            }
            let sessions = try await server.request(.GET, "/api/v1/sessions?token_id=\(id)&env=prod&date=2025-11-24", admin: true).json()
            let orders = (sessions["sessions"] as? [[String: Any]] ?? []).compactMap { $0["order_id"] as? String }
            #expect(orders.sorted() == ["OK-1", "OK-2"])
            let quality = try await server.request(.GET, "/api/v1/analytics?token_id=\(id)&env=prod&date=2025-11-24", admin: true).json()
            let dataQuality = try #require(quality["data_quality"] as? [String: Any])
            #expect(dataQuality["unfolded_events"] as? Int == 1)
            #expect((dataQuality["unfolded_reason"] as? String)?.contains("poisoned order") == true)
            let metrics = try await server.request(.GET, "/metrics").text
            #expect(metrics.split(separator: "\n").contains("emilia_fold_failures_total 1"))
            #expect(try await server.request(.GET, "/health").status == 200)
            return id
        }
        // A rebuild with the fault still there keeps going and reports it; once the fault is gone, it folds the order.
        let (failedStatus, _) = try await EmiliaProcess.run(["projection", "rebuild", "--data-dir", directory.path])
        #expect(failedStatus == 0)
        try await DatabaseQueue(path: database).write { db in try db.execute(sql: "DROP TRIGGER poison") }
        let (status, _) = try await EmiliaProcess.run(["projection", "rebuild", "--data-dir", directory.path])
        #expect(status == 0)
        try await TestServer.with(dataDirectory: directory) { server in
            let session = try await server.request(.GET, "/api/v1/sessions/POISON?token_id=\(tokenID)&env=prod", admin: true)
            #expect(session.status == 200)
            let quality = try await server.request(.GET, "/api/v1/analytics?token_id=\(tokenID)&env=prod&date=2025-11-24", admin: true)
                .json()
            #expect((quality["data_quality"] as? [String: Any])?["unfolded_events"] as? Int == 0)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aSessionEndingInTheYear9999CostsTheDayPageNothing() async throws {
        try await TestServer.with { server in
            let (id, token) = try await server.createToken()
            let zone = TimeZone(identifier: "America/Sao_Paulo")!
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let today = calendar.dateComponents([.year, .month, .day], from: Date())
            let date = String(format: "%04d-%02d-%02d", today.year!, today.month!, today.day!)
            let answer = try await server.post(
                token: token, env: "prod",
                body: Data(
                    #"{"event":"session_complete","order_id":"Y9999","table_number":"Mesa 1","timestamp":"\#(date)T00:30:00-03:00","session_start":"\#(date)T00:00:00-03:00","session_end":"9999-12-31T23:00:00-03:00","total":10}"#
                        .utf8))
            #expect(Set(try answer.warningCodes()) == ["timestamp_out_of_range", "session_too_long"])
            let cookie = try await server.signIn()
            // Before the clamp this page looped over every hour to 9999: gigabytes, minutes. Now it is the size of any day.
            let page = try await server.request(.GET, "/restaurants/\(id)?env=prod&date=\(date)", headers: [("Cookie", cookie)])
            #expect(page.status == 200)
            #expect(page.body.count < 100_000)
            #expect(page.text.contains("data-session=\"Y9999\""))
        }
    }

    private func post(_ baseURL: String, token: String, _ json: String) async throws -> Int {
        var request = HTTPClientRequest(url: "\(baseURL)/webhooks/v1/pos/\(token)?env=prod")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code)
    }
}
