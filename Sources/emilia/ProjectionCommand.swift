import ArgumentParser
import EmiliaStore
import Foundation
import Logging

/// `emilia projection rebuild`: recompute every table session from the event log (after a change of rules).
struct ProjectionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projection", abstract: "Maintain the table-session projection.", subcommands: [Rebuild.self])

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-fold every session from the stored events.")
        @Option(help: "The server's data directory (EMILIA_DATA_DIR).") var dataDir: String?

        func run() async throws {
            let path = dataDir ?? ProcessInfo.processInfo.environment["EMILIA_DATA_DIR"] ?? "emilia-data"
            let store = try SQLiteEventStore(directory: URL(fileURLWithPath: path), logger: Logger(label: "emilia.projection"))
            let bar = ProgressBar(label: "Rebuilding sessions")
            let count = try await store.rebuildSessions { done, total in bar.update(done: done, total: total) }
            Console.line("Rebuilt \(count) sessions.")
        }
    }
}
