package import Foundation
public import Logging
public import ServiceLifecycle

/// Deletes events and rejections older than the retention age, in bounded batches, every `interval`.
///
/// Sessions stay (they are the restaurant's history); dedup keys live as long as their events, so the
/// retention age is never below the 72 h that POS producers retry for.
public struct RetentionService: Service, CustomStringConvertible {
    /// The shortest retention accepted: POS producers retry for up to 72 h, and dedup must hold that long.
    public static let minimumAge: Duration = .seconds(72 * 3600)

    let store: any EventStore
    /// How old an event may get.
    public let age: Duration
    let interval: Duration
    let batchSize: Int
    let logger: Logger
    let monitor: StoreMonitor

    public var description: String { "RetentionService" }

    public init(
        store: any EventStore, age: Duration, interval: Duration = .seconds(3600), batchSize: Int = 5000, logger: Logger,
        monitor: StoreMonitor = StoreMonitor()
    ) {
        self.store = store
        self.age = max(age, Self.minimumAge)
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
        self.monitor = monitor
    }

    /// Deletes what is due every `interval` until graceful shutdown. A failed pass (a lock held elsewhere, a full disk)
    /// is logged, counted and retried with backoff: it never ends the server.
    public func run() async throws {
        await repeatUntilShutdown(
            every: interval, backoff: FailureBackoff(initial: .seconds(1), maximum: interval),
            service: "retention", monitor: monitor, logger: logger
        ) {
            let deleted = try await store.deleteExpired(olderThan: Date().addingTimeInterval(-age.seconds), batchSize: batchSize)
            if deleted > 0 { logger.info("Retention deleted old events", metadata: ["events": "\(deleted)"]) }
        }
    }
}

extension Duration {
    /// The duration in seconds.
    package var seconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
