import ArgumentParser
import EmiliaStorage
import EmiliaStore
import Foundation
import Logging

/// `--data-dir` and `--database`, shared by every command that opens storage.
struct StorageOptions: ParsableArguments {
    @Option(help: "The data directory: the SQLite file and the generated admin key (EMILIA_DATA_DIR).") var dataDir: String?
    @Option(help: "A postgres:// URL: keep the data in PostgreSQL instead of SQLite (EMILIA_DATABASE_URL).") var database: String?

    var dataDirectory: URL {
        URL(fileURLWithPath: dataDir ?? ProcessInfo.processInfo.environment["EMILIA_DATA_DIR"] ?? "emilia-data")
    }

    /// The database URL, when one is set and not empty.
    var databaseURL: String? {
        (database ?? ProcessInfo.processInfo.environment["EMILIA_DATABASE_URL"]).flatMap { $0.isEmpty ? nil : $0 }
    }

    func storage() throws -> StorageConfiguration {
        try withStoreErrors { try StorageConfiguration.resolve(databaseURL: databaseURL, dataDirectory: dataDirectory) }
    }

    /// Opens the store, runs `body`, and closes it; a store error ends the command with its message.
    func withStore<Result: Sendable>(
        label: String, runningServices: Bool = false,
        _ body: @Sendable (any EventStore) async throws -> Result
    ) async throws -> Result {
        let storage = try storage()
        return try await withStoreErrors {
            try await storage.withStore(logger: Logger(label: label), runningServices: runningServices, body)
        }
    }
}

/// Turns store errors into a clean message (no usage text) and exit code 1.
func withStoreErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as StoreError {
        throw CommandFailure(error.message)
    }
}

/// The synchronous form, for resolving a configuration.
func withStoreErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as StoreError {
        throw CommandFailure(error.message)
    }
}
