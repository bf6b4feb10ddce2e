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
        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let bar = ProgressBar(label: "Rebuilding sessions")
            let count = try await storage.withStore(label: "emilia.projection") { store in
                try await store.rebuildSessions { done, total in bar.update(done: done, total: total) }
            }
            Console.line("Rebuilt \(count) sessions.")
        }
    }
}
