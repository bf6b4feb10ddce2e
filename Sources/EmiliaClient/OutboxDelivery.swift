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
    /// When a failed message is tried again, and when it is parked as dead.
    public var rules: OutboxTransition.Rules
    /// How many orders are delivered at once.
    public var concurrency: Int
    public var monitor: WebhookMonitor?
    let clock: RetryClock
    let now: @Sendable () -> Date
    let logger: Logger

    /// - Parameters:
    ///   - retryBudget: transient failures (timeouts, connection errors, 408, 429, 5xx) are retried until this long
    ///     after the message was enqueued; the first one after that parks it as dead.
    ///   - clock: the sleep (backoffs, idle waits, waits after a storage error) and the dice.
    ///   - now: the clock that schedules attempts and measures the budget.
    public init(
        outbox: Outbox, client: WebhookClient, policy: RetryPolicy = .outbox, retryBudget: Duration = .seconds(72 * 3600),
        concurrency: Int = 8, monitor: WebhookMonitor? = nil, clock: RetryClock = .live,
        now: @escaping @Sendable () -> Date = { Date() }, logger: Logger
    ) {
        self.outbox = outbox
        self.client = client
        rules = OutboxTransition.Rules(policy: policy, retryBudget: retryBudget)
        self.concurrency = concurrency
        self.monitor = monitor
        self.clock = clock
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
                        wait = try await outbox.nextDue().map { max(0.05, min(1, $0.timeIntervalSince(now()))) } ?? 0.2
                    }
                    failures = 0
                    if wait > 0 { try await clock.sleep(.milliseconds(Int(wait * 1000))) }
                } catch  where Task.isCancelled {
                    // Graceful shutdown: what is pending stays on disk for the next run.
                } catch {
                    failures += 1
                    let delay = Self.storageBackoff(failures: failures, random: clock.random())
                    logger.error(
                        "Outbox storage error; delivery continues after a backoff",
                        metadata: ["error": "\(error)", "failures": "\(failures)", "retry_in": "\(delay)"])
                    try? await clock.sleep(delay)
                }
            }
        }
    }

    /// Delivers until nothing is pending (waiting out backoffs), then returns the counts. Throws storage errors.
    @discardableResult
    public func drain(progress: @Sendable (OutboxCounts) -> Void = { _ in }) async throws -> OutboxCounts {
        while true {
            let counts = try await outbox.counts()
            progress(counts)
            if counts.pending == 0 { return counts }
            if try await deliverDue() == 0, let next = try await outbox.nextDue() {
                let wait = max(0.01, next.timeIntervalSince(now()))
                try await clock.sleep(.milliseconds(Int(wait * 1000)))
            }
        }
    }

    /// One round: every due message (one per order), sent concurrently. Returns how many were attempted; throws the
    /// first storage error once every attempt of the round has finished.
    public func deliverDue() async throws -> Int {
        let due = try await outbox.due(now: now(), limit: concurrency)
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

    /// The wait after `failures` storage errors in a row: 250 ms doubling to 30 s, never under half of that.
    static func storageBackoff(failures: Int, random: Double) -> Duration {
        let ceiling = min(Duration.milliseconds(250) * Double(1 << min(max(failures - 1, 0), 16)), .seconds(30))
        return ceiling * (0.5 + max(0, min(random, 1)) / 2)
    }

    /// One attempt and its outcome recorded; returns the storage error that kept the outcome off the disk, if any.
    private func attempt(_ message: OutboxMessage) async -> (any Error)? {
        let attempts = message.attempts + 1
        let result: Result<Receipt, WebhookError>
        do {
            result = .success(try await client.sendOnce(message.body, idempotencyKey: message.idempotencyKey, attempt: attempts))
        } catch {
            // Cut short by shutdown: not the server's doing, so it stays pending as it was.
            if Task.isCancelled { return nil }
            result = .failure(
                error as? WebhookError
                    ?? WebhookError(.connection, detail: String(describing: error), attempts: attempts))
        }
        switch result {
        case .success: monitor?.recordSuccess()
        case .failure(let error): monitor?.recordFailure(error)
        }
        let time = now()
        let transition = rules.next(
            after: result, createdAt: message.createdAt, attempts: attempts, at: time, random: clock.random())
        do {
            switch transition {
            case .delivered(let eventID):
                // Sent but not recorded (a storage error): it is sent again, with the same idempotency key.
                try await outbox.markDelivered(message.id, eventID: eventID, attempts: attempts)
            case .retry(let retryAt, let status, let reason):
                logger.debug(
                    "Outbox message will be retried",
                    metadata: ["message": "\(message.id)", "attempts": "\(attempts)", "reason": "\(reason)"])
                try await outbox.markFailed(message.id, attempts: attempts, status: status, reason: reason, retryAt: retryAt, now: time)
            case .dead(let status, let reason):
                logger.warning(
                    "Outbox message parked as dead",
                    metadata: ["message": "\(message.id)", "attempts": "\(attempts)", "reason": "\(reason)"])
                try await outbox.markFailed(message.id, attempts: attempts, status: status, reason: reason, retryAt: nil, now: time)
            }
            return nil
        } catch {
            return error
        }
    }
}
