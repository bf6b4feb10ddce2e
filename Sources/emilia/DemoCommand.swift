import ArgumentParser
import EmiliaClient
import EmiliaModel
import EmiliaServer
import EmiliaStorage
import EmiliaStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// `emilia demo`: a server on a temporary data dir, a demo restaurant, a simulated night; then it keeps serving.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "See Emilia working in one command.")
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Sessions in the simulated night.") var sessions = 40

    func run() async throws {
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: .warning) }
        let logger = Logger(label: "emilia.demo")
        let demo = try await Demo.prepare(port: port, logger: logger)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = try await buildApplication(configuration: demo.configuration, logger: logger) { portContinuation.yield($0) }
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let bound = await iterator.next() else { return }
            try await demo.simulateNight(at: "http://127.0.0.1:\(bound)", sessions: sessions)
            try await tasks.waitForAll()
        }
    }
}

/// The demo's restaurant on a fresh data dir, and the night it simulates.
private struct Demo {
    let directory: URL
    let adminKey: String
    let issued: IssuedToken
    let configuration: ServerConfiguration

    /// A temporary data dir with an admin key and the "Cantina Demo" token, and a server configuration for it.
    static func prepare(port: Int, logger: Logger) async throws -> Demo {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("emilia-demo-\(UUID().uuidString.prefix(8))")
        let adminKey = try AdminKey.resolve(explicit: nil, dataDirectory: directory).key
        let issued = try await StorageConfiguration.sqlite(directory: directory).withStore(logger: logger) { store in
            try await store.createToken(name: "Cantina Demo", timeZone: "America/Sao_Paulo")
        }
        var configuration = ServerConfiguration(adminKey: adminKey)
        configuration.port = port
        configuration.dataDirectory = directory
        configuration.rateLimitPerSecond = 1000
        configuration.rateLimitBurst = 2000
        return Demo(directory: directory, adminKey: adminKey, issued: issued, configuration: configuration)
    }

    /// Sends a night of service to the server at `base` through an outbox, then says where to look.
    func simulateNight(at base: String, sessions: Int) async throws {
        Console.line("Emilia demo: server on \(base), data in \(directory.path)")
        Console.line("Simulating a night of \(sessions) table sessions for \"Cantina Demo\" through the outbox…")
        let bar = ProgressBar(label: "Delivering")
        let summary = try await NightSimulation(
            url: base, token: issued.token, environment: .prod, sessions: sessions,
            outboxPath: directory.appendingPathComponent("demo-outbox.sqlite3").path, timeScale: nil, seed: 7
        ).run(logger: Logger(label: "emilia.outbox")) { bar.update(done: $0, total: $1) }
        let zone = TimeZone(identifier: "America/Sao_Paulo")!
        Console.line(
            """
            \(summary.delivered) events delivered (\(summary.dead) dead).

            Dashboard:  \(base)/restaurants/\(issued.record.id)?env=prod&date=\(LocalDay.of(Date(), in: zone))
            Admin key:  \(adminKey)
            Token:      \(issued.token)

            Sign in with the admin key. Ctrl-C stops the demo.
            """)
    }
}
