/// What an event says happened, after aliases are resolved.
public enum EventKind: Sendable, Hashable {
    case sessionOpened
    case itemsAdded
    case sessionComplete
    /// `connection_test`, `diagnostic_test` or `test`: stored and answered, kept out of sessions and analytics.
    case test(String)
    /// Anything else, as sent (empty when the field is missing).
    case unknown(String)

    /// Reads the `event` field; `order_created` and `order_closed` are aliases.
    public init(rawValue: String) {
        switch rawValue {
        case "session_opened", "order_created": self = .sessionOpened
        case "items_added": self = .itemsAdded
        case "session_complete", "order_closed": self = .sessionComplete
        case "connection_test", "diagnostic_test", "test": self = .test(rawValue)
        default: self = .unknown(rawValue)
        }
    }

    /// The canonical name stored and shown (`session_opened` for `order_created`).
    public var name: String {
        switch self {
        case .sessionOpened: return "session_opened"
        case .itemsAdded: return "items_added"
        case .sessionComplete: return "session_complete"
        case .test(let raw), .unknown(let raw): return raw
        }
    }

    /// True for test events.
    public var isTest: Bool {
        if case .test = self { return true }
        return false
    }

    /// True for the three events that make up a table session.
    public var isSessionEvent: Bool {
        switch self {
        case .sessionOpened, .itemsAdded, .sessionComplete: return true
        case .test, .unknown: return false
        }
    }
}
