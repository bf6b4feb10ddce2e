import Foundation
import Synchronization

/// Counts sends and raises an alert when the success rate falls below a threshold (95 % after 100 sends).
public final class WebhookMonitor: Sendable {
    public struct Statistics: Sendable, Hashable {
        public var sent: Int
        public var succeeded: Int
        public var failed: Int
        /// Failures by HTTP status, or by `timeout` / `connection`.
        public var errors: [String: Int]
        /// succeeded / sent, 1 when nothing was sent.
        public var successRate: Double { sent == 0 ? 1 : Double(succeeded) / Double(sent) }
    }

    private struct State {
        var statistics = Statistics(sent: 0, succeeded: 0, failed: 0, errors: [:])
        var alerting = false
    }

    private let state = Mutex(State())
    private let threshold: Double
    private let minimumSends: Int
    private let alert: @Sendable (Statistics) -> Void

    /// - Parameter alert: called once each time the rate drops below `threshold` (after `minimumSends`), again only
    ///   after it has recovered.
    public init(threshold: Double = 0.95, minimumSends: Int = 100, alert: @escaping @Sendable (Statistics) -> Void = { _ in }) {
        self.threshold = threshold
        self.minimumSends = minimumSends
        self.alert = alert
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    public func recordSuccess() { record(nil) }

    public func recordFailure(_ error: WebhookError) {
        // An HTTP status by its number (`503`), anything else by its code (`timeout`).
        record(error.status.map(String.init) ?? error.code.description)
    }

    private func record(_ failure: String?) {
        let fire: Statistics? = state.withLock { state in
            state.statistics.sent += 1
            if let failure {
                state.statistics.failed += 1
                state.statistics.errors[failure, default: 0] += 1
            } else {
                state.statistics.succeeded += 1
            }
            let below = state.statistics.sent >= minimumSends && state.statistics.successRate < threshold
            defer { state.alerting = below }
            return below && !state.alerting ? state.statistics : nil
        }
        if let fire { alert(fire) }
    }
}
