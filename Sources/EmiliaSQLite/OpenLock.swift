import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive lock, across processes, on a file beside the database, held while a store opens and migrates it.
///
/// Two processes opening the same new data dir at once (the CLI and a server, or tests) otherwise race twice:
/// SQLite answers `PRAGMA journal_mode = WAL` with SQLITE_BUSY at once, without waiting, when another connection is
/// switching the new file to WAL; and GRDB reads which migrations are applied before it runs them, so the loser's
/// migration fails on what the winner made. Holding this lock, each opener finds the file as the last one left it.
/// `flock` locks belong to the open descriptor, so two stores opening in one process wait for each other too (on a
/// local file system; SQLite's WAL mode needs one anyway).
struct OpenLock: ~Copyable {
    private let descriptor: Int32

    /// Takes the lock, waiting up to `timeout` for another opener to release it (a dead process releases it at once).
    init(path: String, timeout: Duration) throws {
        // Read-only is enough for `flock`; 0644 lets another user who may open the database take the lock too.
        let file = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard file >= 0 else { throw OpenLockError(path: path, reason: String(cString: strerror(errno))) }
        let deadline = ContinuousClock.now + timeout
        while flock(file, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            guard failure == EWOULDBLOCK || failure == EINTR, ContinuousClock.now < deadline else {
                close(file)
                let reason = failure == EWOULDBLOCK ? "another process is opening the store" : String(cString: strerror(failure))
                throw OpenLockError(path: path, reason: reason)
            }
            usleep(5_000)
        }
        descriptor = file
    }

    deinit { close(descriptor) }
}

/// The lock file could not be opened or locked in time.
struct OpenLockError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "could not lock \(path) to open the store: \(reason)" }
}
