import EmiliaClient
import EmiliaModel
import Foundation
import Testing

private func client(_ baseURL: String, waits: RecordedWaits, attempts: Int = 3, timeout: Duration = .seconds(5)) -> WebhookClient {
    WebhookClient(
        token: "3f6c1b9e-8a3d-4c2b-9f1e-2d7a5b8c0e41", baseURL: baseURL,
        retryPolicy: RetryPolicy(maximumAttempts: attempts), timeout: timeout,
        retry: RetryClock(sleep: { waits.record($0) }, random: { 0.5 }))
}

private let body = Data(#"{"event":"session_opened","order_id":"A1","table_number":"Mesa 1","timestamp":"2025-11-24T18:30:00-03:00"}"#.utf8)

@Suite("WebhookClient retries, checks and receipts", .timeLimit(.minutes(3)))
struct ClientRetryTests {
    @Test func serverErrorsAreRetriedWithBackoffAndOneIdempotencyKey() async throws {
        let server = ScriptedServer([.status(500), .status(503), .ok])
        let waits = RecordedWaits()
        let receipt = try await server.run { url in try await client(url, waits: waits).send(json: body) }
        #expect(receipt.attempts == 3)
        #expect(server.attempts.count == 3)
        #expect(Set(server.attempts.compactMap(\.idempotencyKey)).count == 1)
        // Full jitter with the dice at 0.5: half of 0.5 s, then half of 1 s.
        #expect(waits.all == [.milliseconds(250), .milliseconds(500)])
    }

    @Test func retryAfterIsObeyedUpToSixtySeconds() async throws {
        let server = ScriptedServer([.status(429, retryAfter: 7), .status(429, retryAfter: 600), .ok])
        let waits = RecordedWaits()
        _ = try await server.run { url in try await client(url, waits: waits).send(json: body) }
        #expect(waits.all == [.seconds(7), .seconds(60)])
    }

    @Test(arguments: [400, 401, 413, 404, 422])
    func clientErrorsAreNotRetried(status: Int) async throws {
        let server = ScriptedServer([.status(status), .ok])
        let waits = RecordedWaits()
        await #expect(throws: WebhookError.self) {
            try await server.run { url in try await client(url, waits: waits).send(json: body) }
        }
        #expect(server.attempts.count == 1)
        #expect(waits.all.isEmpty)
    }

    @Test func attemptsRunOutAndTheLastErrorIsReported() async throws {
        let server = ScriptedServer([.status(502), .status(502), .status(502), .ok])
        let waits = RecordedWaits()
        do {
            _ = try await server.run { url in try await client(url, waits: waits).send(json: body) }
            Issue.record("expected a failure")
        } catch let error as WebhookError {
            #expect(error.code == .status && error.status == 502)
            #expect(error.attempts == 3)
        }
        #expect(server.attempts.count == 3)
    }

    @Test func hangsTimeOutAndAreRetried() async throws {
        let server = ScriptedServer([.hang, .ok])
        let waits = RecordedWaits()
        // Long enough that the retry's answer arrives in time on a machine busy with the other suites.
        let receipt = try await server.run { url in try await client(url, waits: waits, timeout: .seconds(4)).send(json: body) }
        #expect(receipt.attempts == 2)
        #expect(waits.all.count == 1)
    }

    @Test func connectionErrorsAreRetried() async throws {
        let waits = RecordedWaits()
        do {
            _ = try await client("http://127.0.0.1:\(try closedPort())", waits: waits, timeout: .seconds(1)).send(json: body)
            Issue.record("expected a failure")
        } catch let error as WebhookError {
            #expect(error.isRetryable)
            #expect(error.attempts == 3)
            #expect(error.code == .connection, "expected a connection error, got \(error)")
        }
        #expect(waits.all.count == 2)
    }

    @Test func droppedConnectionsAreRetried() async throws {
        let waits = RecordedWaits()
        do {
            _ = try await DroppingServer.run { url in try await client(url, waits: waits, timeout: .seconds(2)).send(json: body) }
            Issue.record("expected a failure")
        } catch let error as WebhookError {
            #expect(error.isRetryable)
            #expect(error.attempts == 3)
        }
        #expect(waits.all.count == 2)
    }

    @Test func oversizedPayloadsAreRefusedBeforeSending() async throws {
        let server = ScriptedServer([])
        let waits = RecordedWaits()
        var big = Data(#"{"event":"items_added","pad":""#.utf8)
        big.append(Data(repeating: 0x61, count: 10 * 1024 * 1024))
        big.append(Data(#""}"#.utf8))
        do {
            _ = try await server.run { url in try await client(url, waits: waits).send(json: big) }
            Issue.record("expected a refusal")
        } catch let error as WebhookError {
            #expect(error.code == .rejectedBeforeSending)
        }
        #expect(server.attempts.isEmpty)
        #expect(PreflightCheck.run(body, timeZone: .gmt).warnings.map(\.code) == [.offsetMismatch])
    }

    @Test(arguments: Backend.allCases) func againstTheRealServerWithWarningsDuplicatesAndPromotion(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (_, token) = try await server.createToken()
            let dev = WebhookClient(token: token, environment: .dev, baseURL: server.baseURL)
            #expect(throws: WebhookError.self) { _ = try dev.promotedToProduction() }
            let receipt = try await dev.send(json: try Fixture.data("naive_timestamp.json"), idempotencyKey: "k-1")
            #expect(receipt.warnings.map(\.code) == [.naiveTimestamp])
            #expect(receipt.isDuplicate == false)
            let again = try await dev.send(json: try Fixture.data("naive_timestamp.json"), idempotencyKey: "k-1")
            #expect(again.isDuplicate && again.eventID == receipt.eventID)
            _ = try await dev.testConnection()
            let prod = try dev.promotedToProduction()
            #expect(prod.environment == .prod)
            let zone = TimeZone(identifier: "America/Sao_Paulo")!
            let opened = SessionOpened(
                orderID: "T-1", tableNumber: "Mesa 3", openedAt: Date(timeIntervalSince1970: 1_764_019_800),
                server: Employee(id: 7, name: "Ana"), guests: 2)
            let typed = try await prod.send(opened)
            #expect(typed.warnings.isEmpty)
            #expect(typed.environment == "prod")
            #expect(String(decoding: opened.encoded(in: zone), as: UTF8.self).contains(#""timestamp":"2025-11-24T18:30:00-03:00""#))
            let bad = WebhookClient(token: UUID().uuidString, baseURL: server.baseURL)
            await #expect(throws: WebhookError.self) { try await bad.send(json: body) }
        }
    }
}

@Suite("Monitor and batcher", .timeLimit(.minutes(3)))
struct MonitorAndBatcherTests {
    @Test func alertFiresOnceBelowNinetyFivePercentAfterAHundredSends() {
        let alerts = LogLines()
        let monitor = WebhookMonitor { stats in alerts.append("\(stats.sent)") }
        for index in 0..<99 {
            if index % 10 == 0 {
                monitor.recordFailure(WebhookError.status(500, detail: "", attempts: 1))
            } else {
                monitor.recordSuccess()
            }
        }
        #expect(alerts.all.isEmpty, "no alert before 100 sends")
        monitor.recordSuccess()
        #expect(alerts.all == ["100"])
        monitor.recordFailure(WebhookError(.timeout, detail: "", attempts: 1))
        #expect(alerts.all == ["100"], "one alert while it stays low")
        let stats = monitor.statistics
        #expect(stats.sent == 101 && stats.failed == 11 && stats.errors == ["500": 10, "timeout": 1])
        #expect(abs(stats.successRate - 90.0 / 101.0) < 1e-9)
    }

    @Test func itemsWithinTheWindowBecomeOneItemsAdded() {
        let batcher = ItemBatcher(window: 60)
        let start = Date(timeIntervalSince1970: 1_764_019_800)
        func item(_ name: String, _ offset: TimeInterval) -> OrderedItem {
            OrderedItem(orderedAt: start.addingTimeInterval(offset), employeeID: 1, name: name, price: Money(10))
        }
        #expect(batcher.add(item("Chopp", 0), orderID: "A", tableNumber: "Mesa 1", now: start).isEmpty)
        #expect(batcher.add(item("Pastel", 30), orderID: "A", tableNumber: "Mesa 1", now: start.addingTimeInterval(30)).isEmpty)
        #expect(batcher.add(item("Água", 40), orderID: "B", tableNumber: "Mesa 2", now: start.addingTimeInterval(40)).isEmpty)
        let due = batcher.flush(now: start.addingTimeInterval(61))
        #expect(due.count == 1)
        #expect(due.first?.orderID == "A")
        #expect(due.first?.items.map(\.name) == ["Chopp", "Pastel"])
        #expect(batcher.flushAll(now: start.addingTimeInterval(62)).map(\.orderID) == ["B"])
        #expect(batcher.flushAll(now: start.addingTimeInterval(63)).isEmpty)
    }
}

/// A loopback port nothing listens on: bound to learn a free number, then closed.
func closedPort() throws -> Int {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw TestFailure("no socket") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw TestFailure("could not bind a loopback port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
