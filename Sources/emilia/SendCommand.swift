import ArgumentParser
import EmiliaClient
import EmiliaModel
import Foundation

/// `emilia send FILE --url URL --token T [--env dev]`: posts one payload (with retries) and prints the receipt.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "send", abstract: "Send one JSON payload file and print the receipt.")

    @Argument(help: "The JSON file to send.") var file: String
    @OptionGroup var server: ServerOptions
    @OptionGroup var webhook: WebhookOptions
    @Option(help: "The restaurant's time zone, for the checks before sending.") var timezone = "America/Sao_Paulo"

    func run() async throws {
        let body: Data
        do { body = try Data(contentsOf: URL(fileURLWithPath: file)) } catch { throw CommandFailure("cannot read \(file): \(error)") }
        let (webhook, url, zone) = (webhook, server.url, TimeZone(identifier: timezone) ?? .gmt)
        do {
            let receipt = try await server.withHTTPClient { http in
                try await WebhookClient(token: webhook.token, environment: webhook.environment, baseURL: url, timeZone: zone, http: http)
                    .send(json: body)
            }
            Console.line(
                "received: event_id=\(receipt.eventID) env=\(receipt.environment) duplicate=\(receipt.isDuplicate) attempts=\(receipt.attempts)"
            )
            for warning in receipt.warnings { Console.line("warning \(warning.code.rawValue) \(warning.field): \(warning.message)") }
        } catch let error as WebhookError {
            throw CommandFailure("failed after \(error.attempts) attempt(s): \(error)")
        }
    }
}
