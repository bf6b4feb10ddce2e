public import Foundation

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
