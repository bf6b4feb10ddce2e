package import Foundation
import Synchronization

/// A short-lived memory of token look-ups, so ingest does not read the token table on every request.
///
/// Entries live for `lifetime` (1 s by default): a token deactivated by the CLI in another process stops working
/// within that time; changes made through this store clear the cache at once. Known tokens and misses are kept
/// apart, each bounded: a flood of made-up tokens only ever evicts other misses, never a restaurant's token.
package final class TokenCache: Sendable {
    package struct Entry {
        package var record: TokenRecord?
        package var expires: Date
    }

    private struct Entries {
        var known: [String: Entry] = [:]
        var misses: [String: Entry] = [:]
        /// Bumped by `removeAll`, so a look-up that started before a change cannot store what it read.
        var generation = 0
    }

    private let lifetime: TimeInterval
    private let entries = Mutex(Entries())
    /// The reads under way, by hash: requests that miss together share one (no stampede when an entry expires).
    private let reads = Mutex<[String: Task<TokenRecord?, any Error>]>([:])
    private static let capacity = 10_000

    package init(lifetime: Duration) {
        self.lifetime = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
    }

    /// The cache's generation now: pass it back to `store` after the look-up.
    package var generation: Int { entries.withLock { $0.generation } }

    /// The cached answer for this hash (a nil record means "known not to match"), or nil when not cached.
    package func lookup(_ hash: String, at instant: Date) -> Entry? {
        entries.withLock { entries in
            if let entry = entries.known[hash], entry.expires > instant { return entry }
            if let entry = entries.misses[hash], entry.expires > instant { return entry }
            return nil
        }
    }

    /// Remembers a look-up's answer, unless the cache was cleared since `generation` was read.
    package func store(_ hash: String, record: TokenRecord?, at instant: Date, generation: Int) {
        guard lifetime > 0 else { return }
        let entry = Entry(record: record, expires: instant.addingTimeInterval(lifetime))
        entries.withLock { entries in
            guard entries.generation == generation else { return }
            if record == nil {
                entries.known[hash] = nil
                if entries.misses.count >= Self.capacity { entries.misses.removeAll(keepingCapacity: true) }
                entries.misses[hash] = entry
            } else {
                if entries.known.count >= Self.capacity { entries.known = entries.known.filter { $0.value.expires > instant } }
                entries.known[hash] = entry
            }
        }
    }

    /// The active token with this clear value: cached, or read with `lookUp(hash)` and then remembered. Requests for
    /// the same token that miss at once wait for one read.
    package func record(
        matching clearToken: String, at instant: Date,
        lookUp: @escaping @Sendable (_ hash: String) async throws -> TokenRecord?
    ) async throws -> TokenRecord? {
        let hash = TokenSecrets.hash(clearToken)
        if let cached = lookup(hash, at: instant) { return cached.record }
        let generation = self.generation
        let found: Answer = reads.withLock { reads in
            if let running = reads[hash] { return .reading(running) }
            // A read that ended since the check above has stored its answer (before it left `reads`).
            if let cached = lookup(hash, at: instant) { return .cached(cached.record) }
            let read = Task { [self] in
                let record = try await lookUp(hash)
                store(hash, record: record, at: instant, generation: generation)
                return record
            }
            reads[hash] = read
            return .reading(read)
        }
        let read: Task<TokenRecord?, any Error>
        switch found {
        case .reading(let running): read = running
        case .cached(let record): return record
        }
        defer { reads.withLock { reads in if reads[hash] == read { reads[hash] = nil } } }
        return try await read.value
    }

    /// The cached answer for this clear value, without reading storage.
    package func recentlyVerified(_ clearToken: String, at instant: Date) -> TokenRecord? {
        lookup(TokenSecrets.hash(clearToken), at: instant)?.record
    }

    /// Forgets every answer, and every read under way: a look-up after a change reads anew.
    /// A look-up's answer at hand, or the read to wait for.
    private enum Answer {
        case cached(TokenRecord?)
        case reading(Task<TokenRecord?, any Error>)
    }

    package func removeAll() {
        entries.withLock { entries in
            entries.known.removeAll()
            entries.misses.removeAll()
            entries.generation += 1
        }
        reads.withLock { $0.removeAll() }
    }
}
