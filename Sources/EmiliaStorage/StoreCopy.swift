public import EmiliaPostgres
import EmiliaSQLite
import EmiliaStore
public import Foundation
public import Logging

/// Moves a restaurant group from one machine to PostgreSQL: copies tokens (their hashes), events (exact bytes and
/// ids, in log order) and rejections from a SQLite data dir into an empty PostgreSQL database, then rebuilds the
/// sessions there. Run again after an interruption, it goes on from the last event copied.
public struct StoreCopy: Sendable {
    /// What a copy is doing, for its progress line.
    public enum Stage: String, Sendable {
        case events = "Copying events"
        case rejections = "Copying rejections"
        case sessions = "Rebuilding sessions"
    }

    /// What was copied.
    public struct Summary: Sendable {
        public var tokens = 0
        public var events = 0
        public var rejections = 0
        public var sessions = 0
        /// Events that were already there from an earlier, interrupted run.
        public var resumedAfter = 0
    }

    public let source: URL
    public let target: PostgresLocation
    public let logger: Logger
    static let eventsPerBatch = 1_000
    static let bytesPerBatch = 8 * 1024 * 1024

    public init(source: URL, target: PostgresLocation, logger: Logger) {
        self.source = source
        self.target = target
        self.logger = logger
    }

    public func run(progress: @Sendable (Stage, Int, Int) -> Void) async throws -> Summary {
        guard FileManager.default.fileExists(atPath: source.appendingPathComponent(SQLiteEventStore.fileName).path) else {
            throw StoreError(.invalidInput, "no Emilia data in \(source.path) (no \(SQLiteEventStore.fileName))")
        }
        let from = try SQLiteEventStore(directory: source, logger: logger)
        // A batch is up to 8 MiB over what may be a slow link: a generous deadline per call.
        let to = try await PostgresEventStore.open(target, logger: logger, options: PostgresEventStore.Options(callTimeout: .seconds(300)))
        do {
            let summary = try await copy(from: from, to: to, progress: progress)
            await to.close()
            return summary
        } catch {
            await to.close()
            throw error
        }
    }

    private func copy(
        from: SQLiteEventStore, to: PostgresEventStore,
        progress: @Sendable (Stage, Int, Int) -> Void
    ) async throws -> Summary {
        var summary = Summary()
        let existing = try await to.logSummary()
        var cursor: Int64 = 0
        if let newest = existing.newestEventID {
            // Only a copy of this same log may be resumed: anything else means the database is in use.
            guard let order = try await from.sourceOrder(ofEvent: newest) else {
                throw StoreError(
                    .invalidInput, "\(target.redacted) already holds events that are not from \(source.path): copy into an empty database")
            }
            cursor = order
            summary.resumedAfter = existing.count
        }
        let tokens = try await from.exportTokens()
        try await to.importTokens(tokens)
        summary.tokens = tokens.count

        let total = try await from.eventCount()
        var done = existing.count
        progress(.events, done, total)
        while true {
            let batch = try await from.exportEvents(after: cursor, limit: Self.eventsPerBatch, maximumBytes: Self.bytesPerBatch)
            guard let last = batch.last else { break }
            let inserted = try await to.importEvents(batch)
            guard inserted == batch.count else {
                throw StoreError(
                    .invalidInput,
                    "\(batch.count - inserted) events of this copy clash with events already in \(target.redacted) (same id or dedup key): copy into an empty database"
                )
            }
            cursor = last.sourceOrder
            done += batch.count
            summary.events += batch.count
            progress(.events, min(done, total), total)
        }

        var rejectionCursor = existing.newestRejectionID ?? 0
        while true {
            let batch = try await from.exportRejections(after: rejectionCursor, limit: Self.eventsPerBatch)
            guard let last = batch.last else { break }
            try await to.importRejections(batch)
            rejectionCursor = last.id
            summary.rejections += batch.count
            progress(.rejections, summary.rejections, summary.rejections)
        }
        summary.sessions = try await to.rebuildSessions { done, total in progress(.sessions, done, total) }
        return summary
    }
}
