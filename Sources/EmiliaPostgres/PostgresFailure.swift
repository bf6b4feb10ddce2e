import EmiliaStore
import Foundation
import PostgresNIO

/// How driver errors become `StoreError`s, and how long a call may wait for the database.
enum PostgresFailure {
    /// The SQLSTATE of a server error, looking inside transaction errors.
    static func sqlState(of error: any Error) -> String? {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] }
        if let error = error as? PostgresTransactionError {
            return [error.closureError, error.beginError, error.commitError].compactMap { $0 }.lazy.compactMap(sqlState(of:)).first
        }
        return nil
    }

    /// True for errors that come from the data of one order or event (bad text, a value out of range, a row too
    /// large), not from the database being unavailable: the caller records them and moves on.
    static func isDataError(_ error: any Error) -> Bool {
        guard let state = sqlState(of: error) else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23") || state.hasPrefix("54")
    }

    /// The `StoreError` a caller sees: store errors as they are; anything from the driver means the database cannot
    /// answer now.
    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PostgresTransactionError, let inner = error.closureError as? StoreError { return inner }
        let state = sqlState(of: error).map { " (SQLSTATE \($0))" } ?? ""
        return StoreError(.unavailable, "PostgreSQL cannot answer now\(state)")
    }

    /// Runs `body`, giving up after `timeout` (the pool waits for a connection while the database is unreachable):
    /// then, and for any driver error, it throws `StoreError(.unavailable)`.
    static func withDeadline<Result: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        do {
            return try await withThrowingTaskGroup(of: Result.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw StoreError(.unavailable, "PostgreSQL did not answer within \(timeout)")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch {
            throw storeError(error)
        }
    }
}

/// Text bound into PostgreSQL: its `text` type cannot hold NUL, which JSON allows (`"\u0000"`), so NUL becomes
/// U+FFFD in every column read from a payload. The exact bytes stay in the event's body.
extension String {
    var postgresSafe: String {
        contains("\u{0}") ? replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : self
    }
}
