import Foundation

/// Folds a session's events into one `TableSession`. A pure function of the *set* of events: the
/// result never depends on the order they arrived in, and a repeated event changes nothing.
///
/// The fold is an accumulator whose `add` is commutative and idempotent, so the projection can keep the
/// accumulator of each order and add one event at a time, and a rebuild from the log gives the same answer.
///
/// The rules:
/// - `opened_at`: the earliest `session_start` of any event; else the earliest `session_opened` timestamp;
///   else the earliest item time; else the earliest event time.
/// - `closed_at`: the latest `session_end` of any event; else the latest `session_complete` timestamp.
///   The status is closed once any `session_complete` (or `order_closed`) is there.
/// - Items: a line is identified by (name, time ordered, employee, quantity, unit price). Across events a line
///   counts as many times as the event that lists it most often, so the two lines an `items_added` sent and
///   `session_complete` repeats count once, while two identical lines in one event count twice. Only the first
///   `maximumItemLines` lines of each event are read, and a session keeps its `maximumItemLines` earliest lines
///   (by time ordered, then name, employee, price, quantity): both are functions of the set of events.
/// - Table, guests, totals, `closed_by`: the value of the latest closing event that has one, else of the latest
///   event that has one. `opened_by`: the earliest opening event's, else the earliest event's that has one.
///   Ties on time go to the larger event id.
public enum SessionFolding {
    /// The session of a set of events, or nil when there are none.
    public static func fold(_ events: [SessionFacts]) -> TableSession? {
        guard let first = events.first else { return nil }
        var accumulator = SessionAccumulator(orderID: first.orderID)
        for event in events { accumulator.add(event) }
        return accumulator.session
    }
}

/// The running fold of one order's events (see `SessionFolding` for the rules).
public struct SessionAccumulator: Sendable, Hashable {
    /// How many event ids a session lists; a (broken) POS repeating one order id forever cannot grow it past this.
    public static let maximumEventIDs = 200
    /// How many item lines a session keeps (and an event is read for): bounded work per event, whatever it sends.
    public static let maximumItemLines = 1_000

    struct Rank: Sendable, Hashable, Comparable {
        var priority: Int
        var time: Double
        var eventID: String

        static func < (lhs: Rank, rhs: Rank) -> Bool {
            (lhs.priority, lhs.time, lhs.eventID) < (rhs.priority, rhs.time, rhs.eventID)
        }
    }

    struct Ranked<Value: Sendable & Hashable>: Sendable, Hashable {
        var rank: Rank
        var value: Value

        static func best(_ current: Ranked?, _ candidate: Value?, rank: Rank) -> Ranked? {
            guard let candidate else { return current }
            guard let current, current.rank >= rank else { return Ranked(rank: rank, value: candidate) }
            return current
        }
    }

    struct ItemEntry: Sendable, Hashable {
        var line: ItemLine
        var count: Int
    }

    public private(set) var orderID: String
    /// True when any event sent `order_id` as a JSON number (whatever the order they fold in).
    var orderIDIsNumber = false
    var earliestSessionStart: Date?
    var latestSessionEnd: Date?
    var earliestOpening: Date?
    var latestClosing: Date?
    var earliestEvent: Date?
    var isClosed = false
    var table: Ranked<String>?
    var guests: Ranked<Int>?
    var totals: Ranked<CheckTotals>?
    var closedBy: Ranked<StaffMember>?
    var openedBy: Ranked<StaffMember>?
    var items: [ItemEntry] = []
    var eventIDs: [String] = []

    public init(orderID: String) {
        self.orderID = orderID
    }

    /// True once any event was added.
    public var hasEvents: Bool { !eventIDs.isEmpty }

    /// Adds one event; adding the same event again changes nothing.
    public mutating func add(_ event: SessionFacts) {
        let time = event.occurredAt.timeIntervalSince1970
        orderIDIsNumber = orderIDIsNumber || event.orderIDIsNumber
        earliestSessionStart = min(earliestSessionStart, event.sessionStart)
        latestSessionEnd = max(latestSessionEnd, event.sessionEnd)
        earliestEvent = min(earliestEvent, event.occurredAt)
        if event.kind == .sessionOpened { earliestOpening = min(earliestOpening, event.occurredAt) }
        if event.kind == .sessionComplete {
            isClosed = true
            latestClosing = max(latestClosing, event.occurredAt)
        }
        let latest = Rank(priority: event.kind == .sessionComplete ? 1 : 0, time: time, eventID: event.eventID)
        table = .best(table, event.tableNumber, rank: latest)
        guests = .best(guests, event.guests, rank: latest)
        totals = .best(totals, event.totals, rank: latest)
        closedBy = .best(closedBy, event.closedBy, rank: latest)
        openedBy = .best(
            openedBy, event.openedBy,
            rank: Rank(priority: event.kind == .sessionOpened ? 1 : 0, time: -time, eventID: event.eventID))
        mergeItems(event.items)
        if eventIDs.count < Self.maximumEventIDs || event.eventID < eventIDs.last! {
            let index = eventIDs.partitioningIndex { $0 >= event.eventID }
            if index == eventIDs.count || eventIDs[index] != event.eventID { eventIDs.insert(event.eventID, at: index) }
            if eventIDs.count > Self.maximumEventIDs { eventIDs.removeLast() }
        }
    }

    /// Max-multiplicity union: a line counts as often as the event that lists it most often; then the earliest
    /// `maximumItemLines` lines are kept. Linear in the lines, plus a sort of at most twice the cap.
    private mutating func mergeItems(_ lines: [ItemLine]) {
        guard !lines.isEmpty else { return }
        var counts: [ItemLine: Int] = [:]
        for line in lines { counts[line, default: 0] += 1 }
        var positions = Dictionary(items.enumerated().map { ($1.line, $0) }, uniquingKeysWith: { first, _ in first })
        for (line, count) in counts {
            if let position = positions[line] {
                items[position].count = max(items[position].count, count)
                // The same line with its employee id sent as a number once is a number: whatever the order.
                if line.employeeID?.isNumber == true { items[position].line.employeeID = line.employeeID }
            } else {
                positions[line] = items.count
                items.append(ItemEntry(line: line, count: count))
            }
        }
        var total = 0
        for entry in items { total += min(entry.count, Self.maximumItemLines) }
        guard total > Self.maximumItemLines else { return }
        items.sort { ItemLine.precedes($0.line, $1.line) }
        var remaining = Self.maximumItemLines
        var kept: [ItemEntry] = []
        for entry in items where remaining > 0 {
            let count = min(entry.count, remaining)
            kept.append(ItemEntry(line: entry.line, count: count))
            remaining -= count
        }
        items = kept
    }

    /// The folded session.
    public var session: TableSession {
        let lines = items.flatMap { Array(repeating: $0.line, count: $0.count) }.sorted(by: Self.itemOrder)
        let openedAt = earliestSessionStart ?? earliestOpening ?? lines.compactMap(\.orderedAt).min() ?? earliestEvent
        return TableSession(
            orderID: PosID(orderID, isNumber: orderIDIsNumber), tableNumber: table?.value, status: isClosed ? .closed : .open,
            openedAt: openedAt,
            closedAt: isClosed ? (latestSessionEnd ?? latestClosing) : nil, guests: guests?.value,
            openedBy: openedBy?.value, closedBy: closedBy?.value, items: lines, totals: totals?.value, eventIDs: eventIDs)
    }

    static func itemOrder(_ lhs: ItemLine, _ rhs: ItemLine) -> Bool { ItemLine.precedes(lhs, rhs) }
}

extension ItemLine {
    /// A strict total order (equal lines only are equivalent): by time ordered (lines without one last), name,
    /// employee (none first), unit price, quantity.
    static func precedes(_ lhs: ItemLine, _ rhs: ItemLine) -> Bool {
        if lhs.orderedAt != rhs.orderedAt {
            guard let left = lhs.orderedAt else { return false }
            guard let right = rhs.orderedAt else { return true }
            return left < right
        }
        if lhs.name != rhs.name { return lhs.name < rhs.name }
        if lhs.employeeID != rhs.employeeID {
            guard let left = lhs.employeeID else { return true }
            guard let right = rhs.employeeID else { return false }
            return left < right
        }
        if lhs.price != rhs.price { return lhs.price < rhs.price }
        return lhs.quantity < rhs.quantity
    }
}

private func min(_ current: Date?, _ candidate: Date?) -> Date? {
    guard let candidate else { return current }
    guard let current else { return candidate }
    return Swift.min(current, candidate)
}

private func max(_ current: Date?, _ candidate: Date?) -> Date? {
    guard let candidate else { return current }
    guard let current else { return candidate }
    return Swift.max(current, candidate)
}

extension Array {
    /// The first index whose element satisfies `predicate`, for a collection partitioned by it (binary search).
    func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
