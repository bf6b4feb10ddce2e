import ArgumentParser
import EmiliaServer
import Foundation
import Hummingbird
import Logging

/// `emilia serve`: runs the server until SIGTERM or SIGINT, then drains in-flight requests and commits.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the Emilia server.")

    @Option(help: "Address to bind (EMILIA_HOST).") var host: String?
    @Option(help: "Port to listen on; 0 picks a free one (EMILIA_PORT).") var port: Int?
    @Option(help: "Directory for the SQLite file and generated admin key (EMILIA_DATA_DIR).") var dataDir: String?
    @Option(help: "Sustained requests per second per token (EMILIA_RATE_LIMIT).") var rateLimit: Double?
    @Option(help: "Burst of requests per token (EMILIA_RATE_BURST).") var rateBurst: Double?
    @Flag(help: .hidden) var benchNoopRoute = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error (EMILIA_LOG_LEVEL).") var logLevel: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let level = Logger.Level(rawValue: logLevel ?? environment["EMILIA_LOG_LEVEL"] ?? "info") ?? .info
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        let logger = Logger(label: "emilia")

        let dataDirectory = URL(fileURLWithPath: dataDir ?? environment["EMILIA_DATA_DIR"] ?? "emilia-data")
        let adminKey = try AdminKey.resolve(explicit: environment["EMILIA_ADMIN_KEY"], dataDirectory: dataDirectory)
        var configuration = ServerConfiguration(adminKey: adminKey.key)
        configuration.host = host ?? environment["EMILIA_HOST"] ?? configuration.host
        configuration.port = port ?? environment["EMILIA_PORT"].flatMap(Int.init) ?? configuration.port
        configuration.dataDirectory = dataDirectory
        configuration.rateLimitPerSecond = rateLimit ?? environment["EMILIA_RATE_LIMIT"].flatMap(Double.init) ?? configuration.rateLimitPerSecond
        configuration.rateLimitBurst = rateBurst ?? environment["EMILIA_RATE_BURST"].flatMap(Double.init) ?? configuration.rateLimitBurst
        configuration.enableNoOpRoute = benchNoopRoute
        if let days = environment["EMILIA_RETENTION_DAYS"].flatMap(Int.init) {
            configuration.retention = days > 0 ? .seconds(days * 86_400) : nil
        }
        configuration.separateCheckpoints = environment["EMILIA_SEPARATE_CHECKPOINTS"] != "0"
        configuration.defaultTimeZone = environment["EMILIA_DEFAULT_TIMEZONE"] ?? configuration.defaultTimeZone

        if adminKey.generated, let file = adminKey.file {
            Console.line("Generated an admin key (shown once; kept in \(file.path), mode 0600):\n  \(adminKey.key)")
        } else if let file = adminKey.file {
            Console.line("Admin key: in \(file.path)")
        } else {
            Console.line("Admin key: from EMILIA_ADMIN_KEY")
        }
        let host = configuration.host
        let app = try await buildApplication(configuration: configuration, logger: logger) { port in
            Console.line("Emilia listening on http://\(host):\(port) (data in \(dataDirectory.path))")
        }
        try await app.runService()
    }
}
