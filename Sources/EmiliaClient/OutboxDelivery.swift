public import Foundation
public import Logging
public import ServiceLifecycle

/// Delivers the outbox: in order per `order_id`, concurrently across orders, retrying transient failures with
/// backoff across restarts for a retry budget of time (72 h by default, counted from when the message was enqueued),
/// and parking a message as dead with its last status and reason when the server refuses it for good or the budget
/// is spent. Run it as a `Service` (it outlives storage errors; only shutdown ends it), or call `drain()`.
public struct OutboxDelivery: Service {
    public let outbox: Outbox
    public let client: WebhookClient
    /// The backoff between attempts (its `maximumAttempts` is not used: the retry budget decides).
    public var policy: RetryPolicy
    /// How long after it was enqueued a message is still retried after a transient failure.
    public var retryBudget: Duration
    /// How many orders are delivered at once.
    public var concurrency: Int
    public var monitor: WebhookMonitor?
    let environment: RetryEnvironment
    let now: @Sendable () -> Date
    let logger: Logger

    /// - Parameters:
    ///   - retryBudget: transient failures (timeouts, connection errors, 408, 429, 5xx) are retried until this long
    ///     after the message was enqueued; the first one after that parks it as dead.
    ///   - environment: the sleep (backoffs, idle waits, waits after a storage error) and the dice.
    ///   - now: the clock that schedules attempts and measures the budget.
    public init(
        outbox: Outbox, client: WebhookClient, policy: RetryPolicy = .outbox, retryBudget: Duration = .seconds(72 * 3600),
        concurrency: Int = 8, monitor: WebhookMonitor? = nil, environment: RetryEnvironment = .live,
        now: @escaping @Sendable () -> Date = { Date() }, logger: Logger = Logger(label: "emilia.outbox")
    ) {
        self.outbox = outbox
        self.client = client
        self.policy = policy
        self.retryBudget = retryBudget
        self.concurrency = concurrency
        self.monitor = monitor
        self.environment = environment
        self.now = now
        self.logger = logger
    }

    /// Delivers until cancelled or shut down gracefully, waking for due messages (polling at least every second).
    /// Never ends because of an error: a storage error is logged and the loop tries again after a backoff.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                do {
                    var wait: TimeInterval = 0
                    if try await deliverDue() == 0 {
                        wait = try outbox.nextDue().map { max(0.05, min(1, $0.timeIntervalSince(now()))) } ?? 0.2
                    }
                    failures = 0
                    if wait > 0 { try await environment.sleep(.milliseconds(Int(wait * 1000))) }
                } catch  where Task.isCancelled {
                    // Graceful shutdown: what is pending stays on disk for the next run.
                } catch {
                    failures += 1
                    let delay = Self.storageBackoff(failures: failures, random: environment.random())
                    logger.error(
                        "Outbox storage error; delivery continues after a backoff",
                        metadata: ["error": "\(error)", "failures": "\(failures)", "retry_in": "\(delay)"])
                    try? await environment.sleep(delay)
                }
            }
        }
    }

    /// Delivers until nothing is pending (waiting out backoffs), then returns the counts. Throws storage errors.
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

    /// One round: every due message (one per order), sent concurrently. Returns how many were attempted; throws the
    /// first storage error once every attempt of the round has finished.
    public func deliverDue() async throws -> Int {
        let due = try outbox.due(now: now(), limit: concurrency)
        let errors = await withTaskGroup(of: (any Error)?.self) { group in
            for message in due {
                group.addTask { await attempt(message) }
            }
            var errors: [any Error] = []
            for await case let error? in group { errors.append(error) }
            return errors
        }
        if let error = errors.first { throw error }
        return due.count
    }

    /// When a message that just failed is tried again, or nil to park it as dead.
    func retryDate(after error: WebhookError, createdAt: Date, attempts: Int, at time: Date) -> Date? {
        guard error.isRetryable, time.timeIntervalSince(createdAt) < retryBudget.timeInterval else { return nil }
        let delay = policy.delay(afterAttempt: attempts, random: environment.random(), retryAfterSeconds: error.retryAfterSeconds)
        return time.addingTimeInterval(delay.timeInterval)
    }

    /// The wait after `failures` storage errors in a row: 250 ms doubling to 30 s, never under half of that.
    static func storageBackoff(failures: Int, random: Double) -> Duration {
        let ceiling = min(Duration.milliseconds(250) * Double(1 << min(max(failures - 1, 0), 16)), .seconds(30))
        return ceiling * (0.5 + max(0, min(random, 1)) / 2)
    }

    /// One attempt; returns the storage error that kept its outcome off the disk, if any.
    private func attempt(_ message: OutboxMessage) async -> (any Error)? {
        let attempts = message.attempts + 1
        let receipt: Receipt
        do {
            receipt = try await client.sendOnce(message.body, idempotencyKey: message.idempotencyKey, attempt: attempts)
        } catch {
            // Cut short by shutdown: not the server's doing, so it stays pending as it was.
            if Task.isCancelled { return nil }
            let failure =
                error as? WebhookError
                ?? WebhookError(kind: .connection(String(describing: error)), detail: String(describing: error), attempts: attempts)
            return recordFailure(failure, of: message, attempts: attempts)
        }
        monitor?.recordSuccess()
        do {
            try outbox.markDelivered(message.id, eventID: receipt.eventID, attempts: attempts)
            return nil
        } catch {
            // Sent but not recorded: it is sent again, with the same idempotency key, once storage works.
            return error
        }
    }

    private func recordFailure(_ error: WebhookError, of message: OutboxMessage, attempts: Int) -> (any Error)? {
        monitor?.recordFailure(error)
        let status: Int? = if case .status(let code) = error.kind { code } else { nil }
        let time = now()
        let retryAt = retryDate(after: error, createdAt: message.createdAt, attempts: attempts, at: time)
        var reason = error.description
        if retryAt == nil {
            if error.isRetryable { reason += " (still failing after the \(retryBudget.spoken) retry budget)" }
            logger.warning(
                "Outbox message parked as dead",
                metadata: [
                    "message": "\(message.id)", "attempts": "\(attempts)",
                    "reason": "\(reason)",
                ])
        } else {
            logger.debug(
                "Outbox message will be retried",
                metadata: [
                    "message": "\(message.id)", "attempts": "\(attempts)",
                    "reason": "\(reason)",
                ])
        }
        do {
            try outbox.markFailed(message.id, attempts: attempts, status: status, reason: reason, retryAt: retryAt, now: time)
            return nil
        } catch {
            return error
        }
    }
}

extension Duration {
    /// In seconds, fractions included.
    fileprivate var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// "72 h", "90 min", "30 s".
    fileprivate var spoken: String {
        let seconds = components.seconds
        if seconds >= 3600, seconds % 3600 == 0 { return "\(seconds / 3600) h" }
        if seconds >= 60, seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(String(format: "%g", timeInterval)) s"
    }
}
