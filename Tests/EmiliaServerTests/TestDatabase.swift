import EmiliaPostgres
import EmiliaStorage
import Foundation
import Logging
import PostgresNIO
import Testing

/// The storage backends a suite runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// Fresh, empty storage for one test: a temporary data directory, or a new database in the PostgreSQL cluster that
/// `scripts/test.sh` starts (its URL in `EMILIA_TEST_POSTGRES_URL`).
enum TestDatabase {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The cluster's URL; a PostgreSQL test fails (it is never skipped) without it.
    static func clusterURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["EMILIA_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw TestFailure("EMILIA_TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts a throwaway PostgreSQL")
        }
        return url
    }

    /// A new, empty database in the test cluster; answers its URL.
    static func createPostgresDatabase() async throws -> String {
        let cluster = try PostgresLocation(url: clusterURL())
        let name = "emilia_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: cluster.host, port: cluster.port, username: cluster.username, password: cluster.password,
                database: cluster.database, tls: .disable),
            id: 1, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        let password = cluster.password.map { ":\($0)" } ?? ""
        return "postgres://\(cluster.username)\(password)@\(cluster.host):\(cluster.port)/\(name)?sslmode=disable"
    }

    /// A fresh storage configuration of `backend`.
    static func fresh(_ backend: Backend) async throws -> StorageConfiguration {
        switch backend {
        case .sqlite: .sqlite(directory: TemporaryDirectory.make())
        case .postgres: .postgres(try PostgresLocation(url: try await createPostgresDatabase()))
        }
    }
}
