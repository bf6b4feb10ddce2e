import EmiliaStore
import Foundation
import GRDB
import GRDBSQLite
import Logging
import ServiceLifecycle

/// Copies the write-ahead log back into the database file from its own connection, every `interval`, so the
/// group-commit writer does not pay for checkpoints inside its commits.
///
/// PASSIVE checkpoints never wait for the writer or for readers. Under steady writes they never quite catch up (the
/// writer appends while a pass runs), and a log that never starts over grows by every frame written, each on a fresh
/// file block. So when a pass leaves a log of `restartFrames` or more, the checkpointer copies the few frames appended
/// during the pass on the writer's own connection, between two group commits (the pool serialises them, so nothing
/// else writes meanwhile): the next commit then starts the log over, on pages the OS already holds. Right after a
/// pass is when that tail is shortest, so the writes pause least. The pages a pass copied are synced from here first:
/// SQLite syncs them only with a pass that reaches the log's end, which would be the writer's, and flushing half a
/// second of checkpoints held the writes for 25–45 ms.
struct WALCheckpointer: Service, CustomStringConvertible {
    let path: String
    let interval: Duration
    let restartFrames: Int
    let logger: Logger
    let monitor: StoreMonitor
    /// The pool whose writer connection commits the events.
    let writer: DatabasePool

    init(
        path: String, interval: Duration = .milliseconds(250), restartFrames: Int, logger: Logger, monitor: StoreMonitor,
        writer: DatabasePool
    ) {
        self.path = path
        self.interval = interval
        self.restartFrames = restartFrames
        self.logger = logger
        self.monitor = monitor
        self.writer = writer
    }

    var description: String { "WALCheckpointer" }

    /// Checkpoints until graceful shutdown. A failure (opening its connection, a checkpoint) is logged, counted and
    /// retried with backoff: it never ends the server.
    func run() async throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        var connection: DatabaseQueue?
        await repeatUntilShutdown(
            every: interval, backoff: FailureBackoff(initial: interval, maximum: .seconds(30)),
            service: "checkpointer", monitor: monitor, logger: logger
        ) {
            let queue = try connection ?? DatabaseQueue(path: path, configuration: configuration)
            connection = queue
            // Columns: busy, frames in the log, frames checkpointed.
            let logFrames = try await queue.writeWithoutTransaction { db in
                try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)").map { $0[1] as Int } ?? 0
            }
            if logFrames >= restartFrames {
                // A pass overtaken by commits leaves the pages it copied unsynced (SQLite syncs the file only when a
                // pass reaches the log's live end). Sync them here, so the writer's pass flushes only its own few.
                try await queue.writeWithoutTransaction { db in try Self.syncDatabaseFile(db) }
                try await writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
            }
        }
        // A last full pass on the way out keeps the log short for the next start.
        _ = try? await connection?.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }
}

extension WALCheckpointer {
    /// Flushes the database file through SQLite's own handle (on GRDB's queue, off the concurrency pool). A
    /// descriptor of our own would do the same, but closing it would drop every POSIX lock this process holds on the
    /// file, SQLite's included.
    static func syncDatabaseFile(_ db: Database) throws {
        var file: UnsafeMutablePointer<sqlite3_file>?
        let found = withUnsafeMutablePointer(to: &file) {
            sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_FILE_POINTER, $0)
        }
        guard found == SQLITE_OK, let file, let sync = file.pointee.pMethods?.pointee.xSync else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "no file to sync")
        }
        let synced = sync(file, SQLITE_SYNC_NORMAL)
        guard synced == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: synced)) }
    }
}
