import ArgumentParser
import EmiliaClient
import Foundation
import Logging

/// `emilia simulate`: a restaurant's night of service sent through a durable outbox, with progress.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate", abstract: "Send a simulated night of service through the outbox.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var webhook: WebhookOptions
    @OptionGroup var outbox: OutboxFileOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "How many table sessions.") var sessions = 30
    @Option(help: "max: enqueue at once; realtime: enqueue each event when it happens (the night starts now); Nx: realtime N times faster.")
    var speed = "max"
    @Option(help: "Random seed.") var seed: UInt64 = 1

    func validate() throws { _ = try timeScale }

    /// nil for `max`, else how many times faster than real time.
    var timeScale: Double? {
        get throws {
            switch speed {
            case "max": return nil
            case "realtime": return 1
            default:
                guard speed.hasSuffix("x"), let factor = Double(speed.dropLast()), factor >= 1 else {
                    throw ValidationError("speed must be max, realtime, or a speed-up such as 60x")
                }
                return factor
            }
        }
    }

    func run() async throws {
        let simulation = NightSimulation(
            url: server.url, token: webhook.token, environment: webhook.environment, sessions: sessions, outboxPath: outbox.outbox,
            timeScale: try timeScale, seed: seed)
        let bar = output.json ? nil : ProgressBar(label: "Delivering")
        let summary = try await server.withHTTPClient { http in
            try await simulation.run(http: http, logger: Logger(label: "emilia.outbox")) { bar?.update(done: $0, total: $1) }
        }
        if output.json {
            try Console.json(summary)
        } else {
            Console.line(
                "\(summary.sessions) sessions, \(summary.enqueued) events enqueued: \(summary.delivered) delivered, \(summary.dead) dead."
            )
        }
    }
}
