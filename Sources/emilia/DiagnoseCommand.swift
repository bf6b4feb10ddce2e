import ArgumentParser
import AsyncHTTPClient
import EmiliaClient
import EmiliaModel
import Foundation
import NIOCore
import NIOHTTP1

/// `emilia diagnose TOKEN`: checks an integration end to end and says what to do about each failure.
struct DiagnoseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diagnose", abstract: "Check a token and a server end to end.")
    @Argument(help: "The restaurant's webhook token.") var token: String
    @Option(help: "The server's base URL.") var url = "http://127.0.0.1:8080"
    @Flag(help: "Also post one test event to prod.") var prod = false
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Posts for the latency figures.") var samples = 10
    @Option(help: "A PEM CA certificate to trust, for an HTTPS server with a self-signed certificate.") var caFile: String?

    struct Check: Sendable {
        var name: String
        var ok: Bool
        var detail: String
        var nextStep: String?
    }

    func run() async throws {
        let (checks, latencies) = try await HTTPClient.withWebhookHTTPClient(trustingCAFile: caFile) { http in await diagnose(http: http) }
        report(checks, latencies: latencies.sorted())
        if checks.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }

    /// Every check, and the latencies of the sample posts in milliseconds.
    func diagnose(http: HTTPClient) async -> ([Check], [Double]) {
        var checks: [Check] = []
        var latencies: [Double] = []
        if let problem = TokenFormat.problem(with: token) {
            checks.append(
                Check(
                    name: "token format", ok: false, detail: problem,
                    nextStep:
                        "Copy the whole token (36 characters, e.g. 3f6c1b9e-8a3d-4c2b-9f1e-2d7a5b8c0e41) from when it was created, or rotate it to get a new one."
                ))
        } else {
            checks.append(Check(name: "token format", ok: true, detail: "a full 36-character UUID", nextStep: nil))
        }
        checks.append(await health(http: http))
        if checks[0].ok {
            let dev = WebhookClient(
                token: token, environment: .dev, baseURL: url, retryPolicy: RetryPolicy(maximumAttempts: 1),
                timeout: .seconds(10), http: http)
            let small = Data(#"{"event":"diagnostic_test","timestamp":"\#(Self.now())","note":"emilia diagnose"}"#.utf8)
            checks.append(await post("dev post (\(small.count) bytes)", small, client: dev))
            let large = Self.largePayload()
            checks.append(await post("dev post with 100 items (\(large.count) bytes)", large, client: dev))
            if checks.last?.ok == true {
                for _ in 0..<max(1, samples) {
                    let started = ContinuousClock.now
                    if (try? await dev.sendOnce(small, idempotencyKey: UUID().uuidString)) != nil {
                        let elapsed = ContinuousClock.now - started
                        latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                    }
                }
            }
            if prod {
                let production = WebhookClient(
                    token: token, environment: .prod, baseURL: url, retryPolicy: RetryPolicy(maximumAttempts: 1),
                    http: http)
                checks.append(await post("prod post", small, client: production))
            }
        }
        return (checks, latencies)
    }

    func health(http: HTTPClient) async -> Check {
        do {
            let response = try await http.execute(HTTPClientRequest(url: url + "/health"), timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 65536)
            let text = String(buffer: body)
            if response.status == .ok { return Check(name: "server health", ok: true, detail: text, nextStep: nil) }
            return Check(
                name: "server health", ok: false, detail: "HTTP \(response.status.code): \(text)",
                nextStep: "The server is up but its storage is not: check its disk and logs.")
        } catch {
            return Check(
                name: "server health", ok: false, detail: "\(error)",
                nextStep: "Nothing answers at \(url): check the URL, that the server runs, and any firewall in between.")
        }
    }

    func post(_ name: String, _ body: Data, client: WebhookClient) async -> Check {
        do {
            let receipt = try await client.send(json: body)
            if receipt.warnings.isEmpty { return Check(name: name, ok: true, detail: "200, event \(receipt.eventID)", nextStep: nil) }
            let codes = receipt.warnings.map(\.code.rawValue).joined(separator: ", ")
            return Check(
                name: name, ok: true, detail: "200 with warnings: \(codes)",
                nextStep: receipt.warnings.map { "\($0.code.rawValue): \($0.code.remedy)" }.joined(separator: " "))
        } catch let error as WebhookError {
            return Check(name: name, ok: false, detail: error.description, nextStep: Self.nextStep(for: error))
        } catch {
            return Check(name: name, ok: false, detail: "\(error)", nextStep: nil)
        }
    }

    static func nextStep(for error: WebhookError) -> String {
        switch error.kind {
        case .status(401):
            return
                "The token is unknown or inactive: check it is the whole token, in the URL path (not a header), and active (emilia token list)."
        case .status(400): return "The server refused the body: \(error.detail). Run emilia lint on the payload."
        case .status(413): return "The payload is over 10 MiB: send items in batches (items_added) instead of one huge event."
        case .status(429): return "Too many requests for this token: slow down or batch items; the client retries after Retry-After."
        case .status(let status) where status >= 500:
            return "The server failed (\(status)): retry later; the outbox does this for you. Check the server's /health and logs."
        case .status: return "Unexpected answer: \(error.detail)"
        case .timeout: return "No answer in time: check the network path and the server's load."
        case .connection: return "Could not connect: check the URL, DNS and firewall."
        case .notEmilia: return "Something other than Emilia answers at this URL: check the base URL (and any proxy in front)."
        case .tls: return "The TLS handshake failed: for a self-signed or private certificate, pass its CA file with --ca-file."
        case .rejectedBeforeSending, .notTestedInDev: return error.detail
        }
    }

    func report(_ checks: [Check], latencies: [Double]) {
        let latency: (min: Double, median: Double, p95: Double)? =
            latencies.isEmpty
            ? nil
            : (latencies[0], latencies[latencies.count / 2], latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.95))])
        if json {
            let items = checks.map { check in
                "{\"name\":\(JSONText.quoted(check.name)),\"ok\":\(check.ok),\"detail\":\(JSONText.quoted(check.detail)),\"next_step\":\(check.nextStep.map(JSONText.quoted) ?? "null")}"
            }.joined(separator: ",")
            let latencyJSON =
                latency.map {
                    "{\"min\":\(Self.ms($0.min)),\"median\":\(Self.ms($0.median)),\"p95\":\(Self.ms($0.p95)),\"samples\":\(latencies.count)}"
                } ?? "null"
            Console.line("{\"ok\":\(!checks.contains { !$0.ok }),\"checks\":[\(items)],\"latency_ms\":\(latencyJSON)}")
            return
        }
        for check in checks {
            Console.line("\(check.ok ? "✓" : "✗") \(check.name): \(check.detail)")
            if let next = check.nextStep { Console.line("    → \(next)") }
        }
        if let latency {
            Console.line(
                "latency over \(latencies.count) posts: min \(Self.ms(latency.min)) ms, median \(Self.ms(latency.median)) ms, p95 \(Self.ms(latency.p95)) ms"
            )
        }
        Console.line(
            checks.contains { !$0.ok }
                ? "Some checks failed: fix the first ✗ above, then run this again."
                : "All checks passed. Next: send real events to dev, then switch to env=prod.")
    }

    static func ms(_ value: Double) -> String { String((value * 10).rounded() / 10) }

    static func now() -> String {
        let zone = TimeZone(identifier: "America/Sao_Paulo")!
        return Timestamp.format(Date(), offsetSeconds: zone.secondsFromGMT(for: Date()), utcAsZ: false)
    }

    /// A `session_complete` of 100 items, about the largest a busy table sends.
    static func largePayload() -> Data {
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
