import ArgumentParser
import AsyncHTTPClient
import EmiliaClient
import EmiliaModel
import Foundation

/// `emilia simulate`: a restaurant's night of service sent through a durable outbox, with progress.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate", abstract: "Send a simulated night of service through the outbox.")
    @Option(help: "The server's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "The restaurant's webhook token.") var token: String
    @Option(help: "How many table sessions.") var sessions = 30
    @Option(help: "The outbox file.") var outbox = "emilia-outbox.sqlite3"
    @Option(help: "dev or prod.") var env = "dev"
    @Option(help: "max: enqueue at once; realtime: enqueue each event when it happens (the night starts now); Nx: realtime N times faster.")
    var speed = "max"
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Flag(help: "Print JSON; the last line is the summary.") var json = false
    @Option(help: "A PEM CA certificate to trust, for an HTTPS server with a self-signed certificate.") var caFile: String?

    func run() async throws {
        guard let environment = DeploymentEnvironment(queryValue: env) else { throw ValidationError("env must be dev or prod") }
        let timeScale: Double?
        switch speed {
        case "max": timeScale = nil
        case "realtime": timeScale = 1
        default:
            guard speed.hasSuffix("x"), let factor = Double(speed.dropLast()), factor >= 1 else {
                throw ValidationError("speed must be max, realtime, or a speed-up such as 60x")
            }
            timeScale = factor
        }
        let simulation = Simulation(
            url: url, token: token, environment: environment, sessions: sessions, outboxPath: outbox,
            timeScale: timeScale, seed: seed, showsProgress: !json)
        let summary = try await HTTPClient.withWebhookHTTPClient(trustingCAFile: caFile) { http in try await simulation.run(http: http) }
        if json {
            Console.line(
                #"{"sessions": \#(summary.sessions), "enqueued": \#(summary.enqueued), "delivered": \#(summary.counts.delivered), "dead": \#(summary.counts.dead)}"#
            )
        } else {
            Console.line(
                "\(summary.sessions) sessions, \(summary.enqueued) events enqueued: \(summary.counts.delivered) delivered, \(summary.counts.dead) dead."
            )
        }
    }
}
