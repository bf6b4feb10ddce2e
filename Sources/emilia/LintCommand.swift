import ArgumentParser
import EmiliaClient
import EmiliaModel
import Foundation

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
