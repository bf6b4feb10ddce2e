package import Logging
import ServiceLifecycle

/// How a service loop waits after failures: doubling from `initial` up to `maximum`, and logging only the 1st, 2nd,
/// 4th, 8th… failure in a row, so a storage fault that lasts an hour writes a dozen lines, not a flood.
package struct FailureBackoff: Sendable {
    package let initial: Duration
    package let maximum: Duration
    /// Failures in a row.
    package private(set) var failures = 0

    package init(initial: Duration = .milliseconds(25), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// Counts one more failure and answers how long to wait before the next try.
    package mutating func failed() -> Duration {
        failures += 1
        let doublings = min(failures - 1, 20)
        return min(initial * (1 << doublings), maximum)
    }

    /// True for the failures worth a log line (a power of two in a row).
    package var shouldLog: Bool { failures > 0 && failures & (failures - 1) == 0 }

    /// Starts over after a success; true when it ends a run of failures (worth saying so once).
    package mutating func succeeded() -> Bool {
        defer { failures = 0 }
        return failures > 0
    }
}

extension FailureBackoff {
    /// Counts one failure of `service` (in `/metrics`), logs it when it is the 1st, 2nd, 4th… in a row, and answers
    /// how long to wait before the next try.
    package mutating func record(
        _ error: any Error, service: String, monitor: StoreMonitor, logger: Logger,
        _ message: Logger.Message
    ) -> Duration {
        let wait = failed()
        monitor.serviceError(service)
        if shouldLog { logger.error(message, metadata: ["error": "\(error)", "failures": "\(failures)"]) }
        return wait
    }
}

/// Runs `pass` every `interval` until graceful shutdown or cancellation. A failed pass is recorded (metrics, sparse
/// logs) and tried again after the backoff's wait: a service written with it never ends the server on an error.
/// `wakeSignal` cuts the pause after a successful pass short (never a backoff).
package func repeatUntilShutdown(
    every interval: Duration, backoff: FailureBackoff, service: String, monitor: StoreMonitor,
    logger: Logger, wakeSignal: WakeSignal? = nil, _ pass: () async throws -> Void
) async {
    var backoff = backoff
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
        let wakesSeen = wakeSignal?.count ?? 0
        var failureWait: Duration?
        do {
            try await pass()
            if backoff.succeeded() { logger.notice("\(service) works again") }
        } catch is CancellationError {
            return
        } catch {
            failureWait = backoff.record(
                error, service: service, monitor: monitor, logger: logger, "\(service) failed a pass; will retry")
        }
        let wait = failureWait
        try? await cancelWhenGracefulShutdown {
            if let wakeSignal, wait == nil {
                await wakeSignal.pause(for: interval, after: wakesSeen)
            } else {
                try await Task.sleep(for: wait ?? interval)
            }
        }
    }
}
