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
