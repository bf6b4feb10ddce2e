import Foundation
import Synchronization

/// A child process whose standard output is collected as it comes.
final class ChildProcess: Sendable {
    let process: SpawnedProcess
    private let lines = LogLines()
    private let errorLines = LogLines()
    /// Our read ends of its output pipes (none when it writes to files).
    private let readers: [FileHandle]
    /// When set, standard output goes to this file (and standard error too, unless `errorFile` is set), as
    /// `emilia serve >> emilia.log` would. A file is whole once the child has exited.
    let outputFile: URL?
    let errorFile: URL?

    init(
        executable: URL, arguments: [String], environment: [String: String] = [:], outputFile: URL? = nil,
        errorFile: URL? = nil
    ) throws {
        self.outputFile = outputFile
        self.errorFile = errorFile
        // Every descriptor of ours is close-on-exec: children spawned at the same time by other tests must not
        // inherit them (a pipe's reader would not see its end of file until they exit).
        var output: Int32
        var error: Int32
        var childEnds: [Int32] = []
        if let outputFile {
            output = open(outputFile.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            error = errorFile.map { open($0.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } ?? output
            guard output >= 0, error >= 0 else { throw TestFailure("cannot open the child's output files") }
            childEnds = Array(Set([output, error]))
            readers = []
        } else {
            var outputPipe: [Int32] = [0, 0]
            var errorPipe: [Int32] = [0, 0]
            guard pipe(&outputPipe) == 0, pipe(&errorPipe) == 0 else { throw TestFailure("pipe failed") }
            for end in outputPipe + errorPipe { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            (output, error) = (outputPipe[1], errorPipe[1])
            childEnds = [output, error]
            readers = [
                FileHandle(fileDescriptor: outputPipe[0], closeOnDealloc: true),
                FileHandle(fileDescriptor: errorPipe[0], closeOnDealloc: true),
            ]
            for (reader, lines) in zip(readers, [self.lines, errorLines]) {
                reader.readabilityHandler = { handle in
                    let data = handle.availableData
                    if data.isEmpty {
                        handle.readabilityHandler = nil  // end of file: nothing more will come
                    } else {
                        lines.append(String(decoding: data, as: UTF8.self))
                    }
                }
            }
        }
        defer { for end in childEnds { close(end) } }  // the child has its own copies as 1 and 2
        process = try SpawnedProcess(
            executable: executable.path, arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            output: output, error: error)
    }

    /// Everything printed on standard output so far.
    var standardOutput: String {
        if let outputFile { return (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }
        return lines.all.joined()
    }

    /// Everything printed on standard error so far (for failure messages).
    var standardError: String {
        if let errorFile { return (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "" }
        return errorLines.all.joined()
    }

    /// Closes our ends of its output pipes, as a reader that went away would: its writes now fail (EPIPE).
    func closeOutput() {
        for reader in readers {
            reader.readabilityHandler = nil
            try? reader.close()
        }
    }

    /// SIGKILL: no chance to flush or clean up. Harmless when the child has already exited.
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// The `emilia` executable built beside the tests, run as a real child process.
typealias EmiliaProcess = ChildProcess

extension ChildProcess {
    /// The `emilia` built beside this test bundle (never another build's, which could be stale).
    static var emiliaExecutable: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // swift test runs `<build>/EmiliaPackageTests.xctest`; on some platforms the bundle is a directory.
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "Contents" || directory.lastPathComponent == "MacOS" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("emilia")
    }

    /// Starts `emilia ARGUMENTS` with extra environment variables.
    convenience init(
        _ arguments: [String], environment: [String: String] = [:], outputFile: URL? = nil,
        errorFile: URL? = nil
    ) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.emiliaExecutable.path) else {
            throw TestFailure("no emilia binary beside the tests at \(Self.emiliaExecutable.path): build with swift build --build-tests")
        }
        try self.init(
            executable: Self.emiliaExecutable, arguments: arguments, environment: environment, outputFile: outputFile,
            errorFile: errorFile)
    }

    /// Makes a token in `directory` with `emilia token create` (as an operator would) and returns its id and value.
    static func createToken(named name: String, in directory: URL) async throws -> (id: String, token: String) {
        let (status, created) = try await run(["token", "create", "--name", name, "--json", "--data-dir", directory.path])
        guard status == 0, let json = try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any],
            let id = json["id"] as? String, let token = json["token"] as? String
        else {
            throw TestFailure("emilia token create failed (\(status)): \(created)")
        }
        return (id, token)
    }

    /// Waits for the "listening on" line and returns the base URL.
    func waitForListening(timeout: Duration = .seconds(30)) async throws -> String {
        var found: String?
        try await waitUntil(timeout: timeout) {
            // The port's digits end at a space: a read cut inside the number must not be taken for all of it.
            if let range = standardOutput.range(of: #"http://127\.0\.0\.1:\d+(?= )"#, options: .regularExpression) {
                found = String(standardOutput[range])
            }
            return found != nil || !process.isRunning
        }
        guard let found else { throw TestFailure("emilia serve did not start: \(standardOutput) \(standardError)") }
        return found
    }

    /// Runs `emilia ARGUMENTS` to completion and returns (exit code, standard output).
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        let (status, output, _) = try await runCapturingErrors(arguments, environment: environment)
        return (status, output)
    }

    /// Runs `emilia ARGUMENTS` to completion and returns (exit code, standard output, standard error).
    static func runCapturingErrors(
        _ arguments: [String], environment: [String: String] = [:]
    ) async throws -> (Int32, String, String) {
        // Output to files, read once it has exited: all of it, whatever other children hold open meanwhile.
        let directory = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let child = try ChildProcess(
            arguments, environment: environment, outputFile: directory.appendingPathComponent("stdout"),
            errorFile: directory.appendingPathComponent("stderr"))
        defer { child.kill() }
        try await waitUntil(timeout: .seconds(60)) { !child.process.isRunning }
        return (child.process.terminationStatus, child.standardOutput, child.standardError)
    }
}
