public import Foundation
import Synchronization

/// `TimeZone` values by IANA name, made once each (creating one is not free on Linux).
public final class TimeZoneCache: Sendable {
    private let zones = Mutex<[String: TimeZone]>([:])

    public init() {}

    /// The zone with this name; UTC when the name is unknown (tokens are validated on creation).
    public func zone(named name: String) -> TimeZone {
        zones.withLock { zones in
            if let zone = zones[name] { return zone }
            let zone = TimeZone(identifier: name) ?? TimeZone(identifier: "UTC")!
            zones[name] = zone
            return zone
        }
    }
}
