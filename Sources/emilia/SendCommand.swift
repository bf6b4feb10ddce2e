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
                "received: event_id=\(receipt.eventID) env=\(receipt.environment) duplicate=\(receipt.isDuplicate) attempts=\(receipt.attempts)"
            )
            for warning in receipt.warnings { Console.line("warning \(warning.code.rawValue) \(warning.field): \(warning.message)") }
        } catch let error as WebhookError {
            Console.error("failed after \(error.attempts) attempt(s): \(error)")
            throw ExitCode(1)
        }
    }
}
