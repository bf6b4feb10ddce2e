import ArgumentParser
import EmiliaClient
import Foundation

/// `emilia diagnose TOKEN`: checks an integration end to end and says what to do about each failure.
struct DiagnoseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diagnose", abstract: "Check a token and a server end to end.")
    @Argument(help: "The restaurant's webhook token.") var token: String
    @OptionGroup var server: ServerOptions
    @Flag(help: "Also post one test event to prod.") var prod = false
    @Option(help: "Posts for the latency figures.") var samples = 10
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let diagnosis = try await server.withHTTPClient { [token, url = server.url, prod, samples] http in
            await IntegrationDiagnosis.run(token: token, baseURL: url, includeProd: prod, samples: samples, http: http)
        }
        if output.json {
            try Console.json(diagnosis)
        } else {
            Self.print(diagnosis)
        }
        if !diagnosis.passed { throw ExitCode(1) }
    }

    static func print(_ diagnosis: IntegrationDiagnosis) {
        for check in diagnosis.checks {
            Console.line("\(check.passed ? "✓" : "✗") \(check.name): \(check.detail)")
            if let next = check.nextStep { Console.line("    → \(next)") }
        }
        if let latency = diagnosis.latency {
            Console.line(
                "latency over \(latency.samples) posts: min \(latency.min) ms, median \(latency.median) ms, p95 \(latency.p95) ms")
        }
        Console.line(
            diagnosis.passed
                ? "All checks passed. Next: send real events to dev, then switch to env=prod."
                : "Some checks failed: fix the first ✗ above, then run this again.")
    }
}
