public import AsyncHTTPClient
import EmiliaModel
import Foundation
import NIOCore
import NIOHTTP1

/// An integration checked end to end, as `emilia diagnose` runs it: the token's shape, the server's health, posts
/// to dev (small and large), latency samples, and optionally one post to prod. Each failed check says what to do.
public struct IntegrationDiagnosis: Sendable, Encodable {
    /// One check: what was tried, whether it passed, what was seen, and what to do next.
    public struct Check: Sendable, Encodable {
        public var name: String
        public var passed: Bool
        public var detail: String
        public var nextStep: String?

        enum CodingKeys: String, CodingKey {
            case name
            case passed = "ok"
            case detail
            case nextStep = "next_step"
        }
    }

    /// The sample posts' round trips, in milliseconds to a tenth.
    public struct Latency: Sendable, Encodable {
        public var min: Double
        public var median: Double
        public var p95: Double
        public var samples: Int
    }

    /// True when every check passed.
    public let passed: Bool
    public let checks: [Check]
    /// Left out when no sample post went through.
    public let latency: Latency?

    enum CodingKeys: String, CodingKey {
        case passed = "ok"
        case checks
        case latency = "latency_ms"
    }

    init(checks: [Check], latency: Latency?) {
        passed = checks.allSatisfy(\.passed)
        self.checks = checks
        self.latency = latency
    }

    /// Runs every check against `baseURL` with `token`; `samples` dev posts measure the latency.
    public static func run(token: String, baseURL: String, includeProd: Bool, samples: Int, http: HTTPClient) async -> Self {
        var checks: [Check] = []
        var latencies: [Double] = []
        if let problem = TokenFormat.problem(with: token) {
            checks.append(
                Check(
                    name: "token format", passed: false, detail: problem,
                    nextStep:
                        "Copy the whole token (36 characters, e.g. 3f6c1b9e-8a3d-4c2b-9f1e-2d7a5b8c0e41) from when it was created, or rotate it to get a new one."
                ))
        } else {
            checks.append(Check(name: "token format", passed: true, detail: "a full 36-character UUID", nextStep: nil))
        }
        checks.append(await health(baseURL: baseURL, http: http))
        if checks[0].passed {
            let dev = WebhookClient(
                token: token, environment: .dev, baseURL: baseURL, retryPolicy: RetryPolicy(maximumAttempts: 1),
                timeout: .seconds(10), http: http)
            let small = Data(
                JSONValue.object([
                    ("event", .string("diagnostic_test")), ("timestamp", .string(now())), ("note", .string("emilia diagnose")),
                ]).jsonText.utf8)
            checks.append(await post("dev post (\(small.count) bytes)", small, client: dev))
            let large = largePayload()
            checks.append(await post("dev post with 100 items (\(large.count) bytes)", large, client: dev))
            if checks.last?.passed == true {
                for _ in 0..<max(1, samples) {
                    let started = ContinuousClock.now
                    if (try? await dev.sendOnce(small, idempotencyKey: UUID().uuidString)) != nil {
                        let elapsed = ContinuousClock.now - started
                        latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                    }
                }
            }
            if includeProd {
                let production = WebhookClient(
                    token: token, environment: .prod, baseURL: baseURL, retryPolicy: RetryPolicy(maximumAttempts: 1), http: http)
                checks.append(await post("prod post", small, client: production))
            }
        }
        return IntegrationDiagnosis(checks: checks, latency: latency(of: latencies.sorted()))
    }

    /// What to do about a send that failed this way.
    public static func nextStep(for error: WebhookError) -> String {
        switch (error.code, error.status) {
        case (_, 401?):
            return
                "The token is unknown or inactive: check it is the whole token, in the URL path (not a header), and active (emilia token list)."
        case (_, 400?): return "The server refused the body: \(error.detail). Run emilia lint on the payload."
        case (_, 413?): return "The payload is over 10 MiB: send items in batches (items_added) instead of one huge event."
        case (_, 429?): return "Too many requests for this token: slow down or batch items; the client retries after Retry-After."
        case (_, let status?) where status >= 500:
            return "The server failed (\(status)): retry later; the outbox does this for you. Check the server's /health and logs."
        case (.status, _): return "Unexpected answer: \(error.detail)"
        case (.timeout, _): return "No answer in time: check the network path and the server's load."
        case (.connection, _): return "Could not connect: check the URL, DNS and firewall."
        case (.notEmilia, _): return "Something other than Emilia answers at this URL: check the base URL (and any proxy in front)."
        case (.tls, _): return "The TLS handshake failed: for a self-signed or private certificate, pass its CA file with --ca-file."
        default: return error.detail
        }
    }

    private static func health(baseURL: String, http: HTTPClient) async -> Check {
        do {
            let response = try await http.execute(HTTPClientRequest(url: baseURL + "/health"), timeout: .seconds(10))
            let text = String(buffer: try await response.body.collect(upTo: 65536))
            if response.status == .ok { return Check(name: "server health", passed: true, detail: text, nextStep: nil) }
            return Check(
                name: "server health", passed: false, detail: "HTTP \(response.status.code): \(text)",
                nextStep: "The server is up but its storage is not: check its disk and logs.")
        } catch {
            return Check(
                name: "server health", passed: false, detail: "\(error)",
                nextStep: "Nothing answers at \(baseURL): check the URL, that the server runs, and any firewall in between.")
        }
    }

    private static func post(_ name: String, _ body: Data, client: WebhookClient) async -> Check {
        do {
            let receipt = try await client.send(json: body)
            if receipt.warnings.isEmpty { return Check(name: name, passed: true, detail: "200, event \(receipt.eventID)", nextStep: nil) }
            let codes = receipt.warnings.map(\.code.rawValue).joined(separator: ", ")
            return Check(
                name: name, passed: true, detail: "200 with warnings: \(codes)",
                nextStep: receipt.warnings.map { "\($0.code.rawValue): \($0.code.remedy)" }.joined(separator: " "))
        } catch let error as WebhookError {
            return Check(name: name, passed: false, detail: error.description, nextStep: nextStep(for: error))
        } catch {
            return Check(name: name, passed: false, detail: "\(error)", nextStep: nil)
        }
    }

    private static func latency(of sorted: [Double]) -> Latency? {
        guard !sorted.isEmpty else { return nil }
        func tenth(_ value: Double) -> Double { (value * 10).rounded() / 10 }
        return Latency(
            min: tenth(sorted[0]), median: tenth(sorted[sorted.count / 2]),
            p95: tenth(sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.95))]), samples: sorted.count)
    }

    private static func now() -> String {
        let zone = TimeZone(identifier: "America/Sao_Paulo")!
        return Timestamp.format(Date(), offsetSeconds: zone.secondsFromGMT(for: Date()), utcAsZ: false)
    }

    /// A `session_complete` of 100 items, about the largest a busy table sends.
    private static func largePayload() -> Data {
        let zone = TimeZone(identifier: "America/Sao_Paulo")!
        let opened = Date().addingTimeInterval(-7200)
        let items = (0..<100).map { index in
            OrderedItem(orderedAt: opened.addingTimeInterval(Double(index) * 60), employeeID: 72, name: "Item \(index)", price: Money(10))
        }
        let waiter = Employee(id: 72, name: "Diagnose")
        return SessionComplete(
            orderID: "DIAG-\(UUID().uuidString.prefix(8))", tableNumber: "Mesa 1", openedAt: opened, closedAt: Date(),
            openedBy: waiter, closedBy: waiter, items: items, tip: Money(100), tax: Money(80)
        ).encoded(in: zone)
    }
}
