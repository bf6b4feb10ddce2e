import ArgumentParser
import EmiliaServer
import EmiliaStore
import Foundation
import Logging

/// `emilia token …`: manage restaurant tokens in the data directory or PostgreSQL database, also while servers run on it.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create, list, deactivate, reactivate and rotate webhook tokens.",
        subcommands: [Create.self, List.self, Deactivate.self, Reactivate.self, Rotate.self])

    struct StoreOptions: ParsableArguments {
        @OptionGroup var storage: StorageOptions
        @OptionGroup var output: OutputOptions

        func withStore<Result: Sendable>(_ body: @Sendable (any EventStore) async throws -> Result) async throws -> Result {
            try await storage.withStore(label: "emilia.token", body)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; it is shown once.")
        @Option(help: "The restaurant's name.") var name: String
        @Option(help: "The restaurant's IANA time zone.") var timezone = "America/Sao_Paulo"
        @OptionGroup var options: StoreOptions

        func run() async throws {
            let (name, timezone) = (name, timezone)
            let issued = try await options.withStore { try await $0.createToken(name: name, timeZone: timezone) }
            TokenOutput.print(issued.record, token: issued.token, json: options.output.json)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (prefixes only).")
        @OptionGroup var options: StoreOptions

        func run() async throws {
            let tokens = try await options.withStore { try await $0.listTokens() }
            TokenOutput.printList(tokens, json: options.output.json)
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a token from posting (within a second).")
        @Argument(help: "The token's id.") var id: String
        @OptionGroup var options: StoreOptions

        func run() async throws {
            let id = id
            let record = try await options.withStore { try await $0.setTokenStatus(id: id, .inactive) }
            TokenOutput.print(record, token: nil, json: options.output.json)
        }
    }

    struct Reactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a deactivated token post again.")
        @Argument(help: "The token's id.") var id: String
        @OptionGroup var options: StoreOptions

        func run() async throws {
            let id = id
            let record = try await options.withStore { try await $0.setTokenStatus(id: id, .active) }
            TokenOutput.print(record, token: nil, json: options.output.json)
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a new token value; the old one works for the grace period.")
        @Argument(help: "The token's id.") var id: String
        @Option(help: "Hours the old value keeps working.") var graceHours = 24
        @OptionGroup var options: StoreOptions

        func run() async throws {
            let (id, grace) = (id, Duration.seconds(graceHours * 3600))
            let issued = try await options.withStore { try await $0.rotateToken(id: id, grace: grace) }
            TokenOutput.print(issued.record, token: issued.token, json: options.output.json)
        }
    }
}

/// Tokens as the admin API shows them (`TokenResponse`): `--json` prints the same fields under the same names.
enum TokenOutput {
    static func print(_ record: TokenRecord, token: String?, json: Bool) {
        if json {
            try? Console.json(TokenResponse(record, token: token))  // strings only: encoding cannot fail
            return
        }
        Console.line(
            "\(record.name)  id=\(record.id)  prefix=\(record.prefix)  timezone=\(record.timeZone)  status=\(record.status.rawValue)")
        if let token {
            Console.line("token: \(token)\n(shown once: store it now; Emilia keeps only its hash)")
            Console.line("webhook: POST /webhooks/v1/pos/\(token)?env=dev")
        }
    }

    static func printList(_ records: [TokenRecord], json: Bool) {
        if json {
            try? Console.json(TokenListResponse(tokens: records.map { TokenResponse($0) }))
            return
        }
        if records.isEmpty { Console.line("No tokens yet: emilia token create --name NAME") }
        for record in records { print(record, token: nil, json: false) }
    }
}
