public import Foundation
import Synchronization

/// Gathers the items a table orders within a window (60 s by default) into one `items_added` per order,
/// instead of one webhook per dish. The clock is the caller's: pass `now` in.
public final class ItemBatcher: Sendable {
    private struct Pending {
        var tableNumber: String
        var firstAt: Date
        var items: [OrderedItem]
    }

    public let window: TimeInterval
    private let pending = Mutex<[String: Pending]>([:])

    public init(window: TimeInterval = 60) {
        self.window = window
    }

    /// Adds one item of an order; returns the batches whose window has closed by `now` (this order's included).
    public func add(_ item: OrderedItem, orderID: String, tableNumber: String, now: Date) -> [ItemsAdded] {
        pending.withLock { pending in
            var entry = pending[orderID] ?? Pending(tableNumber: tableNumber, firstAt: now, items: [])
            entry.items.append(item)
            pending[orderID] = entry
        }
        return flush(now: now)
    }

    /// The batches whose window closed by `now`, removed from the batcher.
    public func flush(now: Date) -> [ItemsAdded] {
        take { $0.firstAt.addingTimeInterval(window) <= now }.map { Self.batch($0, now: now) }
    }

    /// Every batch, whatever its age (e.g. when the check closes or the app stops).
    public func flushAll(now: Date) -> [ItemsAdded] {
        take { _ in true }.map { Self.batch($0, now: now) }
    }

    private func take(where shouldTake: (Pending) -> Bool) -> [(String, Pending)] {
        pending.withLock { pending in
            let ready = pending.filter { shouldTake($0.value) }.sorted { $0.value.firstAt < $1.value.firstAt }
            for (orderID, _) in ready { pending[orderID] = nil }
            return ready.map { ($0.key, $0.value) }
        }
    }

    private static func batch(_ entry: (String, Pending), now: Date) -> ItemsAdded {
        ItemsAdded(orderID: entry.0, tableNumber: entry.1.tableNumber, sentAt: now, items: entry.1.items)
    }
}
