import Foundation
import Logging
import ServiceLifecycle

/// Delivers the outbox: in order per `order_id`, concurrently across orders, retrying with backoff across
/// restarts (attempts are on disk), and parking a message as dead with its last status and reason when its
/// attempts run out or the server refuses it for good. Run it as a `Service`, or call `drain()`.
public struct OutboxDelivery: Service {
    public let outbox: Outbox
    public let client: WebhookClient
    /// Attempts per message (across restarts) and the backoff between them.
    public var policy: RetryPolicy
    /// How many orders are delivered at once.
    public var concurrency: Int
    public var monitor: WebhookMonitor?
    let environment: RetryEnvironment
    let now: @Sendable () -> Date
    let logger: Logger

    public init(outbox: Outbox, client: WebhookClient,
                policy: RetryPolicy = RetryPolicy(maximumAttempts: 8, baseDelay: .seconds(1), maximumDelay: .seconds(300)),
                concurrency: Int = 8, monitor: WebhookMonitor? = nil, environment: RetryEnvironment = .live,
                now: @escaping @Sendable () -> Date = { Date() }, logger: Logger = Logger(label: "emilia.outbox")) {
        self.outbox = outbox
        self.client = client
        self.policy = policy
        self.concurrency = concurrency
        self.monitor = monitor
        self.environment = environment
        self.now = now
        self.logger = logger
    }

    /// Delivers until shut down, waking for due messages (polling at most every `idle`).
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    if try await deliverDue() == 0 {
                        let wait = try outbox.nextDue().map { max(0.05, min(1, $0.timeIntervalSince(now()))) } ?? 0.2
                        try await Task.sleep(for: .milliseconds(Int(wait * 1000)))
                    }
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: what is pending stays on disk for the next run.
        }
    }

    /// Delivers until nothing is pending (waiting out backoffs), then returns the counts.
    @discardableResult
    public func drain(progress: @Sendable (OutboxCounts) -> Void = { _ in }) async throws -> OutboxCounts {
        while true {
            let counts = try outbox.counts()
            progress(counts)
            if counts.pending == 0 { return counts }
            if try await deliverDue() == 0, let next = try outbox.nextDue() {
                let wait = max(0.01, next.timeIntervalSince(now()))
                try await environment.sleep(.milliseconds(Int(wait * 1000)))
            }
        }
    }

    /// One round: every due message (one per order), sent concurrently. Returns how many were attempted.
    public func deliverDue() async throws -> Int {
        let due = try outbox.due(now: now(), limit: concurrency)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for message in due {
                group.addTask { try await attempt(message) }
            }
            try await group.waitForAll()
        }
        return due.count
    }

    private func attempt(_ message: OutboxMessage) async throws {
        let attempts = message.attempts + 1
        do {
            let receipt = try await client.sendOnce(message.body, idempotencyKey: message.idempotencyKey, attempt: attempts)
            try outbox.markDelivered(message.id, eventID: receipt.eventID, attempts: attempts)
            monitor?.recordSuccess()
        } catch let error as WebhookError {
            monitor?.recordFailure(error)
            let status: Int? = if case .status(let code) = error.kind { code } else { nil }
            var retryAt: Date?
            if error.isRetryable && attempts < policy.maximumAttempts {
                let delay = policy.delay(afterAttempt: attempts, random: environment.random(), retryAfterSeconds: error.retryAfterSeconds)
                retryAt = now().addingTimeInterval(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
            } else {
                logger.warning("Outbox message parked as dead", metadata: ["message": "\(message.id)", "reason": "\(error)"])
            }
            try outbox.markFailed(message.id, attempts: attempts, status: status, reason: error.description, retryAt: retryAt)
        }
    }
}
