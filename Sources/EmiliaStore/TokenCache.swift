import Foundation
import Synchronization

/// A short-lived memory of token look-ups, so ingest does not read the token table on every request.
///
/// Entries live for `lifetime` (1 s by default): a token deactivated by the CLI in another process stops
/// working within that time; changes made through this store clear the cache at once.
final class TokenCache: Sendable {
    struct Entry {
        var record: TokenRecord?
        var expires: Date
    }

    private let lifetime: TimeInterval
    private let entries = Mutex<[String: Entry]>([:])
    private static let capacity = 10_000

    init(lifetime: Duration) {
        self.lifetime = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
    }

    /// The cached answer for this hash (a nil record means "known not to match"), or nil when not cached.
    func lookup(_ hash: String, at instant: Date) -> Entry? {
        entries.withLock { entries in
            guard let entry = entries[hash], entry.expires > instant else { return nil }
            return entry
        }
    }

    func store(_ hash: String, record: TokenRecord?, at instant: Date) {
        guard lifetime > 0 else { return }
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[hash] = Entry(record: record, expires: instant.addingTimeInterval(lifetime))
        }
    }

    func removeAll() {
        entries.withLock { $0.removeAll() }
    }
}
