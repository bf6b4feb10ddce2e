import EmiliaStore
import Foundation
import GRDB

// Driver errors never cross the store's boundary: every read and write of the public API goes through these, which
// turn GRDB's errors into `StoreError.unavailable` (the server answers 503 for them, in one place).
extension SQLiteEventStore {
    func read<T: Sendable>(_ value: @Sendable (Database) throws -> T) async throws -> T {
        try await storage { try await database.read(value) }
    }

    func write<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        try await storage { try await database.writeSynced(updates) }
    }

    /// Runs a storage call, mapping driver errors to `StoreError`.
    func storage<T>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let error as StoreError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as DatabaseError {
            throw StoreError(.unavailable, "storage failed: \(error.resultCode)")
        } catch {
            throw StoreError(.unavailable, "storage failed: \(type(of: error))")
        }
    }
}

/// Free space on the file system holding a path.
enum FreeSpace {
    /// Bytes available to this process, or nil when the file system cannot say.
    static func available(at url: URL) -> Int64? {
        var stats = statvfs()
        guard statvfs(url.path, &stats) == 0 else { return nil }
        let (bytes, overflow) = UInt64(stats.f_bavail).multipliedReportingOverflow(by: UInt64(stats.f_frsize))
        return overflow || bytes > UInt64(Int64.max) ? Int64.max : Int64(bytes)
    }
}
