import ArgumentParser
import EmiliaServer
import EmiliaStorage
import Foundation
import Hummingbird
import Logging

/// `emilia serve`: runs the server until SIGTERM or SIGINT, then drains in-flight requests and commits.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the Emilia server.")

    @Option(help: "Address to bind (EMILIA_HOST).") var host: String?
    @Option(help: "Port to listen on; 0 picks a free one (EMILIA_PORT).") var port: Int?
    @OptionGroup var storage: StorageOptions
    @Option(help: "Sustained requests per second per token; 0 for no limit (EMILIA_RATE_LIMIT).") var rateLimit: Double?
    @Option(help: "Burst of requests per token (EMILIA_RATE_BURST).") var rateBurst: Double?
    @Flag(help: .hidden) var benchRoutes = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error (EMILIA_LOG_LEVEL).") var logLevel: String?
    @Flag(help: "Behind a reverse proxy: honour X-Forwarded-For and X-Forwarded-Proto (EMILIA_TRUST_PROXY=1).") var trustProxy = false
    @Option(help: "Serve HTTPS with this PEM certificate chain; needs --tls-key (EMILIA_TLS_CERT).") var tlsCert: String?
    @Option(help: "The PEM private key of --tls-cert (EMILIA_TLS_KEY).") var tlsKey: String?

    func run() async throws {
        // A closed stdout or stderr (a pipe whose reader went away) must not kill the server: writes just fail.
        signal(SIGPIPE, SIG_IGN)
        let variables = ProcessInfo.processInfo.environment
        let level = Logger.Level(rawValue: logLevel ?? variables["EMILIA_LOG_LEVEL"] ?? "info") ?? .info
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        let logger = Logger(label: "emilia")

        let (configuration, adminKey) = try configuration(variables: variables)
        if adminKey.isGenerated, let file = adminKey.file {
            Console.line("Generated an admin key (shown once; kept in \(file.path), mode 0600):\n  \(adminKey.key)")
        } else if let file = adminKey.file {
            Console.line("Admin key: in \(file.path)")
        } else {
            Console.line("Admin key: from EMILIA_ADMIN_KEY")
        }
        let host = configuration.host
        let place = try withStoreErrors { try configuration.storage().displayName }
        let scheme = configuration.tlsCertificatePath == nil ? "http" : "https"
        let app = try await withStoreErrors {
            try await buildApplication(configuration: configuration, logger: logger) { port in
                Console.line("Emilia listening on \(scheme)://\(host):\(port) (data: \(place))")
            }
        }
        try await app.runService()
    }

    /// The server's configuration from the flags, else the `EMILIA_*` variables, else the defaults; and the admin
    /// key (generated in the data dir on first start of a single node).
    func configuration(variables: [String: String]) throws -> (ServerConfiguration, AdminKey.Resolution) {
        let dataDirectory = storage.dataDirectory
        // Nodes sharing a database must share the admin key too: none is generated for one.
        if storage.databaseURL != nil && (variables["EMILIA_ADMIN_KEY"] ?? "").isEmpty {
            throw ValidationError("with EMILIA_DATABASE_URL, set EMILIA_ADMIN_KEY too: every node of a cluster needs the same admin key")
        }
        let adminKey = try AdminKey.resolve(explicit: variables["EMILIA_ADMIN_KEY"], dataDirectory: dataDirectory)
        var configuration = ServerConfiguration(adminKey: adminKey.key)
        let settings = Settings(variables: variables)
        configuration.host = host ?? variables["EMILIA_HOST"] ?? configuration.host
        configuration.port = try port ?? settings.integer("EMILIA_PORT") ?? configuration.port
        configuration.dataDirectory = dataDirectory
        configuration.databaseURL = storage.databaseURL
        configuration.rateLimitPerSecond = try rateLimit ?? settings.number("EMILIA_RATE_LIMIT") ?? configuration.rateLimitPerSecond
        configuration.rateLimitBurst = try rateBurst ?? settings.number("EMILIA_RATE_BURST") ?? configuration.rateLimitBurst
        configuration.enableBenchmarkRoutes = benchRoutes
        if let days = try settings.integer("EMILIA_RETENTION_DAYS") {
            guard days >= 0, days <= 36_500 else {
                throw ValidationError("EMILIA_RETENTION_DAYS must be 0 (keep forever) or a number of days up to 36500")
            }
            configuration.retention = days > 0 ? .seconds(days * 86_400) : nil
        }
        if let megabytes = try settings.integer("EMILIA_INGEST_MEMORY_MB") {
            guard megabytes > 0, megabytes <= 1 << 20 else {
                throw ValidationError("EMILIA_INGEST_MEMORY_MB must be a positive number of MiB")
            }
            configuration.ingestMemoryBudget = megabytes * 1024 * 1024
        }
        if let megabytes = try settings.integer("EMILIA_MIN_FREE_DISK_MB") {
            guard megabytes >= 0, megabytes <= 1 << 30 else { throw ValidationError("EMILIA_MIN_FREE_DISK_MB must be 0 or more MiB") }
            configuration.minimumFreeDiskBytes = Int64(megabytes) * 1024 * 1024
        }
        configuration.trustProxy = trustProxy || variables["EMILIA_TRUST_PROXY"] == "1"
        configuration.tlsCertificatePath = tlsCert ?? variables["EMILIA_TLS_CERT"]
        configuration.tlsKeyPath = tlsKey ?? variables["EMILIA_TLS_KEY"]
        configuration.separateCheckpoints = variables["EMILIA_SEPARATE_CHECKPOINTS"] != "0"
        configuration.defaultTimeZone = variables["EMILIA_DEFAULT_TIMEZONE"] ?? configuration.defaultTimeZone
        do {
            try configuration.validate()
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }

        return (configuration, adminKey)
    }
}

/// `EMILIA_*` numbers read strictly: a value that is set but not a number stops the server with its name.
struct Settings {
    let variables: [String: String]

    func number(_ name: String) throws -> Double? {
        guard let text = variables[name] else { return nil }
        guard let value = Double(text), value.isFinite else { throw ValidationError("\(name) must be a number, got '\(text)'") }
        return value
    }

    func integer(_ name: String) throws -> Int? {
        guard let text = variables[name] else { return nil }
        guard let value = Int(text) else { throw ValidationError("\(name) must be a whole number, got '\(text)'") }
        return value
    }
}
