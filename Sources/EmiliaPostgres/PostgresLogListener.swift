import EmiliaStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Hears the `NOTIFY` every node's commit sends (`LISTEN emilia_log` on a connection of its own) and wakes this
/// node's stream subscribers, so an event posted to another node streams here within milliseconds, and an idle
/// subscriber costs no query. After a lost connection it listens again and wakes everyone once, so nothing
/// committed meanwhile waits for a keep-alive.
final class PostgresLogListener: Service, CustomStringConvertible {
    static let channel = "emilia_log"

    private let client: PostgresClient
    private let signal: LogSignal
    private let logger: Logger
    private let monitor: StoreMonitor

    var description: String { "PostgresLogListener" }

    init(client: PostgresClient, signal: LogSignal, logger: Logger, monitor: StoreMonitor) {
        self.client = client
        self.signal = signal
        self.logger = logger
        self.monitor = monitor
    }

    func run() async throws {
        await repeatUntilShutdown(
            every: .milliseconds(100), backoff: FailureBackoff(initial: .milliseconds(100), maximum: .seconds(2)),
            service: "log listener", monitor: monitor, logger: logger
        ) {
            try await cancelWhenGracefulShutdown {
                try await self.client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        self.signal.notify()
                        for try await _ in notifications { self.signal.notify() }
                    }
                }
            }
        }
    }
}
