import ArgumentParser
import AsyncHTTPClient
import EmiliaClient
import EmiliaModel
import Foundation

/// `emilia send FILE --url URL --token T [--env dev]`: posts one payload (with retries) and prints the receipt.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "send", abstract: "Send one JSON payload file and print the receipt.")
    @Argument(help: "The JSON file to send.") var file: String
    @Option(help: "The server's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "The restaurant's webhook token.") var token: String
    @Option(help: "dev or prod.") var env = "dev"
    @Option(help: "The restaurant's time zone, for the checks before sending.") var timezone = "America/Sao_Paulo"
    @Option(help: "A PEM CA certificate to trust, for an HTTPS server with a self-signed certificate.") var caFile: String?

    func run() async throws {
        guard let environment = DeploymentEnvironment(queryValue: env) else { throw ValidationError("env must be dev or prod") }
        let body = try Data(contentsOf: URL(fileURLWithPath: file))
        let (token, url, zone) = (token, url, TimeZone(identifier: timezone) ?? .gmt)
        do {
            let receipt = try await HTTPClient.withWebhookHTTPClient(trustingCAFile: caFile) { http in
                try await WebhookClient(token: token, environment: environment, baseURL: url, timeZone: zone, http: http).send(json: body)
            }
            Console.line(
                "received: event_id=\(receipt.eventID) env=\(receipt.environment) duplicate=\(receipt.duplicate) attempts=\(receipt.attempts)"
            )
            for warning in receipt.warnings { Console.line("warning \(warning.code.rawValue) \(warning.field): \(warning.message)") }
        } catch let error as WebhookError {
            Console.error("failed after \(error.attempts) attempt(s): \(error)")
            throw ExitCode(1)
        }
    }
}

/// `emilia lint FILE [--timezone TZ]`: the server's checks, offline. Exit 0 clean, 1 with warnings, 2 not JSON.
struct LintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lint", abstract: "Check a payload file offline, as the server would.")
    @Argument(help: "The JSON file to check.") var file: String
    @Option(help: "The restaurant's time zone.") var timezone = "America/Sao_Paulo"

    func run() throws {
        guard let zone = TimeZone(identifier: timezone) else { throw ValidationError("unknown time zone \(timezone)") }
        guard let body = FileManager.default.contents(atPath: file) else {
            Console.error("cannot read \(file)")
            throw ExitCode(2)
        }
        let result = PreflightCheck.run(body, timeZone: zone)
        if let refusal = result.refusal {
            Console.line("error: \(refusal)")
            throw ExitCode(2)
        }
        if result.warnings.isEmpty {
            Console.line("ok: no warnings")
            return
        }
        for warning in result.warnings {
            Console.line("\(warning.code.rawValue)\t\(warning.field)\t\(warning.message)")
        }
        throw ExitCode(1)
    }
}

/// `emilia generate --sessions N [--seed S]`: NDJSON of realistic events for one restaurant's day.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Print realistic events as NDJSON.")
    @Option(help: "How many table sessions.") var sessions = 20
    @Option(help: "Random seed: the same seed gives the same events.") var seed: UInt64 = 1
    @Option(help: "The day (YYYY-MM-DD), today by default.") var date: String?
    @Option(help: "The restaurant's time zone.") var timezone = "America/Sao_Paulo"

    func run() throws {
        let zone = TimeZone(identifier: timezone) ?? .gmt
        var random = SeededRandom(seed: seed)
        let restaurant = SimulatedRestaurant.make(name: "Generated", timeZone: zone, random: &random)
        let day = date ?? LocalDay.of(Date(), in: zone)
        let night = ServiceNightGenerator(restaurant: restaurant).sessions(
            on: day, count: sessions, orderPrefix: "GEN-\(seed)", random: &random)
        for session in night {
            for payload in session.payloads { Console.line(String(decoding: payload.encoded(in: zone), as: UTF8.self)) }
        }
    }
}
