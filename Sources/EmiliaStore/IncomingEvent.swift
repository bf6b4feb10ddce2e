public import EmiliaModel
public import Foundation

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
    /// What the event says about its session, read in `timeZone` from the document parsed at ingest (its id and
    /// receipt time are the store's: see `SessionFacts.stored(as:receivedAt:)`). A backend hands it to its session
    /// folder, which then need not parse the body again; nil for events outside sessions.
    public package(set) var sessionFacts: SessionFacts?

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
    public var isDuplicate: Bool
    /// The warnings stored with the (original) event, as JSON text.
    public var warningsJSON: String

    package init(eventID: String, receivedAt: Date, isDuplicate: Bool, warningsJSON: String) {
        self.eventID = eventID
        self.receivedAt = receivedAt
        self.isDuplicate = isDuplicate
        self.warningsJSON = warningsJSON
    }
}
