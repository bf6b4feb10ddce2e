public import EmiliaModel
public import Foundation

/// Counts that say how clean a restaurant's data is. Events count on the day they happened (their `timestamp`,
/// else when received); rejections on the day they were refused.
public struct DataQuality: Sendable, Hashable {
    public var events: Int
    public var eventsWithWarnings: Int
    public var warnings: [String: Int]
    /// Refused posts by HTTP status.
    public var rejections: [Int: Int]
    /// One example event id per warning code, for the dashboard's links.
    public var examples: [String: String]
    /// True when `warnings` counts only the newest `warningSampleLimit` flagged events of the day.
    public var warningsSampled = false
    /// Events kept in the log but left out of their session because folding them failed, with a reason and an example.
    public var unfoldedEvents = 0
    public var unfoldedReason: String?
    public var unfoldedExample: String?

    /// How many flagged events a view reads to count warning codes.
    public static let warningSampleLimit = 20_000

    public init(
        events: Int = 0, eventsWithWarnings: Int = 0, warnings: [String: Int] = [:], rejections: [Int: Int] = [:],
        examples: [String: String] = [:]
    ) {
        self.events = events
        self.eventsWithWarnings = eventsWithWarnings
        self.warnings = warnings
        self.rejections = rejections
        self.examples = examples
    }
}

/// A token's recent traffic, for the restaurant list.
public struct TokenActivity: Sendable, Hashable {
    public var lastEventAt: Date?
    public var events: Int
    public var eventsWithWarnings: Int

    public init(lastEventAt: Date?, events: Int, eventsWithWarnings: Int) {
        self.lastEventAt = lastEventAt
        self.events = events
        self.eventsWithWarnings = eventsWithWarnings
    }
}

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
    public var ascending: Bool
    /// Read the raw bodies too.
    public var includeBodies: Bool

    /// With bodies, a page stops once it holds this many bytes of them (at least one event), so an export page of
    /// large payloads stays small in memory.
    public static let maximumPageBytes = 8 * 1024 * 1024

    public init(
        tokenID: String, environment: DeploymentEnvironment, eventType: String? = nil, tableNumber: String? = nil,
        orderID: String? = nil, hasWarnings: Bool? = nil, since: Date? = nil, until: Date? = nil, limit: Int = 100,
        cursor: String? = nil, ascending: Bool = false, includeBodies: Bool = false
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
        self.ascending = ascending
        self.includeBodies = includeBodies
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
