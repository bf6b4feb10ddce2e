import EmiliaModel
import EmiliaStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `POST /webhooks/v1/pos/{token}?env=dev|prod`: CONTRACT.md §1, every status and body.
struct IngestController: Sendable {
    let store: any EventStore
    let configuration: ServerConfiguration
    let rateLimiter: RateLimiter
    let metrics: ServerMetrics
    let timeZones = TimeZoneCache()

    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!
    static let path = "/webhooks/v1/pos"

    func addRoutes(to router: Router<EmiliaRequestContext>) {
        router.post("\(Self.path)/:token", use: receive)
        router.post(RouterPath(Self.path), use: missingToken)
        for method in [HTTPRequest.Method.get, .put, .delete, .patch, .head] {
            router.on("\(Self.path)/:token", method: method) { _, _ -> Response in
                throw APIError(.methodNotAllowed, "Method not allowed: use POST", headers: [.allow: "POST"])
            }
        }
    }

    @Sendable func missingToken(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        var hint = "put the token in the path: POST /webhooks/v1/pos/{token}?env=dev"
        if let authorization = request.headers[.authorization], authorization.lowercased().hasPrefix("bearer ") {
            hint = "the token goes in the URL path, not in the Authorization header: POST /webhooks/v1/pos/{token}"
        }
        throw APIError(.unauthorized, APIError.invalidToken, hint: hint)
    }

    @Sendable func receive(_ request: Request, context: EmiliaRequestContext) async throws -> Response {
        let clearToken = context.parameters.get("token") ?? ""
        if let problem = TokenFormat.problem(with: clearToken) {
            throw APIError(.unauthorized, APIError.invalidToken, hint: problem)
        }
        let token: TokenRecord
        do {
            guard let found = try await store.activeToken(matching: clearToken) else {
                throw APIError(.unauthorized, APIError.invalidToken)
            }
            token = found
        } catch let error as StoreError {
            throw APIError.from(error)
        }
        let reject = Rejecter(store: store, metrics: metrics, token: token, requestID: context.requestID, logger: context.logger)

        var environment = DeploymentEnvironment.prod
        if let value = request.uri.queryParameters.get("env") {
            guard let parsed = DeploymentEnvironment(queryValue: value) else {
                throw reject(.badRequest, "Unknown env '\(value)': use 'dev' or 'prod'", reason: "unknown_env", env: nil)
            }
            environment = parsed
        }
        if let wait = rateLimiter.acquire(token.id) {
            throw reject(.tooManyRequests, "Rate limit exceeded: \(Int(configuration.rateLimitPerSecond)) requests/s per token",
                         reason: "rate_limited", env: environment, headers: [.retryAfter: String(wait)])
        }
        let tooLarge = "Payload too large. Max size: \(Self.sizeText(configuration.maximumBodyBytes))"
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maximumBodyBytes {
            throw reject(.contentTooLarge, tooLarge, reason: "too_large", env: environment)
        }

        let body: ByteBuffer
        switch try await BodyReader.read(request.body, limit: configuration.maximumBodyBytes) {
        case .complete(let buffer): body = buffer
        case .tooLarge: throw reject(.contentTooLarge, tooLarge, reason: "too_large", env: environment)
        case .timedOut:
            let timedOut = BodyDeadlineHandler.BodyTimedOut(timeout: configuration.bodyTimeout)
            throw reject(.requestTimeout, timedOut.detail, reason: "timeout", env: environment, headers: timedOut.headers)
        }

        let document: JSONValue
        do {
            document = try body.withUnsafeReadableBytes { raw throws(JSONSyntaxError) in
                try JSONParser.parse(buffer: raw.assumingMemoryBound(to: UInt8.self))
            }
        } catch {
            throw reject(.badRequest, "Invalid JSON: \(error)", reason: "invalid_json", env: environment, body: body)
        }

        let contentType = request.headers[.contentType]
        let validation = ValidationContext(
            timeZone: timeZones.zone(named: token.timeZone),
            tableStyle: token.tableStyle.map(TableNamingStyle.init(pattern:)),
            contentTypeIsJSON: contentType.map(Self.isJSONContentType) ?? false)
        let report = PayloadValidator.validate(document, context: validation)

        let bodyData = Data(buffer: body, byteTransferStrategy: .copy)
        let deduplicationKey: String
        if let key = request.headers[Self.idempotencyKeyHeader], !key.isEmpty {
            deduplicationKey = "key:" + key.prefix(256)
        } else if context.requestIDWasSent {
            deduplicationKey = "rid:" + context.requestID
        } else {
            deduplicationKey = "sha256:" + TokenSecrets.hexDigest(bodyData)
        }
        var styleToLearn: String?
        if token.tableStyle == nil, !report.summary.kind.isTest, let table = report.summary.tableNumber {
            styleToLearn = TableNamingStyle(tableName: table)?.pattern
        }
        var event = IncomingEvent(
            tokenID: token.id, environment: environment, deduplicationKey: deduplicationKey, body: bodyData,
            summary: report.summary, warnings: report.warnings, requestID: context.requestID,
            contentType: contentType, tableStyleToLearn: styleToLearn)
        event.timeZone = token.timeZone
        event.document = document

        let receipt: AppendReceipt
        do {
            receipt = try await store.append(event)
        } catch {
            context.logger.error("Event not stored", metadata: ["token_prefix": .string(token.prefix), "error": "\(error)"])
            throw APIError.storageUnavailable()
        }
        let answer = "{\"status\":\"received\",\"event_id\":\"\(receipt.eventID)\",\"received_at\":\"\(Timestamp.formatUTC(receipt.receivedAt))\",\"env\":\"\(environment.rawValue)\",\"duplicate\":\(receipt.duplicate),\"warnings\":\(receipt.warningsJSON)}"
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: answer)))
    }

    /// `10MB` for 10 MiB, `64KB` for 64 KiB.
    static func sizeText(_ bytes: Int) -> String {
        bytes % (1024 * 1024) == 0 ? "\(bytes / (1024 * 1024))MB" : "\(bytes / 1024)KB"
    }

    /// `application/json` or `application/<anything>+json`, any case, parameters ignored.
    static func isJSONContentType(_ value: String) -> Bool {
        var media = value.prefix { $0 != ";" }
        while media.first == " " || media.first == "\t" { media.removeFirst() }
        while media.last == " " || media.last == "\t" { media.removeLast() }
        let type = media.lowercased()
        return type == "application/json"
            || (type.hasPrefix("application/") && type.hasSuffix("+json") && type.count > "application/+json".count)
    }
}

/// Builds the error for a refused post of a known token, and records it for the dashboard.
struct Rejecter {
    let store: any EventStore
    let metrics: ServerMetrics
    let token: TokenRecord
    let requestID: String
    let logger: Logger

    func callAsFunction(_ status: HTTPResponse.Status, _ detail: String, reason: String, env: DeploymentEnvironment?,
                        headers: HTTPFields = [:], body: ByteBuffer? = nil) -> APIError {
        let prefix = body.map { buffer in
            Data(buffer: buffer.getSlice(at: buffer.readerIndex, length: min(buffer.readableBytes, Rejection.bodyPrefixLimit))!)
        }
        store.recordRejection(Rejection(tokenID: token.id, environment: env, at: Date(), status: Int(status.code),
                                        reason: detail, bodyPrefix: prefix, requestID: requestID))
        metrics.recordRejection(reason: reason)
        logger.info("Webhook refused", metadata: [
            "token_prefix": .string(token.prefix), "status": .stringConvertible(status.code), "reason": .string(reason),
        ])
        return APIError(status, detail, headers: headers)
    }
}
