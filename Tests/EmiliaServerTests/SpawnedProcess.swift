import Foundation
import Synchronization

/// A child started with `posix_spawn`, for the tests. Foundation's `Process.run` crashed the test run (a bad read
/// in its memmove) while other tests worked beside it, even one spawn at a time; this does only what the tests need.
final class SpawnedProcess: Sendable {
    enum TerminationReason: Sendable { case exit, uncaughtSignal }

    let processIdentifier: pid_t
    /// The raw `waitpid` status once reaped.
    private let status = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments` and exactly `environment`; the child's standard output and error are
    /// `output` and `error` (descriptors of ours; dup'ed into the child as 1 and 2).
    init(executable: String, arguments: [String], environment: [String: String], output: Int32, error: Int32) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, error, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard result == 0 else { throw TestFailure("posix_spawn \(executable) failed: \(String(cString: strerror(result)))") }
        processIdentifier = pid
    }

    /// False once the child has exited (it is reaped then).
    var isRunning: Bool {
        status.withLock { status in
            if status != nil { return false }
            var raw: Int32 = 0
            let reaped = waitpid(processIdentifier, &raw, WNOHANG)
            if reaped == processIdentifier || reaped == -1 { status = reaped == -1 ? 0 : raw }
            return status == nil
        }
    }

    /// Blocks until the child has exited.
    func waitUntilExit() {
        status.withLock { status in
            guard status == nil else { return }
            var raw: Int32 = 0
            while waitpid(processIdentifier, &raw, 0) == -1 && errno == EINTR {}
            status = raw
        }
    }

    private var rawStatus: Int32 { status.withLock { $0 } ?? 0 }

    /// The exit code, or the signal that ended it.
    var terminationStatus: Int32 {
        let raw = rawStatus
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
    }

    var terminationReason: TerminationReason { rawStatus & 0x7f == 0 ? .exit : .uncaughtSignal }
}
