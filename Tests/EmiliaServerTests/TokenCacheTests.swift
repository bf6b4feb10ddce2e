import EmiliaStore
import Foundation
import Synchronization
import Testing

@Suite("Token look-ups")
struct TokenCacheTests {
    static let record = TokenRecord(
        id: "t1", name: "Cantina", timeZone: "UTC", status: .active, prefix: "3f6c1b9e",
        createdAt: Date(timeIntervalSince1970: 0), tableStyle: nil)

    @Test func requestsThatMissTogetherShareOneRead() async throws {
        let cache = TokenCache(lifetime: .seconds(1))
        let reads = Mutex(0)
        let (gate, opener) = AsyncStream<Void>.makeStream()
        let lookUp: @Sendable (String) async throws -> TokenRecord? = { _ in
            reads.withLock { $0 += 1 }
            for await _ in gate { break }  // held until every request is waiting
            return Self.record
        }
        let now = Date()
        try await withThrowingTaskGroup(of: TokenRecord?.self) { group in
            for _ in 0..<50 {
                group.addTask { try await cache.record(matching: "3f6c1b9e-8a3d-4c2b-9f1e-2d7a5b8c0e41", at: now, lookUp: lookUp) }
            }
            try await waitUntil { reads.withLock { $0 } >= 1 }
            opener.yield()
            opener.finish()
            for try await answer in group { #expect(answer?.id == "t1") }
        }
        #expect(reads.withLock { $0 } == 1, "one read for fifty requests")
        // Cached now; a change forgets it, and the next request reads again.
        _ = try await cache.record(matching: "3f6c1b9e-8a3d-4c2b-9f1e-2d7a5b8c0e41", at: now, lookUp: lookUp)
        #expect(reads.withLock { $0 } == 1)
        cache.removeAll()
        _ = try await cache.record(matching: "3f6c1b9e-8a3d-4c2b-9f1e-2d7a5b8c0e41", at: now, lookUp: lookUp)
        #expect(reads.withLock { $0 } == 2)
    }
}
