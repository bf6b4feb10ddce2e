/// How a service loop waits after failures: doubling from `initial` up to `maximum`, and logging only the 1st, 2nd,
/// 4th, 8th… failure in a row, so a storage fault that lasts an hour writes a dozen lines, not a flood.
struct FailureBackoff: Sendable {
    let initial: Duration
    let maximum: Duration
    /// Failures in a row.
    private(set) var failures = 0

    init(initial: Duration = .milliseconds(25), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// Counts one more failure and answers how long to wait before the next try.
    mutating func failed() -> Duration {
        failures += 1
        let doublings = min(failures - 1, 20)
        return min(initial * (1 << doublings), maximum)
    }

    /// True for the failures worth a log line (a power of two in a row).
    var shouldLog: Bool { failures > 0 && failures & (failures - 1) == 0 }

    /// Starts over after a success; true when it ends a run of failures (worth saying so once).
    mutating func succeeded() -> Bool {
        defer { failures = 0 }
        return failures > 0
    }
}
