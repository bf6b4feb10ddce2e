public import EmiliaPostgres
import EmiliaSQLite
public import EmiliaStore
public import Foundation
public import Logging
public import ServiceLifecycle

/// Where Emilia keeps its data: a SQLite file in a data directory (one machine; the default) or a PostgreSQL
/// database shared by several `emilia serve` nodes. `buildApplication` and every CLI command open storage through
/// here, and nowhere else.
public enum StorageConfiguration: Sendable, Equatable {
    case sqlite(directory: URL)
    case postgres(PostgresLocation)

    /// `--database URL` / `EMILIA_DATABASE_URL` when set (`postgres://` or `postgresql://`), else SQLite in
    /// `dataDirectory`.
    public static func resolve(databaseURL: String?, dataDirectory: URL) throws -> StorageConfiguration {
        guard let databaseURL, !databaseURL.isEmpty else { return .sqlite(directory: dataDirectory) }
        return .postgres(try PostgresLocation(url: databaseURL))
    }

    /// What to show in a log line or the console: never a password.
    public var displayName: String {
        switch self {
        case .sqlite(let directory): "SQLite in \(directory.path)"
        case .postgres(let location): "PostgreSQL at \(location.redacted)"
        }
    }
}

/// The tuning a server gives its store; the defaults suit the CLI.
public struct StorageTuning: Sendable {
    /// How long a token look-up is remembered (a change made elsewhere holds within it).
    public var tokenCacheLifetime: Duration = .seconds(1)
    /// SQLite: how long a write waits for a lock held by another process. PostgreSQL: how long a call waits for the
    /// database (an unreachable one) before it fails as unavailable.
    public var busyTimeout: Duration = .seconds(10)
    /// SQLite: checkpoint the WAL from a connection of its own.
    public var separateCheckpoints = true
    /// The most writes waiting for a commit before appends fail as unavailable.
    public var maximumPendingWrites = 50_000
    /// SQLite: below this much free disk, health reports storage unavailable.
    public var minimumFreeBytes: Int64 = 16 * 1024 * 1024
    public var monitor = StoreMonitor()

    public init() {}
}

/// An opened store, the services that keep it up to date (writer, folder, checkpointer, listeners: a server runs
/// them), and how to let go of it.
public struct OpenedStore: Sendable {
    public let store: any EventStore
    public let services: [any Service]
    /// The services a command runs while it appends (the writer and the folder, never what makes it a node).
    public let commandServices: [any Service]
    /// Releases the connections (PostgreSQL); after `services` have stopped.
    public let close: @Sendable () async -> Void
}

extension StorageConfiguration {
    /// Opens (creating and migrating when needed) the store.
    public func open(logger: Logger, tuning: StorageTuning = StorageTuning()) async throws -> OpenedStore {
        switch self {
        case .sqlite(let directory):
            let store = try SQLiteEventStore(
                directory: directory, logger: logger, tokenCacheLifetime: tuning.tokenCacheLifetime,
                busyTimeout: tuning.busyTimeout, separateCheckpoints: tuning.separateCheckpoints,
                maximumPendingWrites: tuning.maximumPendingWrites, minimumFreeBytes: tuning.minimumFreeBytes, monitor: tuning.monitor)
            return OpenedStore(store: store, services: store.services, commandServices: store.services, close: {})
        case .postgres(let location):
            return try await openPostgres(location, logger: logger, tuning: tuning)
        }
    }

    /// Opens the store, runs `body`, and closes it. With `runningServices`, the store's services (the writer, the
    /// folder) run meanwhile and stop gracefully after `body`, so what it appended is committed and folded.
    public func withStore<Result: Sendable>(
        logger: Logger, runningServices: Bool = false,
        _ body: @Sendable (any EventStore) async throws -> Result
    ) async throws -> Result {
        let opened = try await open(logger: logger)
        do {
            let result = runningServices ? try await Self.run(body, on: opened, logger: logger) : try await body(opened.store)
            await opened.close()
            return result
        } catch {
            await opened.close()
            throw error
        }
    }

    /// Runs `body` with the store's services running, then stops them gracefully (also when `body` throws).
    private static func run<Result: Sendable>(
        _ body: @Sendable (any EventStore) async throws -> Result, on opened: OpenedStore,
        logger: Logger
    ) async throws -> Result {
        let group = ServiceGroup(services: opened.commandServices, logger: logger)
        return try await withThrowingTaskGroup(of: Result?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            defer { tasks.cancelAll() }
            do {
                let result = try await body(opened.store)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }
}

extension StorageConfiguration {
    private func openPostgres(_ location: PostgresLocation, logger: Logger, tuning: StorageTuning) async throws -> OpenedStore {
        let store = try await PostgresEventStore.open(
            location, logger: logger,
            options: PostgresEventStore.Options(
                tokenCacheLifetime: tuning.tokenCacheLifetime, callTimeout: tuning.busyTimeout,
                maximumPendingWrites: tuning.maximumPendingWrites, monitor: tuning.monitor))
        return OpenedStore(
            store: store, services: store.services, commandServices: store.commandServices,
            close: { await store.close() })
    }
}
