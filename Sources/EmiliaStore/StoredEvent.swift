public import EmiliaModel
public import Foundation

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
