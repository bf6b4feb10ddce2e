public import AsyncHTTPClient
public import EmiliaModel
public import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// What the server answered for an accepted event.
public struct Receipt: Sendable, Hashable {
    public var eventID: String
    public var isDuplicate: Bool
    public var warnings: [ValidationWarning]
    public var environment: String
    /// Attempts it took.
    public var attempts: Int
}

/// Every error answer's body: `{"detail": …}`.
private struct ErrorAnswer: Decodable {
    let detail: String
}

/// A send that did not end in a 200.
public struct WebhookError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure: compare with `==` (new codes may come; a switch needs a `default`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case status
            case timeout
            case connection
            case tls
            case notEmilia = "not_emilia"
            case rejectedBeforeSending = "rejected_before_sending"
            case notTestedInDev = "not_tested_in_dev"
        }

        private let value: Value

        /// The server answered with a status other than 200 (in `status`).
        public static let status = Code(value: .status)
        /// No answer within the timeout.
        public static let timeout = Code(value: .timeout)
        /// The connection failed or dropped.
        public static let connection = Code(value: .connection)
        /// The TLS handshake failed, most often a certificate this client does not trust: retrying cannot help.
        public static let tls = Code(value: .tls)
        /// A 200 that is not Emilia's answer (the URL reaches something else): retrying cannot help.
        public static let notEmilia = Code(value: .notEmilia)
        /// Checked before sending: it would be refused (e.g. over 10 MiB).
        public static let rejectedBeforeSending = Code(value: .rejectedBeforeSending)
        /// `promotedToProduction()` before a dev connection test passed.
        public static let notTestedInDev = Code(value: .notTestedInDev)

        /// A stable name: `status`, `timeout`, `not_emilia`…
        public var description: String { value.rawValue }
    }

    public var code: Code
    /// The HTTP status, when the server answered (`code == .status`).
    public var status: Int?
    /// The server's `detail`, or what went wrong.
    public var detail: String
    public var attempts: Int
    /// The server's `Retry-After`, when it sent one.
    public var retryAfterSeconds: Int?

    public init(_ code: Code, detail: String, attempts: Int) {
        self.code = code
        self.detail = detail
        self.attempts = attempts
    }

    /// The server answered `status` with `detail`.
    public static func status(_ status: Int, detail: String, attempts: Int, retryAfterSeconds: Int? = nil) -> WebhookError {
        var error = WebhookError(.status, detail: detail, attempts: attempts)
        error.status = status
        error.retryAfterSeconds = retryAfterSeconds
        return error
    }

    /// True when another attempt later may succeed: 408, 429 and 5xx, timeouts and connection errors.
    public var isRetryable: Bool {
        if let status { return RetryPolicy.isRetryable(status: status) }
        return code == .timeout || code == .connection
    }

    public var description: String {
        switch code {
        case .status: return "HTTP \(status ?? 0): \(detail)"
        case .timeout: return "timeout: \(detail)"
        case .connection: return "connection error: \(detail)"
        case .tls: return "TLS failed: \(detail)"
        case .notEmilia: return "not Emilia: \(detail)"
        case .rejectedBeforeSending: return "not sent: \(detail)"
        default: return detail
        }
    }
}

/// Sends webhooks to Emilia for one restaurant token: checks before sending, retries what is worth retrying
/// with the same idempotency key, and reuses one HTTP client (and its connections) for every call.
public final class WebhookClient: Sendable {
    public let token: String
    public let environment: DeploymentEnvironment
    public let baseURL: String
    public let timeZone: TimeZone
    public let retryPolicy: RetryPolicy
    public let timeout: Duration
    let retry: RetryClock
    let http: HTTPClient
    private let devTestPassed: Mutex<Bool>

    /// - Parameters:
    ///   - baseURL: e.g. `http://127.0.0.1:8080`.
    ///   - timeZone: the restaurant's zone, for checks before sending.
    public init(
        token: String, environment: DeploymentEnvironment = .dev, baseURL: String,
        timeZone: TimeZone = TimeZone(identifier: "America/Sao_Paulo")!, retryPolicy: RetryPolicy = RetryPolicy(),
        timeout: Duration = .seconds(30), retry: RetryClock = .live, http: HTTPClient = .shared
    ) {
        self.token = token
        self.environment = environment
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.timeZone = timeZone
        self.retryPolicy = retryPolicy
        self.timeout = timeout
        self.retry = retry
        self.http = http
        devTestPassed = Mutex(false)
    }

    /// The webhook URL this client posts to.
    public var url: String { "\(baseURL)/webhooks/v1/pos/\(token)?env=\(environment.rawValue)" }

    /// Sends a typed payload.
    @discardableResult
    public func send(_ payload: some WebhookPayload, idempotencyKey: String = UUID().uuidString) async throws -> Receipt {
        try await send(json: payload.encoded(in: timeZone), idempotencyKey: idempotencyKey)
    }

    /// Sends raw JSON bytes, retrying per the policy with the same idempotency key every time.
    @discardableResult
    public func send(json body: Data, idempotencyKey: String = UUID().uuidString) async throws -> Receipt {
        let check = PreflightCheck.run(body, timeZone: timeZone)
        if let refusal = check.refusal { throw WebhookError(.rejectedBeforeSending, detail: refusal, attempts: 0) }
        var attempt = 1
        while true {
            do {
                var receipt = try await sendOnce(body, idempotencyKey: idempotencyKey, attempt: attempt)
                receipt.attempts = attempt
                return receipt
            } catch let error as WebhookError where error.isRetryable && attempt < retryPolicy.maximumAttempts {
                try await retry.sleep(
                    retryPolicy.delay(
                        afterAttempt: attempt, random: retry.random(),
                        retryAfterSeconds: error.retryAfterSeconds))
                attempt += 1
            }
        }
    }

    /// One attempt, no retry (the outbox schedules its own).
    public func sendOnce(_ body: Data, idempotencyKey: String, attempt: Int = 1) async throws -> Receipt {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: idempotencyKey)
        request.headers.add(name: "User-Agent", value: "EmiliaClient/1")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await http.execute(
                request,
                timeout: .nanoseconds(
                    Int64(timeout.components.seconds) * 1_000_000_000
                        + timeout.components.attoseconds / 1_000_000_000))
            answer = try await response.body.collect(upTo: 1024 * 1024)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw WebhookError(.timeout, detail: "no answer within \(timeout)", attempts: attempt)
        } catch let error as WebhookError {
            throw error
        } catch let error as NIOSSLError {
            throw WebhookError(
                .tls, detail: "\(error): for a self-signed or private certificate, trust its CA file (--ca-file)", attempts: attempt)
        } catch {
            throw WebhookError(.connection, detail: String(describing: error), attempts: attempt)
        }
        guard response.status == .ok else {
            let detail = try? JSONDecoder().decode(ErrorAnswer.self, from: Data(answer.readableBytesView)).detail
            throw WebhookError.status(
                Int(response.status.code), detail: detail ?? response.status.reasonPhrase, attempts: attempt,
                retryAfterSeconds: response.headers.first(name: "Retry-After").flatMap(Int.init))
        }
        guard let receipt = try? JSONDecoder().decode(IngestAnswer.self, from: Data(answer.readableBytesView)) else {
            throw WebhookError(
                .notEmilia, detail: "200 without an ingest answer: \(String(buffer: answer).prefix(200))",
                attempts: attempt)
        }
        return Receipt(
            eventID: receipt.eventID, isDuplicate: receipt.isDuplicate, warnings: receipt.warnings,
            environment: receipt.env, attempts: attempt)
    }

    /// Posts a `connection_test` event; in dev, a pass allows `promotedToProduction()`.
    @discardableResult
    public func testConnection() async throws -> Receipt {
        let now = Date()
        let body = JSONValue.object([
            ("event", .string("connection_test")),
            ("timestamp", .string(Timestamp.format(now, offsetSeconds: timeZone.secondsFromGMT(for: now), utcAsZ: false))),
        ]).jsonText
        let receipt = try await send(json: Data(body.utf8))
        if environment == .dev { devTestPassed.withLock { $0 = true } }
        return receipt
    }

    /// The same client for prod, allowed only after a dev connection test passed.
    public func promotedToProduction() throws -> WebhookClient {
        guard environment == .prod || devTestPassed.withLock({ $0 }) else {
            throw WebhookError(.notTestedInDev, detail: "run testConnection() in dev before sending to prod", attempts: 0)
        }
        return WebhookClient(
            token: token, environment: .prod, baseURL: baseURL, timeZone: timeZone, retryPolicy: retryPolicy,
            timeout: timeout, retry: retry, http: http)
    }
}

/// The checks a client runs before sending: the same validator as the server, and the real encoded size.
public enum PreflightCheck {
    /// The server's limit.
    public static let maximumBytes = 10 * 1024 * 1024

    public struct Result: Sendable {
        /// Why it must not be sent (too large, not JSON), or nil.
        public var refusal: String?
        /// What the server will warn about.
        public var warnings: [ValidationWarning]
    }

    public static func run(_ body: Data, timeZone: TimeZone) -> Result {
        guard body.count <= maximumBytes else {
            return Result(refusal: "payload is \(body.count) bytes encoded; the limit is \(maximumBytes) (10 MiB)", warnings: [])
        }
        do {
            let document = try JSONParser.parse(body)
            return Result(
                refusal: nil, warnings: PayloadValidator.validate(document, context: ValidationContext(timeZone: timeZone)).warnings)
        } catch {
            return Result(refusal: "not JSON: \(error)", warnings: [])
        }
    }
}
