import Synchronization

/// A memory budget counted in bytes: webhook bodies take their size from it while they are read, parsed, queued and
/// committed, and give it back when their answer goes out. A post that would go past it is refused (503), so many
/// large posts at once cost at most the budget, never the process.
final class ByteBudget: Sendable {
    let capacity: Int
    private let used = Mutex(0)

    init(capacity: Int) { self.capacity = capacity }

    /// Bytes taken now.
    var inUse: Int { used.withLock { $0 } }

    /// A claim on the budget that grows as a body arrives; it gives everything back when released or dropped.
    final class Reservation: Sendable {
        private let budget: ByteBudget
        private let held = Mutex(0)

        fileprivate init(budget: ByteBudget) { self.budget = budget }

        /// Takes `bytes` more; false (taking nothing) when the budget cannot spare them.
        func grow(by bytes: Int) -> Bool {
            guard bytes > 0 else { return true }
            guard budget.take(bytes) else { return false }
            held.withLock { $0 += bytes }
            return true
        }

        /// Gives everything back (again is harmless).
        func release() {
            let bytes = held.withLock { held in defer { held = 0 }; return held }
            budget.give(bytes)
        }

        deinit { release() }
    }

    /// An empty reservation.
    func reserve() -> Reservation { Reservation(budget: self) }

    private func take(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard bytes <= capacity - used else { return false }
            used += bytes
            return true
        }
    }

    private func give(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.withLock { $0 -= bytes }
    }
}
