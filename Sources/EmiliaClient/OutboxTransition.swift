public import Foundation

/// What becomes of an outbox message after one attempt: a pure decision, from the attempt's result, the message's
/// age and the retry rules, with no clock, dice or database of its own.
public enum OutboxTransition: Sendable, Equatable {
    /// The server took it: it is done.
    case delivered(eventID: String)
    /// A transient failure within the retry budget: tried again at `at`.
    case retry(at: Date, status: Int?, reason: String)
    /// Refused for good, or still failing once the budget is spent: parked with its last status and reason.
    case dead(status: Int?, reason: String)

    /// The rules a transition follows.
    public struct Rules: Sendable {
        /// The backoff between attempts (its `maximumAttempts` is not used: the budget decides).
        public var policy: RetryPolicy
        /// How long after it was enqueued a message is still retried after a transient failure.
        public var retryBudget: Duration

        public init(policy: RetryPolicy = .outbox, retryBudget: Duration = .seconds(72 * 3600)) {
            self.policy = policy
            self.retryBudget = retryBudget
        }

        /// The transition after attempt number `attempts` of a message enqueued at `createdAt`, ending at `time`.
        /// - Parameter random: the dice for the backoff's jitter, in 0...1.
        public func next(
            after result: Result<Receipt, WebhookError>, createdAt: Date, attempts: Int, at time: Date, random: Double
        ) -> OutboxTransition {
            let error: WebhookError
            switch result {
            case .success(let receipt): return .delivered(eventID: receipt.eventID)
            case .failure(let failure): error = failure
            }
            let status = error.status
            guard error.isRetryable else { return .dead(status: status, reason: error.description) }
            guard time.timeIntervalSince(createdAt) < retryBudget.timeInterval else {
                return .dead(status: status, reason: error.description + " (still failing after the \(retryBudget.spoken) retry budget)")
            }
            let delay = policy.delay(afterAttempt: attempts, random: random, retryAfterSeconds: error.retryAfterSeconds)
            return .retry(at: time.addingTimeInterval(delay.timeInterval), status: status, reason: error.description)
        }
    }
}

extension Duration {
    /// In seconds, fractions included.
    var timeInterval: TimeInterval {
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
