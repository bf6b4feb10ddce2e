import EmiliaStore
import Foundation
import PostgresNIO
import Synchronization

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

    /// Runs `body` on `connection` and closes the connection when it throws, so the pool opens a fresh one:
    /// postgres-nio keeps a prepared statement's failed preparation for the connection's whole life (every later
    /// use would fail the same way), and a connection whose call was cut off mid-flight is in an unknown state.
    static func closingOnFailure<Result>(_ connection: PostgresConnection, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Runs `body`, giving up after `timeout`: then, and for any driver error, it throws `StoreError(.unavailable)`.
    ///
    /// The caller gets its answer at the deadline even when `body` does not end (a query on a connection that died
    /// mid-flight can wait for its socket to time out): `body` runs in a task of its own, cancelled and left behind.
    static func withDeadline<Result: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> Result) async throws
        -> Result
    {
        let outcome = Once<Result>()
        return try await withCheckedThrowingContinuation { continuation in
            outcome.set(continuation)
            let work = Task {
                do { outcome.resume(with: .success(try await body())) } catch { outcome.resume(with: .failure(storeError(error))) }
                outcome.cancelTimer()
            }
            outcome.setTimer(
                Task {
                    try? await Task.sleep(for: timeout)
                    if outcome.resume(with: .failure(StoreError(.unavailable, "PostgreSQL did not answer within \(timeout)"))) {
                        work.cancel()
                    }
                })
        }
    }
}

/// A continuation resumed by whichever of its racers finishes first.
private final class Once<Value: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<Value, any Error>?, done: Bool, timer: Task<Void, Never>?)>(
        (nil, false, nil))

    func set(_ continuation: CheckedContinuation<Value, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    /// The deadline's timer, cancelled once the work ends first (else it would sleep out the whole deadline).
    func setTimer(_ timer: Task<Void, Never>) {
        let finished = state.withLock { state in
            state.timer = timer
            return state.done
        }
        if finished { timer.cancel() }
    }

    func cancelTimer() {
        state.withLock { $0.timer }?.cancel()
    }

    /// Resumes the continuation unless a racer already did; true when this call did.
    @discardableResult
    func resume(with result: Result<Value, any Error>) -> Bool {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard !state.done, let continuation = state.continuation else { return nil }
            state.done = true
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: result)
        return continuation != nil
    }
}

/// Text bound into PostgreSQL: its `text` type cannot hold NUL, which JSON allows (`"\u0000"`), so NUL becomes
/// U+FFFD in every column read from a payload. The exact bytes stay in the event's body.
extension String {
    var postgresSafe: String {
        // A byte scan first: the common case (no NUL) costs no Foundation search.
        utf8.contains(0) ? replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : self
    }
}
