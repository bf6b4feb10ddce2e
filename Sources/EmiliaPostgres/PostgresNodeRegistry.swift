import EmiliaStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Keeps this node's row in `nodes` fresh and counts the live nodes, so each can hold its share of a token's rate
/// limit. A node that stops deletes its row; one that dies drops out after `liveFor`.
final class PostgresNodeRegistry: Service, CustomStringConvertible {
    static let heartbeat: Duration = .seconds(2)
    /// A node not seen for this long is not counted.
    static let liveFor: Double = 10

    let id = UUID().uuidString.lowercased()
    private let client: PostgresClient
    private let logger: Logger
    private let monitor: StoreMonitor
    private let count = Atomic<Int>(1)

    var description: String { "PostgresNodeRegistry" }

    init(client: PostgresClient, logger: Logger, monitor: StoreMonitor) {
        self.client = client
        self.logger = logger
        self.monitor = monitor
    }

    /// The live nodes at the last heartbeat (at least this one).
    var liveNodes: Int { count.load(ordering: .relaxed) }

    func run() async throws {
        await repeatUntilShutdown(
            every: Self.heartbeat, backoff: FailureBackoff(initial: .seconds(1), maximum: Self.heartbeat),
            service: "node registry", monitor: monitor, logger: logger
        ) {
            try await beat()
        }
        _ = try? await PostgresFailure.withDeadline(.seconds(2)) { [client, id] in
            try await client.query("DELETE FROM nodes WHERE id = \(id)").collect()
        }
    }

    private func beat() async throws {
        let now = Date().timeIntervalSince1970
        let since = now - Self.liveFor
        let live = try await PostgresFailure.withDeadline(.seconds(5)) { [client, id] in
            _ = try await client.query(
                """
                INSERT INTO nodes (id, seen_at) VALUES (\(id), \(now)) ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at
                """
            ).collect()
            _ = try await client.query("DELETE FROM nodes WHERE seen_at < \(now - 3600)").collect()
            for try await live in try await client.query("SELECT count(*) FROM nodes WHERE seen_at > \(since)").decode(Int.self) {
                return live
            }
            return 1
        }
        count.store(max(1, live), ordering: .relaxed)
    }
}
