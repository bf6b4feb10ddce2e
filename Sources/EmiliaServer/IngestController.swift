import EmiliaModel
import EmiliaStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat

/// `POST /webhooks/v1/pos/{token}?env=dev|prod`: docs/contract.md §1, every status and body.
struct IngestController: Sendable {
    let store: any EventStore
    let configuration: ServerConfiguration
    /// Per token; nil when the rate is 0 (no limit).
    let rateLimiter: RateLimiter?
    /// Failed token look-ups per client address: unknown tokens are refused cheaply, and never flood the store.
    let unknownTokens: RateLimiter
    let budget: ByteBudget
    let rejections: RejectionRecorder
    let metrics: ServerMetrics
    let timeZones = TimeZoneCache()

    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!
    static let path = "/webhooks/v1/pos"
    /// Idempotency-Keys longer than this are kept as their SHA-256 (whole, so long keys never collide).
    static let longestPlainKey = 200

    func addRoutes(to router: some RouterMethods<EmiliaRequestContext>) {
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
        let token = try await knownToken(request, context: context)
        func refuse(
            _ status: HTTPResponse.Status, _ detail: String, reason: String, env: DeploymentEnvironment?,
            headers: HTTPFields = [:], body: ByteBuffer? = nil
        ) -> APIError {
            rejections.record(
                token: token, environment: env, status: status, reason: reason, detail: detail, body: body,
                requestID: context.requestID, logger: context.logger)
            return APIError(status, detail, headers: headers)
        }

        var environment = DeploymentEnvironment.prod
        if let value = request.uri.queryParameters.get("env") {
            guard let parsed = DeploymentEnvironment(queryValue: value) else {
                throw refuse(.badRequest, "Unknown env '\(value)': use 'dev' or 'prod'", reason: "unknown_env", env: nil)
            }
            environment = parsed
        }
        if let wait = rateLimiter?.acquire(token.id) {
            throw refuse(
                .tooManyRequests, "Rate limit exceeded: \(Self.rateText(configuration.rateLimitPerSecond)) requests/s per token",
                reason: "rate_limited", env: environment, headers: [.retryAfter: String(wait)])
        }
        let tooLarge = "Payload too large. Max size: \(Self.sizeText(configuration.maximumBodyBytes))"
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > configuration.maximumBodyBytes {
            throw refuse(.contentTooLarge, tooLarge, reason: "too_large", env: environment)
        }
        guard let encoding = BodyEncoding(header: request.headers[.contentEncoding]) else {
            let named = request.headers[.contentEncoding] ?? ""
            throw refuse(
                .unsupportedMediaType,
                "Unsupported Content-Encoding '\(named)': send the body uncompressed, or gzip-compressed with Content-Encoding: gzip",
                reason: "unsupported_encoding", env: environment)
        }
        func overBudget() -> APIError {
            refuse(
                .serviceUnavailable, "Server busy: too many large bodies in flight, retry later", reason: "over_budget",
                env: environment, headers: [.retryAfter: "1"])
        }
        let reservation = budget.reserve(for: token.id)
        defer { reservation.release() }
        guard reservation.grow(by: declared ?? 0) else {
            throw overBudget()
        }
        await context.acceptBody(of: request)

        var body: ByteBuffer
        switch try await BodyReader.read(
            request.body, limit: configuration.maximumBodyBytes, reservation: reservation,
            reserved: declared ?? 0)
        {
        case .complete(let buffer): body = buffer
        case .tooLarge: throw refuse(.contentTooLarge, tooLarge, reason: "too_large", env: environment)
        case .overBudget: throw overBudget()
        case .timedOut:
            let timedOut = BodyDeadlineHandler.BodyTimedOut(timeout: configuration.bodyTimeout)
            throw refuse(.requestTimeout, timedOut.detail, reason: "timeout", env: environment, headers: timedOut.headers)
        }

        if encoding == .gzip {
            // Each step of output is charged before it is written; the compressed bytes' charge goes back after.
            switch GzipBody.decompress(body, limit: configuration.maximumBodyBytes, charge: reservation.grow(by:)) {
            case .decompressed(let decompressed):
                reservation.shrink(by: body.readableBytes)
                body = decompressed
            case .tooLarge: throw refuse(.contentTooLarge, tooLarge + " (decompressed)", reason: "too_large", env: environment)
            case .overBudget: throw overBudget()
            case .invalid(let reason):
                // The compressed bytes would show as noise in the rejection's preview: none is kept.
                throw refuse(.badRequest, "Invalid gzip body: \(reason)", reason: "invalid_gzip", env: environment)
            }
        }

        var event: IncomingEvent
        do {
            event = try makeEvent(body, token: token, environment: environment, request: request, context: context)
        } catch {
            throw refuse(.badRequest, "Invalid JSON: \(error)", reason: "invalid_json", env: environment, body: body)
        }
        if encoding == .gzip { event.contentEncoding = encoding.rawValue }
        let receipt: AppendReceipt
        do {
            receipt = try await store.append(event)
        } catch {
            context.logger.error("Event not stored", metadata: ["token_prefix": .string(token.prefix), "error": "\(error)"])
            throw APIError.storageUnavailable()
        }
        let answer = IngestAnswer.json(
            eventID: receipt.eventID, receivedAt: receipt.receivedAt, env: environment.rawValue,
            isDuplicate: receipt.duplicate, warningsJSON: receipt.warningsJSON)
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: answer)))
    }

    /// The active token the path names. Unknown ones answer 401; a client address that keeps trying unknown tokens
    /// gets 429 without a look-up.
    private func knownToken(_ request: Request, context: EmiliaRequestContext) async throws -> TokenRecord {
        let clearToken = context.parameters.get("token") ?? ""
        if let problem = TokenFormat.problem(with: clearToken) {
            throw APIError(.unauthorized, APIError.invalidToken, hint: problem)
        }
        // An address over its allowance of failed look-ups is refused before any read of the store, unless its token
        // was verified a moment ago (another terminal behind the same address keeps working).
        if let wait = unknownTokens.pendingWait(context.clientAddress), store.recentlyVerifiedToken(matching: clearToken) == nil {
            metrics.recordRejection(reason: "unknown_token_rate_limited")
            throw APIError(.tooManyRequests, "Too many invalid tokens from this address; retry later", headers: [.retryAfter: String(wait)])
        }
        guard let token = try await store.activeToken(matching: clearToken) else {
            _ = unknownTokens.acquire(context.clientAddress)
            metrics.recordRejection(reason: "invalid_token")
            throw APIError(.unauthorized, APIError.invalidToken)
        }
        return token
    }

    /// Parses and checks the body (the JSON tree lives only this long) and builds what the store keeps.
    private func makeEvent(
        _ body: ByteBuffer, token: TokenRecord, environment: DeploymentEnvironment, request: Request,
        context: EmiliaRequestContext
    ) throws(JSONSyntaxError) -> IncomingEvent {
        let document = try body.withUnsafeReadableBytes { raw throws(JSONSyntaxError) in
            try JSONParser.parse(buffer: raw.assumingMemoryBound(to: UInt8.self))
        }
        let contentType = request.headers[.contentType]
        let validation = ValidationContext(
            timeZone: timeZones.zone(named: token.timeZone),
            tableStyle: token.tableStyle.map(TableNamingStyle.init(pattern:)),
            contentTypeIsJSON: contentType.map(Self.isJSONContentType) ?? false,
            receivedAt: Date())
        let report = PayloadValidator.validate(document, context: validation)
        let bodyData = Data(buffer: body, byteTransferStrategy: .copy)
        let deduplicationKey: String
        if let key = request.headers[Self.idempotencyKeyHeader], !key.isEmpty {
            deduplicationKey = key.utf8.count <= Self.longestPlainKey ? "key:" + key : "keyh:" + TokenSecrets.hexDigest(Data(key.utf8))
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
        return event
    }

    /// `100` for 100/s, `0.5` for a fractional rate.
    static func rateText(_ rate: Double) -> String {
        rate == rate.rounded() && rate < 1e15 ? String(Int(rate)) : String(rate)
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
