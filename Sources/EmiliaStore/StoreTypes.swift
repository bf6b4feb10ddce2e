public import EmiliaModel
public import Foundation

/// Whether a token may post.
public enum TokenStatus: String, Sendable, Codable {
    case active
    case inactive
}

/// A restaurant integration as stored: never the clear token, only its first 8 characters.
public struct TokenRecord: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    /// IANA zone id, e.g. `America/Sao_Paulo`.
    public var timeZone: String
    public var status: TokenStatus
    /// The first 8 characters of the current token.
    public var prefix: String
    public var createdAt: Date
    /// The table naming style learned from the first table seen (`mesa #`), if any.
    public var tableStyle: String?

    public init(id: String, name: String, timeZone: String, status: TokenStatus, prefix: String, createdAt: Date, tableStyle: String?) {
        self.id = id
        self.name = name
        self.timeZone = timeZone
        self.status = status
        self.prefix = prefix
        self.createdAt = createdAt
        self.tableStyle = tableStyle
    }
}

/// A token just created or rotated: the only time the clear token exists.
public struct IssuedToken: Sendable {
    public var record: TokenRecord
    public var token: String

    package init(record: TokenRecord, token: String) {
        self.record = record
        self.token = token
    }

    /// A new active token for a restaurant, before it is stored: the name trimmed, a fresh clear value. Throws
    /// `.invalidInput` for an unknown zone or a name that is empty or over 200 characters.
    package static func make(name: String, timeZone: String, at instant: Date) throws -> IssuedToken {
        guard TimeZone(identifier: timeZone) != nil else {
            throw StoreError(.invalidInput, "unknown time zone '\(timeZone)': use an IANA name such as America/Sao_Paulo")
        }
        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmedName.isEmpty, trimmedName.count <= 200 else {
            throw StoreError(.invalidInput, "a token needs a name of 1 to 200 characters")
        }
        let token = TokenSecrets.makeToken()
        let record = TokenRecord(
            id: UUID().uuidString.lowercased(), name: trimmedName, timeZone: timeZone,
            status: .active, prefix: TokenSecrets.prefix(token), createdAt: instant, tableStyle: nil)
        return IssuedToken(record: record, token: token)
    }
}

/// An accepted request on its way to the event log.
public struct IncomingEvent: Sendable {
    public var tokenID: String
    public var environment: DeploymentEnvironment
    /// Idempotency-Key, else X-Request-ID, else the body's SHA-256 (prefixed so the kinds never collide).
    public var deduplicationKey: String
    /// The exact request bytes.
    public var body: Data
    public var summary: EventSummary
    public var warnings: [ValidationWarning]
    public var requestID: String?
    public var contentType: String?
    /// The request's `Content-Encoding` (`gzip`) when the body came compressed; `body` holds the decompressed bytes.
    public var contentEncoding: String?
    /// The table style to remember for this token when it has none yet.
    public var tableStyleToLearn: String?
    /// The token's IANA zone, to fold the event's session.
    public var timeZone: String = "UTC"

    public init(
        tokenID: String, environment: DeploymentEnvironment, deduplicationKey: String, body: Data,
        summary: EventSummary, warnings: [ValidationWarning], requestID: String?, contentType: String?,
        tableStyleToLearn: String? = nil
    ) {
        self.tokenID = tokenID
        self.environment = environment
        self.deduplicationKey = deduplicationKey
        self.body = body
        self.summary = summary
        self.warnings = warnings
        self.requestID = requestID
        self.contentType = contentType
        self.tableStyleToLearn = tableStyleToLearn
    }
}

/// What the event log answered for one append.
public struct AppendReceipt: Sendable, Hashable {
    public var eventID: String
    public var receivedAt: Date
    /// True when the dedup key was seen before: nothing new was stored.
    public var duplicate: Bool
    /// The warnings stored with the (original) event, as JSON text.
    public var warningsJSON: String

    package init(eventID: String, receivedAt: Date, duplicate: Bool, warningsJSON: String) {
        self.eventID = eventID
        self.receivedAt = receivedAt
        self.duplicate = duplicate
        self.warningsJSON = warningsJSON
    }
}

/// An event's stored metadata (the raw bytes are read separately).
public struct StoredEvent: Sendable, Hashable {
    public var id: String
    /// Its place in the log, in commit order: the cursor of a page that ends with it (opaque; SQLite uses the id,
    /// PostgreSQL a commit-ordered number).
    public var position: String
    public var tokenID: String
    public var environment: DeploymentEnvironment
    public var receivedAt: Date
    public var eventType: String
    public var orderID: String?
    /// True when `order_id` came as a JSON number.
    public var orderIDIsNumber: Bool
    public var tableNumber: String?
    public var occurredAt: Date?
    public var isTest: Bool
    public var requestID: String?
    public var contentType: String?
    /// `gzip` when the body came compressed (the stored bytes are the decompressed JSON).
    public var contentEncoding: String?
    public var bodySize: Int
    public var warnings: [ValidationWarning]
    /// The raw bytes, when the query asked for them.
    public var body: Data?

    package init(
        id: String, position: String, tokenID: String, environment: DeploymentEnvironment, receivedAt: Date,
        eventType: String, orderID: String?, orderIDIsNumber: Bool = false, tableNumber: String?, occurredAt: Date?, isTest: Bool,
        requestID: String?,
        contentType: String?, contentEncoding: String? = nil, bodySize: Int, warnings: [ValidationWarning], body: Data?
    ) {
        self.id = id
        self.position = position
        self.tokenID = tokenID
        self.environment = environment
        self.receivedAt = receivedAt
        self.eventType = eventType
        self.orderID = orderID
        self.orderIDIsNumber = orderIDIsNumber
        self.tableNumber = tableNumber
        self.occurredAt = occurredAt
        self.isTest = isTest
        self.requestID = requestID
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.bodySize = bodySize
        self.warnings = warnings
        self.body = body
    }
}

/// A refused request of a known token: why, and the start of what was sent.
public struct Rejection: Sendable, Hashable {
    public var tokenID: String
    public var environment: DeploymentEnvironment?
    public var at: Date
    public var status: Int
    public var reason: String
    /// For 400s, the first 64 KiB of the body.
    public var bodyPrefix: Data?
    public var requestID: String?
    /// How many refusals this record stands for (more than 1 when a flood was aggregated into counts).
    public var count: Int

    public init(
        tokenID: String, environment: DeploymentEnvironment?, at: Date, status: Int, reason: String,
        bodyPrefix: Data?, requestID: String?, count: Int = 1
    ) {
        self.tokenID = tokenID
        self.environment = environment
        self.at = at
        self.status = status
        self.reason = reason
        self.bodyPrefix = bodyPrefix
        self.requestID = requestID
        self.count = count
    }

    /// How much of a rejected body is kept.
    public static let bodyPrefixLimit = 64 * 1024
}

/// Storage failures, with stable codes; the server maps them to statuses in one place.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The store cannot take writes now (disk, lock, shutdown, queue full): retry later.
        case unavailable
        /// The named thing does not exist.
        case notFound
        /// The input is not acceptable (e.g. an unknown time zone).
        case invalidInput
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
