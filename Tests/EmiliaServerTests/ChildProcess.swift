import Foundation
import Synchronization

/// The `emilia` executable built beside the tests, run as a real child process.
final class EmiliaProcess: Sendable {
    static var executable: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("emilia")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/emilia")
    }

    private let process: Process
    private let output = LogLines()

    /// Starts `emilia ARGUMENTS` with extra environment variables.
    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.append(String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
    }

    /// Everything printed on standard output so far.
    var standardOutput: String { output.all.joined() }

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

    /// SIGKILL: no chance to flush or clean up.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Runs `emilia ARGUMENTS` to completion and returns (exit code, standard output).
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        let child = try EmiliaProcess(arguments, environment: environment)
        try await waitUntil(timeout: .seconds(60)) { !child.process.isRunning }
        let status = child.process.terminationStatus
        // Let the pipe's last bytes arrive.
        try await waitUntil(timeout: .seconds(2)) { !child.standardOutput.isEmpty || status != 0 }
        return (status, child.standardOutput)
    }
}
