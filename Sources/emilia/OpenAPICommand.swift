import ArgumentParser
import EmiliaServer
import Foundation

/// `emilia openapi`: prints the OpenAPI document the server serves at /openapi.json (docs/openapi.json is this output).
struct OpenAPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi", abstract: "Print the OpenAPI 3.1 document of the HTTP API (as GET /openapi.json serves it).")

    func run() throws {
        FileHandle.standardOutput.write(Data(OpenAPIDocument.json))
    }
}
