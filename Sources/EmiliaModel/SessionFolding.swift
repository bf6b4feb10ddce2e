import Foundation

/// Folds a session's events into one `TableSession`. A pure function of the *set* of events: the
/// result never depends on the order they arrived in, and a repeated event changes nothing.
///
/// The rules:
/// - Events are first put in a canonical order — by the time they happened, then open < items < complete,
///   then event id — and a repeated event id counts once.
/// - `opened_at`: the earliest `session_start` of any event; else the earliest `session_opened` timestamp;
///   else the earliest item time; else the earliest event time.
/// - `closed_at`: the latest `session_end` of any event; else the latest `session_complete` timestamp.
///   The status is closed once any `session_complete` (or `order_closed`) is there.
/// - Items: a line is identified by (name, time ordered, employee, quantity, unit price). Across events a line
///   counts as many times as the event that lists it most often, so the two lines an `items_added` sent and
///   `session_complete` repeats count once, while two identical lines in one event count twice.
/// - Table, guests, totals: the value of the closing event when it has one, else of the latest event that has one.
///   `opened_by` prefers the opening event, `closed_by` the closing one, each falling back to any event.
public enum SessionFolding {
    public static func fold(_ events: [SessionFacts]) -> TableSession? {
        var seen = Set<String>()
        let ordered = events.sorted(by: canonicalOrder).filter { seen.insert($0.eventID).inserted }
        guard let first = ordered.first else { return nil }
        let closing = ordered.filter { $0.kind == .sessionComplete }
        let opening = ordered.filter { $0.kind == .sessionOpened }
        // Preference for single values: closing events, then the rest latest first.
        let preferred = closing.reversed() + ordered.filter { $0.kind != .sessionComplete }.reversed()

        let items = mergeItems(ordered)
        let openedAt = ordered.compactMap(\.sessionStart).min() ?? opening.map(\.occurredAt).min()
            ?? items.compactMap(\.orderedAt).min() ?? ordered.map(\.occurredAt).min()
        let closedAt = ordered.compactMap(\.sessionEnd).max() ?? closing.map(\.occurredAt).max()
        return TableSession(
            orderID: first.orderID,
            tableNumber: preferred.lazy.compactMap(\.tableNumber).first,
            status: closing.isEmpty ? .open : .closed,
            openedAt: openedAt,
            closedAt: closing.isEmpty ? nil : closedAt,
            guests: preferred.lazy.compactMap(\.guests).first,
            openedBy: (opening + ordered).lazy.compactMap(\.openedBy).first,
            closedBy: preferred.lazy.compactMap(\.closedBy).first,
            items: items,
            totals: preferred.lazy.compactMap(\.totals).first,
            eventIDs: ordered.map(\.eventID).sorted())
    }

    static func canonicalOrder(_ lhs: SessionFacts, _ rhs: SessionFacts) -> Bool {
        if lhs.occurredAt != rhs.occurredAt { return lhs.occurredAt < rhs.occurredAt }
        if rank(lhs.kind) != rank(rhs.kind) { return rank(lhs.kind) < rank(rhs.kind) }
        return lhs.eventID < rhs.eventID
    }

    private static func rank(_ kind: EventKind) -> Int {
        switch kind {
        case .sessionOpened: return 0
        case .itemsAdded: return 1
        case .sessionComplete: return 2
        case .test, .unknown: return 3
        }
    }

    private struct ItemKey: Hashable {
        var name: String
        var orderedAt: Date?
        var employeeID: String?
        var quantity: Money
        var price: Money
    }

    /// Max-multiplicity union of the events' item lines, ordered by time then name.
    static func mergeItems(_ events: [SessionFacts]) -> [ItemLine] {
        var multiplicity: [ItemKey: (count: Int, line: ItemLine)] = [:]
        for event in events {
            var counts: [ItemKey: Int] = [:]
            for line in event.items {
                let key = ItemKey(name: line.name, orderedAt: line.orderedAt, employeeID: line.employeeID,
                                  quantity: line.quantity, price: line.price)
                counts[key, default: 0] += 1
            }
            for (key, count) in counts {
                let line = event.items.first { $0.name == key.name && $0.orderedAt == key.orderedAt && $0.employeeID == key.employeeID
                    && $0.quantity == key.quantity && $0.price == key.price }!
                if count > multiplicity[key]?.count ?? 0 { multiplicity[key] = (count, line) }
            }
        }
        return multiplicity.values.flatMap { Array(repeating: $0.line, count: $0.count) }.sorted { lhs, rhs in
            let left = lhs.orderedAt ?? .distantFuture, right = rhs.orderedAt ?? .distantFuture
            if left != right { return left < right }
            if lhs.name != rhs.name { return lhs.name < rhs.name }
            if lhs.employeeID != rhs.employeeID { return (lhs.employeeID ?? "") < (rhs.employeeID ?? "") }
            if lhs.price != rhs.price { return lhs.price < rhs.price }
            return lhs.quantity < rhs.quantity
        }
    }
}
