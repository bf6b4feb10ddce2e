import Synchronization

/// Cuts a service loop's pause short: `wake()` asks for the next pass now rather than after the interval.
///
/// A wake that comes while a pass runs is not lost: the loop notes the count before each pass, and its pause after
/// that pass ends at once when the count has moved.
package final class WakeSignal: Sendable {
    private let wakes = Atomic<Int64>(0)
    private let sleepers = ProgressWaiters()

    package init() {}

    /// How many wakes so far; note it before a pass and hand it to `pause(for:after:)`.
    package var count: Int64 { wakes.load(ordering: .acquiring) }

    /// Asks for the next pass now.
    package func wake() {
        let count = wakes.add(1, ordering: .acquiringAndReleasing).newValue
        sleepers.resume(upTo: count)
    }

    /// Returns after `interval`, or at once when a wake came after `seen` was noted, or when the task is cancelled.
    package func pause(for interval: Duration, after seen: Int64) async {
        await sleepers.wait(for: seen + 1, timeout: interval) { count > seen }
    }
}
