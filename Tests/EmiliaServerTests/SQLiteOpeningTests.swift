import EmiliaStore
import Foundation
import Logging
import Testing

@testable import EmiliaSQLite

/// Opening a data dir that another process is opening (see also the conformance test of stores opened together).
@Suite("SQLite: opening a data dir")
struct SQLiteOpeningTests {
    /// An opener stuck while it holds the open lock (a CLI stopped with Ctrl-Z) must not hang the next one: it gives
    /// up after its busy timeout, with an error that says why. Catches an open lock that waits without a limit.
    @Test(.timeLimit(.minutes(1)))
    func anOpenerGivesUpOnAStuckLockHolderWithAClearError() throws {
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent(SQLiteEventStore.fileName).path
        let stuck = try OpenLock(path: database + ".open-lock", timeout: .zero)
        let error = #expect(throws: OpenLockError.self) {
            _ = try SQLiteEventStore(directory: directory, logger: Logger(label: "test"), busyTimeout: .milliseconds(200))
        }
        #expect(error?.description.contains("another process is opening the store") == true)
        _ = consume stuck
        // Released: the store opens.
        _ = try SQLiteEventStore(directory: directory, logger: Logger(label: "test"), busyTimeout: .milliseconds(200))
    }
}
