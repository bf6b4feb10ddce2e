import Synchronization

/// A memory budget counted in bytes: webhook bodies take their size from it while they are read, parsed, queued and
/// committed, and give it back when their answer goes out. A post that would go past it, or past its token's share,
/// is refused (503), so many large posts at once cost at most the budget, and one restaurant cannot take all of it.
final class ByteBudget: Sendable {
    /// Each body byte is charged this many times: a body is held as read and again as stored.
    static let copiesPerByte = 2

    let capacity: Int
    /// The most one key (a token) may hold at once.
    let shareLimit: Int
    private let usage = Mutex<(total: Int, byKey: [String: Int])>((0, [:]))

    init(capacity: Int, shareLimit: Int) {
        self.capacity = capacity
        self.shareLimit = min(capacity, shareLimit)
    }

    /// Bytes taken now.
    var inUse: Int { usage.withLock { $0.total } }

    /// A claim on the budget for `key` that grows as a body arrives; it gives everything back when released or dropped.
    final class Reservation: Sendable {
        private let budget: ByteBudget
        private let key: String
        private let held = Mutex(0)

        fileprivate init(budget: ByteBudget, key: String) {
            self.budget = budget
            self.key = key
        }

        /// Takes room for `bytes` more body bytes; false (taking nothing) when the budget or the key's share cannot
        /// spare them.
        func grow(by bytes: Int) -> Bool {
            guard bytes > 0 else { return true }
            let charge = bytes * ByteBudget.copiesPerByte
            guard budget.take(charge, for: key) else { return false }
            held.withLock { $0 += charge }
            return true
        }

        /// Gives back room for `bytes` body bytes (at most what it holds): a body replaced by another.
        func shrink(by bytes: Int) {
            let given = held.withLock { held in
                let charge = min(held, max(0, bytes) * ByteBudget.copiesPerByte)
                held -= charge
                return charge
            }
            budget.give(given, for: key)
        }

        /// Gives everything back (again is harmless).
        func release() {
            let bytes = held.withLock { held in
                defer { held = 0 }
                return held
            }
            budget.give(bytes, for: key)
        }

        deinit { release() }
    }

    /// An empty reservation for `key`.
    func reserve(for key: String) -> Reservation { Reservation(budget: self, key: key) }

    private func take(_ bytes: Int, for key: String) -> Bool {
        usage.withLock { usage in
            let mine = usage.byKey[key, default: 0]
            guard bytes <= capacity - usage.total, bytes <= shareLimit - mine else { return false }
            usage.total += bytes
            usage.byKey[key] = mine + bytes
            return true
        }
    }

    private func give(_ bytes: Int, for key: String) {
        guard bytes > 0 else { return }
        usage.withLock { usage in
            usage.total -= bytes
            let left = usage.byKey[key, default: 0] - bytes
            usage.byKey[key] = left > 0 ? left : nil
        }
    }
}
