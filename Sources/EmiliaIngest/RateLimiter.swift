import Synchronization

/// A token bucket per key: `rate` per second sustained, up to `burst` at once. The clock is injected.
///
/// With `share`, both are scaled by it as it changes: a node of a cluster enforces its share of a limit the cluster
/// holds together.
///
/// It remembers at most `maximumKeys` keys: past that, buckets that have refilled (the same as new ones) are
/// forgotten, then the half that waited longest, so keys an attacker chooses (client addresses) cannot grow it
/// without bound.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let rate: Double
    private let burst: Double
    private let maximumKeys: Int
    private let now: @Sendable () -> Double
    private let share: @Sendable () -> Double
    private let buckets = Mutex<[String: Bucket]>([:])

    /// - Parameters:
    ///   - rate: tokens per second, more than 0.
    ///   - now: seconds on a monotonic clock.
    ///   - share: the fraction of `rate` and `burst` this limiter grants (1 alone; 1/N on each of N nodes).
    public init(
        rate: Double, burst: Double, maximumKeys: Int = 100_000, share: @escaping @Sendable () -> Double = { 1 },
        now: @escaping @Sendable () -> Double = RateLimiter.monotonicSeconds
    ) {
        precondition(rate > 0 && rate.isFinite, "a rate limiter needs a positive rate")
        self.rate = rate
        self.burst = max(1, burst)
        self.maximumKeys = maximumKeys
        self.now = now
        self.share = share
    }

    /// Takes one request from `key`'s bucket: nil when allowed, else the whole seconds to wait (≥ 1).
    public func acquire(_ key: String) -> Int? {
        let instant = now()
        let limits = self.limits
        return buckets.withLock { buckets in
            var bucket = refilled(buckets[key], at: instant, limits)
            defer { store(bucket, for: key, in: &buckets, at: instant, limits) }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return wait(for: bucket, limits)
        }
    }

    /// The seconds `key` must wait before its next request, or nil when it may go now; takes nothing.
    public func pendingWait(_ key: String) -> Int? {
        let instant = now()
        let limits = self.limits
        return buckets.withLock { buckets in
            let bucket = refilled(buckets[key], at: instant, limits)
            return bucket.tokens >= 1 ? nil : wait(for: bucket, limits)
        }
    }

    /// The rate and burst granted now (a burst never below one request).
    private var limits: (rate: Double, burst: Double) {
        let fraction = min(1, max(share(), 0.001))
        return (rate * fraction, max(1, burst * fraction))
    }

    private func refilled(_ bucket: Bucket?, at instant: Double, _ limits: (rate: Double, burst: Double)) -> Bucket {
        guard let bucket else { return Bucket(tokens: limits.burst, updated: instant) }
        return Bucket(tokens: min(limits.burst, bucket.tokens + max(0, instant - bucket.updated) * limits.rate), updated: instant)
    }

    private func wait(for bucket: Bucket, _ limits: (rate: Double, burst: Double)) -> Int {
        let seconds = ((1 - bucket.tokens) / limits.rate).rounded(.up)
        return seconds < 86_400 ? max(1, Int(seconds)) : 86_400
    }

    private func store(
        _ bucket: Bucket, for key: String, in buckets: inout [String: Bucket], at instant: Double,
        _ limits: (rate: Double, burst: Double)
    ) {
        if buckets[key] == nil, buckets.count >= maximumKeys {
            buckets = buckets.filter { refilled($0.value, at: instant, limits).tokens < limits.burst }
            if buckets.count >= maximumKeys {
                // Still full of waiting keys: forget the half that waited longest (they are closest to full again).
                let oldest = buckets.sorted { $0.value.updated < $1.value.updated }.prefix(buckets.count / 2).map(\.key)
                for old in oldest { buckets[old] = nil }
            }
        }
        buckets[key] = bucket
    }

    public static let monotonicSeconds: @Sendable () -> Double = {
        let elapsed = ContinuousClock.now - ContinuousClock.Instant.processStart
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

extension ContinuousClock.Instant {
    static let processStart = ContinuousClock.now
}
