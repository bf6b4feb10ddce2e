import ArgumentParser

/// The `emilia` command: the server, token administration, and the integrator's tools.
@main
struct Emilia: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Emilia: POS webhook ingestion, table sessions and restaurant analytics.",
        subcommands: [
            ServeCommand.self, TokenCommand.self, SendCommand.self, LintCommand.self, DiagnoseCommand.self,
            GenerateCommand.self, SimulateCommand.self, OutboxCommand.self, DemoCommand.self, ProjectionCommand.self,
            SeedCommand.self, CopyCommand.self, OpenAPICommand.self,
        ])
}
