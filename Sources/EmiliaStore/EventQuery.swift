public import EmiliaModel
public import Foundation

/// Filters and paging for the event log. Pages run newest first; `cursor` is the last id of the previous page.
public struct EventQuery: Sendable, Hashable {
    public var tokenID: String
    public var environment: DeploymentEnvironment
    public var eventType: String?
    public var tableNumber: String?
    public var orderID: String?
    public var hasWarnings: Bool?
    public var since: Date?
    public var until: Date?
    public var limit: Int
    /// Continue after this log position (exclusive): a `StoredEvent.position` or a page's `nextCursor`.
    public var cursor: String?
    /// Oldest first (for exports and streams) instead of newest first.
    public var isOldestFirst: Bool
    /// Read the raw bodies too.
    public var includesBodies: Bool

    /// With bodies, a page stops once it holds this many bytes of them (at least one event), so an export page of
    /// large payloads stays small in memory.
    public static let maximumPageBytes = 8 * 1024 * 1024

    public init(
        tokenID: String, environment: DeploymentEnvironment, eventType: String? = nil, tableNumber: String? = nil,
        orderID: String? = nil, hasWarnings: Bool? = nil, since: Date? = nil, until: Date? = nil, limit: Int = 100,
        cursor: String? = nil, isOldestFirst: Bool = false, includesBodies: Bool = false
    ) {
        self.tokenID = tokenID
        self.environment = environment
        self.eventType = eventType
        self.tableNumber = tableNumber
        self.orderID = orderID
        self.hasWarnings = hasWarnings
        self.since = since
        self.until = until
        self.limit = limit
        self.cursor = cursor
        self.isOldestFirst = isOldestFirst
        self.includesBodies = includesBodies
    }
}

/// One page of events, and the cursor of the next page (nil when this was the last).
public struct EventPage: Sendable {
    public var events: [StoredEvent]
    public var nextCursor: String?

    package init(events: [StoredEvent], nextCursor: String?) {
        self.events = events
        self.nextCursor = nextCursor
    }
}
