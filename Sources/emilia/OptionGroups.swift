import ArgumentParser
import AsyncHTTPClient
import EmiliaClient
import EmiliaModel
import Foundation

/// `--url` and `--ca-file`: the Emilia server a command talks to.
struct ServerOptions: ParsableArguments {
    @Option(help: "The server's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "A PEM CA certificate to trust, for an HTTPS server with a self-signed certificate.") var caFile: String?

    /// Runs `body` with an HTTP client that trusts `--ca-file` too, and shuts it down after.
    func withHTTPClient<Result: Sendable>(_ body: (HTTPClient) async throws -> Result) async throws -> Result {
        try await HTTPClient.withWebhookHTTPClient(trustingCAFile: caFile, body)
    }
}

/// `--token` and `--env`: whose events, and whether they are dev or prod.
struct WebhookOptions: ParsableArguments {
    @Option(help: "The restaurant's webhook token.") var token: String
    @Option(help: "dev or prod.") var env = "dev"

    func validate() throws {
        guard DeploymentEnvironment(queryValue: env) != nil else { throw ValidationError("env must be dev or prod") }
    }

    var environment: DeploymentEnvironment { DeploymentEnvironment(queryValue: env) ?? .dev }
}

/// `--json`: the command's answer as one line of JSON instead of sentences.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON.") var json = false
}

/// `--outbox`: the outbox file a command reads or fills.
struct OutboxFileOptions: ParsableArguments {
    @Option(help: "The outbox file.") var outbox = "emilia-outbox.sqlite3"

    /// Opens the outbox; with `existing`, one that is not there is an error rather than a new, empty outbox.
    func open(existing: Bool = false) throws -> Outbox {
        if existing, !FileManager.default.fileExists(atPath: outbox) { throw CommandFailure("no outbox at \(outbox)") }
        do {
            return try Outbox(path: URL(fileURLWithPath: outbox))
        } catch {
            throw CommandFailure("cannot open the outbox at \(outbox): \(error)")
        }
    }
}
