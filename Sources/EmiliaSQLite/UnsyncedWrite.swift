import GRDB

extension DatabasePool {
    /// A write transaction whose commit skips the fsync (`synchronous=NORMAL`): for the group commit, whose answers
    /// wait for `LogSyncer` to sync the log, and for data rebuilt from the log when lost (the session fold and its
    /// cursor move together, so a crash only means folding again).
    ///
    /// Safe because the write-ahead log is synced as a whole: the next sync makes this one durable too, and one lost
    /// to a power cut is never followed by a durable one. The connection is set back to `synchronous=FULL`
    /// afterwards; every other write (`writeSynced`: tokens, retention) sets FULL again first, so it syncs even if
    /// that failed.
    func writeUnsynced<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        try await writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
            return try Self.transaction(db, updates)
        }
    }

    /// A write transaction committed with `synchronous=FULL` whatever an earlier write left on the connection.
    func writeSynced<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        try await writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            return try Self.transaction(db, updates)
        }
    }

    private static func transaction<T>(_ db: Database, _ updates: (Database) throws -> T) throws -> T {
        var result: T?
        try db.inTransaction {
            result = try updates(db)
            return .commit
        }
        guard let result else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the transaction returned nothing") }
        return result
    }
}
