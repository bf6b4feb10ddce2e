import ArgumentParser
import EmiliaPostgres
import EmiliaStorage
import EmiliaStore
import Foundation
import Logging

/// `emilia copy`: moves a SQLite data dir into PostgreSQL, to grow from one machine to several nodes.
struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a SQLite data dir (tokens, events, rejections) into an empty PostgreSQL database, then rebuild its sessions.",
        discussion: "Stop the server on the data dir first. Run again after an interruption: it goes on where it stopped.")

    @Option(help: "The SQLite data directory to copy from.") var from: String
    @Option(help: "The postgres:// URL of the database to copy into.") var to: String

    func run() async throws {
        let target = try withStoreErrors { try PostgresLocation(url: to) }
        let copy = StoreCopy(
            source: URL(fileURLWithPath: from), target: target,
            logger: Logger(label: "emilia.copy", factory: { _ in SwiftLogNoOpLogHandler() }))
        let bars = [StoreCopy.Stage.events, .rejections, .sessions].map { ($0, ProgressBar(label: $0.rawValue)) }
        let summary = try await withStoreErrors {
            try await copy.run { stage, done, total in bars.first { $0.0 == stage }?.1.update(done: done, total: total) }
        }
        if summary.resumedAfter > 0 { Console.line("Resumed after \(summary.resumedAfter) events copied earlier.") }
        Console.line(
            """
            Copied \(summary.tokens) tokens, \(summary.events) events and \(summary.rejections) rejections to \(target.redacted); \
            rebuilt \(summary.sessions) sessions.
            Next: run every node with EMILIA_DATABASE_URL set to that database and the same EMILIA_ADMIN_KEY.
            """)
    }
}
