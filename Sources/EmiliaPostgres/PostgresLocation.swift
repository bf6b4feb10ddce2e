import EmiliaStore
import Foundation
import PostgresNIO

/// A PostgreSQL database named by a URL: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]`.
public struct PostgresLocation: Sendable, Equatable {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode

    /// Reads a `postgres://` or `postgresql://` URL; throws `.invalidInput` with what is wrong.
    public init(url text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw StoreError(.invalidInput, "the database URL must look like postgres://user:password@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else { throw StoreError(.invalidInput, "the database URL names no host") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw StoreError(.invalidInput, "the database URL names no database (…/DATABASE)") }
        self.host = host
        port = components.port ?? 5432
        username = components.user ?? "postgres"
        password = components.password
        self.database = database
        let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        guard let tlsMode = TLSMode(rawValue: mode) else {
            throw StoreError(.invalidInput, "sslmode must be disable, prefer or require, not '\(mode)'")
        }
        self.tlsMode = tlsMode
    }

    /// The URL without its password, for logs and the console.
    public var redacted: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }

    func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch tlsMode {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password,
            database: database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.minimumConnections = 2
        configuration.options.connectTimeout = .seconds(3)
        // A node that vanishes (power, network) must not hold the positions or folder lock for the OS's two-hour
        // keepalive: the server probes its socket after 10 s of silence and drops it after three missed probes, ends
        // any transaction left idle for 30 s, and gives up on a reply the node has not acknowledged for 30 s (the
        // commit statement sends its ids while it holds the positions lock; keepalives do not probe then).
        configuration.options.additionalStartupParameters = [
            ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
            ("idle_in_transaction_session_timeout", "30000"), ("tcp_user_timeout", "30000"),
        ]
        return configuration
    }
}
