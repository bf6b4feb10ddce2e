import Foundation

/// When to try again and how long to wait: exponential backoff with full jitter, `Retry-After` obeyed up to a cap.
///
/// Retried: 408, 429, every 5xx, timeouts and connection errors. Not retried: 400, 401, 413 and other 4xx.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included (`WebhookClient.send`; the outbox is bounded by time instead).
    public var maximumAttempts = 3
    /// The backoff before the second attempt's jitter (doubles each time).
    public var baseDelay: Duration = .milliseconds(500)
    /// The most one backoff may be.
    public var maximumDelay: Duration = .seconds(30)
    /// The most a server's `Retry-After` is waited for.
    public var maximumRetryAfter: Duration = .seconds(60)

    public init(
        maximumAttempts: Int = 3, baseDelay: Duration = .milliseconds(500), maximumDelay: Duration = .seconds(30),
        maximumRetryAfter: Duration = .seconds(60)
    ) {
        self.maximumAttempts = maximumAttempts
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
        self.maximumRetryAfter = maximumRetryAfter
    }

    /// The outbox's backoff: 1 s doubling to a 5 min cap, full jitter; its retry budget, not a count, ends the retries.
    public static let outbox = RetryPolicy(maximumAttempts: .max, baseDelay: .seconds(1), maximumDelay: .seconds(300))

    /// True when a failure with this HTTP status is worth another attempt.
    public static func isRetryable(status: Int) -> Bool {
        status == 408 || status == 429 || (500...599).contains(status)
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1), given a random number in [0, 1) and the
    /// server's `Retry-After` seconds if it sent one.
    public func delay(afterAttempt attempt: Int, random: Double, retryAfterSeconds: Int? = nil) -> Duration {
        if let retryAfterSeconds {
            return min(.seconds(max(0, retryAfterSeconds)), maximumRetryAfter)
        }
        let exponent = min(attempt - 1, 30)
        let ceiling = min(baseDelay * Double(1 << exponent), maximumDelay)
        return ceiling * max(0, min(random, 1))
    }
}

/// The clock retries sleep on, and the dice of their jitter: what the client may not decide by itself. Tests inject
/// their own.
public struct RetryClock: Sendable {
    public var sleep: @Sendable (Duration) async throws -> Void
    public var random: @Sendable () -> Double

    public init(sleep: @escaping @Sendable (Duration) async throws -> Void, random: @escaping @Sendable () -> Double) {
        self.sleep = sleep
        self.random = random
    }

    /// The real clock and a system random source.
    public static let live = RetryClock(sleep: { try await Task.sleep(for: $0) }, random: { Double.random(in: 0..<1) })
}
