import Foundation

/// A child process whose standard output is collected as it comes.
final class ChildProcess: Sendable {
    let process: Process
    private let lines = LogLines()
    private let errorLines = LogLines()
    /// When set, standard output and error go to this file (as `emilia serve >> emilia.log` would).
    let outputFile: URL?

    init(executable: URL, arguments: [String], environment: [String: String] = [:], outputFile: URL? = nil) throws {
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        self.outputFile = outputFile
        if let outputFile {
            FileManager.default.createFile(atPath: outputFile.path, contents: nil)
            let handle = try FileHandle(forWritingTo: outputFile)
            process.standardOutput = handle
            process.standardError = handle
        } else {
            let pipe = Pipe()
            process.standardOutput = pipe
            let errorPipe = Pipe()
            process.standardError = errorPipe
            for (pipe, lines) in [(pipe, self.lines), (errorPipe, errorLines)] {
                pipe.fileHandleForReading.readabilityHandler = { handle in
                    let data = handle.availableData
                    if !data.isEmpty { lines.append(String(decoding: data, as: UTF8.self)) }
                }
            }
        }
        try process.run()
    }

    /// Everything printed on standard output so far.
    var standardOutput: String {
        if let outputFile { return (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }
        return lines.all.joined()
    }

    /// Everything printed on standard error so far (for failure messages).
    var standardError: String { errorLines.all.joined() }

    /// SIGKILL (processes started from async tests may ignore SIGTERM): no chance to flush or clean up.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// The `emilia` executable built beside the tests, run as a real child process.
typealias EmiliaProcess = ChildProcess

extension ChildProcess {
    static var emiliaExecutable: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("emilia")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/emilia")
    }

    /// Starts `emilia ARGUMENTS` with extra environment variables.
    convenience init(_ arguments: [String], environment: [String: String] = [:], outputFile: URL? = nil) throws {
        try self.init(executable: Self.emiliaExecutable, arguments: arguments, environment: environment, outputFile: outputFile)
    }

    /// Waits for the "listening on" line and returns the base URL.
    func waitForListening(timeout: Duration = .seconds(30)) async throws -> String {
        var found: String?
        try await waitUntil(timeout: timeout) {
            if let range = standardOutput.range(of: #"http://127\.0\.0\.1:\d+"#, options: .regularExpression) {
                found = String(standardOutput[range])
            }
            return found != nil || !process.isRunning
        }
        guard let found else { throw TestFailure("emilia serve did not start: \(standardOutput)") }
        return found
    }

    /// Runs `emilia ARGUMENTS` to completion and returns (exit code, standard output).
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        let child = try ChildProcess(arguments, environment: environment)
        try await waitUntil(timeout: .seconds(60)) { !child.process.isRunning }
        let status = child.process.terminationStatus
        // Let the pipe's last bytes arrive.
        try await waitUntil(timeout: .seconds(2)) { !child.standardOutput.isEmpty || status != 0 }
        return (status, child.standardOutput)
    }
}
