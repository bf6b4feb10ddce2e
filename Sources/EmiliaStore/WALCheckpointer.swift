import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Copies the write-ahead log back into the database file from its own connection, every `interval`, so the
/// group-commit writer rarely pays for a checkpoint inside a commit.
///
/// PASSIVE checkpoints never wait for the writer or for readers. Under steady writes they never quite catch up
/// (the writer appends while a pass runs), and a log that never starts over grows by every frame written, each on a
/// fresh file block. So the writer keeps an automatic checkpoint at `logRestartFrames` (see `SQLiteEventStore.init`): when the log
/// gets that long it copies the few frames this pass left (nothing else writes meanwhile), and its next commit starts
/// the log over, on pages the OS already holds.
struct WALCheckpointer: Service, CustomStringConvertible {
    let path: String
    let interval: Duration
    let logger: Logger

    init(path: String, interval: Duration = .milliseconds(250), logger: Logger) {
        self.path = path
        self.interval = interval
        self.logger = logger
    }

    var description: String { "WALCheckpointer" }

    func run() async throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    do {
                        try await connection.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
                    } catch is CancellationError {
                        break
                    } catch {
                        logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
                    }
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: fall through to the last checkpoint.
        }
        // A last full pass on the way out keeps the log short for the next start.
        _ = try? await connection.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }
}
