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
/// `flock` locks belong to the open descriptor, so two stores opening in one process wait for each other too.
struct OpenLock: ~Copyable {
    private let descriptor: Int32

    /// Waits until the lock is free, then takes it.
    init(path: String) throws {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw OpenLockError(path: path, errno: errno) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let failure = errno
                close(descriptor)
                throw OpenLockError(path: path, errno: failure)
            }
        }
    }

    deinit { close(descriptor) }
}

/// The lock file could not be opened or locked.
struct OpenLockError: Error, CustomStringConvertible {
    let path: String
    let errno: Int32
    var description: String { "could not lock \(path) to open the store: \(String(cString: strerror(errno)))" }
}
