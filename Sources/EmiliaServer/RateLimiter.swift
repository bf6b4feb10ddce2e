import Foundation
import Synchronization

/// A token bucket per key: `rate` per second sustained, up to `burst` at once. The clock is injected.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let rate: Double
    private let burst: Double
    private let now: @Sendable () -> Double
    private let buckets = Mutex<[String: Bucket]>([:])

    /// - Parameter now: seconds on a monotonic clock.
    init(rate: Double, burst: Double, now: @escaping @Sendable () -> Double = RateLimiter.monotonicSeconds) {
        self.rate = rate
        self.burst = max(1, burst)
        self.now = now
    }

    /// Takes one request from `key`'s bucket: nil when allowed, else the whole seconds to wait (≥ 1).
    func acquire(_ key: String) -> Int? {
        let instant = now()
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: instant)
            bucket.tokens = min(burst, bucket.tokens + (instant - bucket.updated) * rate)
            bucket.updated = instant
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }

    static let monotonicSeconds: @Sendable () -> Double = {
        let elapsed = ContinuousClock.now - ContinuousClock.Instant.processStart
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

extension ContinuousClock.Instant {
    static let processStart = ContinuousClock.now
}
