import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Copies the write-ahead log back into the database file from its own connection, every `interval`, so the
/// group-commit writer never pays for a checkpoint inside a commit (the writer's automatic checkpoints are off).
///
/// PASSIVE checkpoints never wait for the writer or for readers; a busy moment only leaves more for the next one.
struct WALCheckpointer: Service, CustomStringConvertible {
    let path: String
    let interval: Duration
    let logger: Logger

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
