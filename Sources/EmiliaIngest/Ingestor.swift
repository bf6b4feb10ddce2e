public import EmiliaModel
public import EmiliaStore
public import Foundation
public import Logging

/// The webhook's policy, without HTTP: which posts are taken, and the event each one becomes (docs/contract.md §1).
///
/// A post goes through three steps, so that a transport can refuse early, before it reads a body it will not keep:
/// 1. `token(_:clientAddress:logger:)`: the token in the path is well-formed, known and active;
/// 2. `admit(_:token:)`: what the post says about itself (env, declared size, encoding) and the token's rate;
/// 3. `ingest(_:admission:metadata:logger:)`: the body is parsed, checked, given its dedup key and stored.
///
/// Every refusal is an `IngestRefusal` value: the caller decides how to answer it and whether to record it.
public struct Ingestor: Sendable {
    /// How much one token and one client address may send.
    public struct Limits: Sendable {
        /// The largest body, after decompression.
        public var maximumBodyBytes: Int
        /// Posts per second per token, sustained; 0 for no limit.
        public var ratePerSecond: Double
        public var rateBurst: Double
        /// Failed token look-ups per second per client address.
        public var unknownTokensPerSecond: Double
        public var unknownTokenBurst: Double

        public init(
            maximumBodyBytes: Int, ratePerSecond: Double = 0, rateBurst: Double = 1, unknownTokensPerSecond: Double = 5,
            unknownTokenBurst: Double = 20
        ) {
            self.maximumBodyBytes = maximumBodyBytes
            self.ratePerSecond = ratePerSecond
            self.rateBurst = rateBurst
            self.unknownTokensPerSecond = unknownTokensPerSecond
            self.unknownTokenBurst = unknownTokenBurst
        }
    }

    /// What a post says about itself besides its bytes (in HTTP: its query and headers).
    public struct PostMetadata: Sendable {
        /// The `env` query value; nil is prod.
        public var env: String?
        /// The size the sender announced (`Content-Length`).
        public var declaredBytes: Int?
        public var contentEncoding: String?
        public var contentType: String?
        public var idempotencyKey: String?
        /// The request's id: the sender's `X-Request-ID`, or one made for it.
        public var requestID: String?
        /// True when the sender chose `requestID`: it then dedups a post without an idempotency key.
        public var requestIDWasSent: Bool

        public init(
            env: String? = nil, declaredBytes: Int? = nil, contentEncoding: String? = nil,
            contentType: String? = "application/json", idempotencyKey: String? = nil, requestID: String? = nil,
            requestIDWasSent: Bool = false
        ) {
            self.env = env
            self.declaredBytes = declaredBytes
            self.contentEncoding = contentEncoding
            self.contentType = contentType
            self.idempotencyKey = idempotencyKey
            self.requestID = requestID
            self.requestIDWasSent = requestIDWasSent
        }
    }

    /// A post whose token, env, rate, declared size and encoding have passed: its body may be read.
    public struct Admission: Sendable {
        public let token: TokenRecord
        public let environment: DeploymentEnvironment
        /// How the body comes: a gzip body is decompressed (within the size limit) before `ingest`.
        public let encoding: BodyEncoding
    }

    /// Idempotency-Keys longer than this are kept as their SHA-256 (whole, so long keys never collide).
    public static let longestPlainKey = 200

    public let limits: Limits
    private let store: any EventStore
    /// Per token; nil when the rate is 0 (no limit).
    private let rateLimiter: RateLimiter?
    /// Failed token look-ups per client address: unknown tokens are refused cheaply, and never flood the store.
    private let unknownTokens: RateLimiter
    private let timeZones = TimeZoneCache()

    /// - Parameter share: the fraction of each token's rate this node grants (1/N on each of N nodes).
    public init(store: any EventStore, limits: Limits, share: @escaping @Sendable () -> Double = { 1 }) {
        self.store = store
        self.limits = limits
        rateLimiter =
            limits.ratePerSecond > 0 ? RateLimiter(rate: limits.ratePerSecond, burst: limits.rateBurst, share: share) : nil
        unknownTokens = RateLimiter(rate: limits.unknownTokensPerSecond, burst: limits.unknownTokenBurst)
    }

    /// The active token the post names. A client address that keeps naming unknown tokens is refused without a
    /// look-up, unless its token was verified a moment ago (another terminal behind the same address keeps working).
    public func token(_ clearToken: String, clientAddress: String, logger: Logger) async throws(IngestRefusal) -> TokenRecord {
        if let problem = TokenFormat.problem(with: clearToken) {
            throw IngestRefusal(.invalidToken, IngestRefusal.invalidTokenDetail, hint: problem)
        }
        if let wait = unknownTokens.pendingWait(clientAddress), store.recentlyVerifiedToken(matching: clearToken) == nil {
            throw IngestRefusal(.unknownTokenRateLimited, "Too many invalid tokens from this address; retry later", retryAfter: wait)
        }
        let token: TokenRecord?
        do {
            token = try await store.activeToken(matching: clearToken)
        } catch {
            throw Self.storageUnavailable(error, logger: logger)
        }
        guard let token else {
            _ = unknownTokens.acquire(clientAddress)
            throw IngestRefusal(.invalidToken, IngestRefusal.invalidTokenDetail)
        }
        return token
    }

    /// Checks what can be checked before the body arrives, in this order: env, the token's rate, the declared size,
    /// the encoding. Takes one request from the token's rate.
    public func admit(_ metadata: PostMetadata, token: TokenRecord) throws(IngestRefusal) -> Admission {
        var environment = DeploymentEnvironment.prod
        if let value = metadata.env {
            guard let parsed = DeploymentEnvironment(queryValue: value) else {
                throw IngestRefusal(.unknownEnv, "Unknown env '\(value)': use 'dev' or 'prod'")
            }
            environment = parsed
        }
        if let wait = rateLimiter?.acquire(token.id) {
            throw IngestRefusal(
                .rateLimited, "Rate limit exceeded: \(IngestRefusal.rateText(limits.ratePerSecond)) requests/s per token",
                retryAfter: wait, environment: environment)
        }
        if let declared = metadata.declaredBytes, declared > limits.maximumBodyBytes {
            throw IngestRefusal.tooLarge(limit: limits.maximumBodyBytes, environment: environment)
        }
        guard let encoding = BodyEncoding(header: metadata.contentEncoding) else {
            throw IngestRefusal(
                .unsupportedEncoding,
                "Unsupported Content-Encoding '\(metadata.contentEncoding ?? "")': send the body uncompressed, "
                    + "or gzip-compressed with Content-Encoding: gzip",
                environment: environment)
        }
        return Admission(token: token, environment: environment, encoding: encoding)
    }

    /// Parses, checks and stores the (decompressed) body: answers once the event is durably stored, or was already.
    public func ingest(
        _ body: Data, admission: Admission, metadata: PostMetadata, logger: Logger
    ) async throws(IngestRefusal) -> AppendReceipt {
        let event = try event(from: body, admission: admission, metadata: metadata, receivedAt: Date())
        do {
            return try await store.append(event)
        } catch {
            throw Self.storageUnavailable(error, logger: logger, token: admission.token)
        }
    }

    /// Everything `ingest` does but the store, for the benchmark's baseline (`--bench-routes`), never for real posts:
    /// what the request path costs before the first byte is written.
    public func checkWithoutStoring(_ body: Data, admission: Admission, metadata: PostMetadata) throws(IngestRefusal) -> AppendReceipt {
        let receivedAt = Date()
        let event = try event(from: body, admission: admission, metadata: metadata, receivedAt: receivedAt)
        return AppendReceipt(
            eventID: Self.unstoredEventID, receivedAt: receivedAt, isDuplicate: false, warningsJSON: JSONText.warnings(event.warnings))
    }

    /// The event id the benchmark routes answer with: no event has it.
    public static let unstoredEventID = "00000000-0000-7000-8000-000000000000"

    /// The event the store keeps for this body: its summary, warnings, dedup key, and the table style to learn.
    public func event(
        from body: Data, admission: Admission, metadata: PostMetadata, receivedAt: Date?
    ) throws(IngestRefusal) -> IncomingEvent {
        let token = admission.token
        // Parsed where the bytes lie (the tree lives only this long).
        let parsed = body.withUnsafeBytes { raw in
            Result { () throws(JSONSyntaxError) in try JSONParser.parse(buffer: raw.bindMemory(to: UInt8.self)) }
        }
        let document: JSONValue
        switch parsed {
        case .success(let value): document = value
        case .failure(let error):
            throw IngestRefusal(.invalidJSON, "Invalid JSON: \(error)", body: body, environment: admission.environment)
        }
        let timeZone = timeZones.zone(named: token.timeZone)
        let validation = ValidationContext(
            timeZone: timeZone,
            tableStyle: token.tableStyle.map(TableNamingStyle.init(pattern:)),
            contentTypeIsJSON: metadata.contentType.map(Self.isJSONContentType) ?? false,
            receivedAt: receivedAt)
        let report = PayloadValidator.validate(document, context: validation)
        var styleToLearn: String?
        if token.tableStyle == nil, !report.summary.kind.isTest, let table = report.summary.tableNumber {
            styleToLearn = TableNamingStyle(tableName: table)?.pattern
        }
        var event = IncomingEvent(
            tokenID: token.id, environment: admission.environment,
            deduplicationKey: Self.deduplicationKey(body, metadata: metadata), body: body,
            summary: report.summary, warnings: report.warnings, requestID: metadata.requestID,
            contentType: metadata.contentType, tableStyleToLearn: styleToLearn)
        event.timeZone = token.timeZone
        if report.summary.kind.isSessionEvent, body.count <= FoldHandoff.largestBody {
            event.sessionFacts = SessionFacts(eventID: "", receivedAt: receivedAt ?? Date(), document: document, timeZone: timeZone)
        }
        if admission.encoding == .gzip { event.contentEncoding = BodyEncoding.gzip.rawValue }
        return event
    }

    /// The Idempotency-Key, else the sender's X-Request-ID, else the body's SHA-256 (prefixed so the kinds never
    /// collide).
    static func deduplicationKey(_ body: Data, metadata: PostMetadata) -> String {
        if let key = metadata.idempotencyKey, !key.isEmpty {
            return key.utf8.count <= longestPlainKey ? "key:" + key : "keyh:" + TokenSecrets.hexDigest(Data(key.utf8))
        }
        if metadata.requestIDWasSent, let requestID = metadata.requestID {
            return "rid:" + requestID
        }
        return "sha256:" + TokenSecrets.hexDigest(body)
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

    private static func storageUnavailable(_ error: any Error, logger: Logger, token: TokenRecord? = nil) -> IngestRefusal {
        var metadata: Logger.Metadata = ["error": "\(error)"]
        if let token { metadata["token_prefix"] = .string(token.prefix) }
        logger.error("Event not stored: storage unavailable", metadata: metadata)
        return .storageUnavailable
    }
}
