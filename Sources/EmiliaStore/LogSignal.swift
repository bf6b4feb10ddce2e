import Synchronization

/// Tells readers that the log grew, so a stream waits for appends instead of polling. The generation moves on
/// every signal: read it before reading the log, then wait for it to move past what was read.
package final class LogSignal: Sendable {
    private let currentGeneration = Atomic<Int64>(0)
    private let waiters = ProgressWaiters()

    package init() {}

    package var generation: UInt64 { UInt64(currentGeneration.load(ordering: .acquiring)) }

    /// Events were appended: wakes every waiting reader.
    package func notify() {
        let (_, generation) = currentGeneration.wrappingAdd(1, ordering: .acquiringAndReleasing)
        waiters.resume(upTo: generation)
    }

    /// Returns once the generation moved past `seen`, after `timeout`, or when the task is cancelled.
    package func wait(after seen: UInt64, timeout: Duration) async {
        let target = Int64(truncatingIfNeeded: seen) &+ 1
        await waiters.wait(for: target, timeout: timeout) { self.generation != seen }
    }
}
