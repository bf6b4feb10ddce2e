/// A command that could not do its work: printed as `Error: <description>`, without the usage text, exit code 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
