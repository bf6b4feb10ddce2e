public import EmiliaModel
public import Foundation

/// Why a webhook post was refused: what the sender is told, and what the rejection log keeps.
///
/// A value, not a status: the HTTP edge gives each `Reason` its status, in one place.
public struct IngestRefusal: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable code (the `reason` of metrics and of the rejection log).
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        public let code: String
        private init(_ code: String) { self.code = code }
        public var description: String { code }

        /// The token is malformed, unknown or inactive.
        public static let invalidToken = Reason("invalid_token")
        /// The client address keeps naming unknown tokens.
        public static let unknownTokenRateLimited = Reason("unknown_token_rate_limited")
        public static let unknownEnv = Reason("unknown_env")
        /// The token's rate limit.
        public static let rateLimited = Reason("rate_limited")
        /// The body (declared, sent or decompressed) is over the size limit.
        public static let tooLarge = Reason("too_large")
        public static let unsupportedEncoding = Reason("unsupported_encoding")
        /// The memory set aside for bodies in flight is taken: retry.
        public static let overBudget = Reason("over_budget")
        /// The body did not arrive in time.
        public static let timeout = Reason("timeout")
        public static let invalidGzip = Reason("invalid_gzip")
        public static let invalidJSON = Reason("invalid_json")
        /// The store could not take the event: retry.
        public static let storageUnavailable = Reason("storage_unavailable")
    }

    public let reason: Reason
    /// The sentence the sender reads.
    public let detail: String
    /// How to fix it, when there is more to say.
    public var hint: String?
    /// Seconds before a retry can succeed.
    public var retryAfter: Int?
    /// The refused body, for a body that did not parse: the rejection log keeps its start.
    public var body: Data?
    /// The `env` of the post, once it was read.
    public var environment: DeploymentEnvironment?

    public init(
        _ reason: Reason, _ detail: String, hint: String? = nil, retryAfter: Int? = nil, body: Data? = nil,
        environment: DeploymentEnvironment? = nil
    ) {
        self.reason = reason
        self.detail = detail
        self.hint = hint
        self.retryAfter = retryAfter
        self.body = body
        self.environment = environment
    }

    public var description: String { "\(reason): \(detail)" }

    /// The detail of every `invalidToken` refusal.
    public static let invalidTokenDetail = "Invalid or inactive webhook token"

    /// Whether the rejection log keeps it: a refused post of a known token, for its owner to see. Unknown tokens
    /// only count in metrics; a storage failure is not the sender's doing, and is logged instead.
    public var isRecorded: Bool { reason != .invalidToken && reason != .unknownTokenRateLimited && reason != .storageUnavailable }

    /// Whether it counts in `emilia_rejections_total`: every refusal but a storage failure.
    public var isCounted: Bool { reason != .storageUnavailable }

    /// The store could not take the event or read the token: retry.
    public static let storageUnavailable = IngestRefusal(.storageUnavailable, "Storage unavailable, retry later", retryAfter: 5)

    /// Over the size limit, with the limit in the sentence (`decompressed` when it was the gzip output).
    public static func tooLarge(limit: Int, decompressed: Bool = false, environment: DeploymentEnvironment?) -> IngestRefusal {
        let detail = "Payload too large. Max size: \(sizeText(limit))" + (decompressed ? " (decompressed)" : "")
        return IngestRefusal(.tooLarge, detail, environment: environment)
    }

    /// The bodies in flight already hold the memory set aside for them.
    public static func overBudget(environment: DeploymentEnvironment?) -> IngestRefusal {
        IngestRefusal(
            .overBudget, "Server busy: too many large bodies in flight, retry later", retryAfter: 1, environment: environment)
    }

    /// `10MB` for 10 MiB, `64KB` for 64 KiB.
    static func sizeText(_ bytes: Int) -> String {
        bytes % (1024 * 1024) == 0 ? "\(bytes / (1024 * 1024))MB" : "\(bytes / 1024)KB"
    }

    /// `100` for 100/s, `0.5` for a fractional rate.
    static func rateText(_ rate: Double) -> String {
        rate == rate.rounded() && rate < 1e15 ? String(Int(rate)) : String(rate)
    }
}
