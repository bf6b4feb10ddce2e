public import Foundation

/// The analytics of one restaurant's day, computed from its table sessions (test events never reach them).
public struct DayAnalytics: Sendable, Hashable {
    public struct TableTurnover: Sendable, Hashable {
        public var tableNumber: String
        public var sessions: Int
        /// Seconds the table was occupied by closed sessions.
        public var occupiedSeconds: Int
    }

    public struct Turnover: Sendable, Hashable {
        public var sessionsClosed: Int
        public var sessionsOpen: Int
        public var medianDurationSeconds: Int?
        public var meanDurationSeconds: Int?
        public var perTable: [TableTurnover]
    }

    public struct StaffPerformance: Sendable, Hashable {
        public var employeeID: PosID
        public var name: String?
        public var sessionsOpened: Int
        public var sessionsClosed: Int
        public var itemLines: Int
        public var itemsQuantity: Quantity
        /// Sum of the items this person took.
        public var sales: Money
        /// Tips of the checks this person closed.
        public var tips: Money
    }

    public struct HourRevenue: Sendable, Hashable {
        /// The local hour the checks closed, 0–23.
        public var hour: Int
        public var revenue: Money
        public var sessions: Int
    }

    public struct ServiceTiming: Sendable, Hashable {
        public var medianFirstItemSeconds: Int?
        public var medianRoundGapSeconds: Int?
    }

    public var turnover: Turnover
    /// Durations of the closed checks, in seconds.
    public var durations: [Int]
    public var staff: [StaffPerformance]
    public var revenueByHour: [HourRevenue]
    public var revenueTotal: Money
    /// Revenue per closed check.
    public var averageTicket: Money?
    public var serviceTiming: ServiceTiming

    /// Computes the day's figures; `timeZone` places closing times in local hours.
    public init(sessions: [TableSession], timeZone: TimeZone) {
        let closed = sessions.filter { $0.status == .closed }
        let durations = closed.compactMap(\.durationSeconds).filter { $0 >= 0 }.map(Self.clamped)
        self.durations = durations
        var tables: [String: TableTurnover] = [:]
        for session in sessions {
            let name = session.tableNumber ?? "(no table)"
            var entry = tables[name] ?? TableTurnover(tableNumber: name, sessions: 0, occupiedSeconds: 0)
            entry.sessions += 1
            entry.occupiedSeconds += max(0, Self.clamped(session.durationSeconds ?? 0))
            tables[name] = entry
        }
        turnover = Turnover(
            sessionsClosed: closed.count, sessionsOpen: sessions.count - closed.count,
            medianDurationSeconds: Self.median(durations),
            meanDurationSeconds: durations.isEmpty ? nil : Int((Double(durations.reduce(0, +)) / Double(durations.count)).rounded()),
            perTable: tables.values.sorted { Self.tableOrder($0.tableNumber, $1.tableNumber) })

        staff = Self.staffPerformance(sessions)

        var hours: [Int: HourRevenue] = [:]
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        for session in closed {
            guard let closedAt = session.closedAt else { continue }
            let hour = calendar.component(.hour, from: closedAt)
            var entry = hours[hour] ?? HourRevenue(hour: hour, revenue: .zero, sessions: 0)
            entry.revenue += session.revenue
            entry.sessions += 1
            hours[hour] = entry
        }
        // In service order: a day's service runs from 06:00 to the small hours, so 00h–05h come last.
        revenueByHour = hours.values.sorted { ($0.hour + 18) % 24 < ($1.hour + 18) % 24 }
        revenueTotal = closed.reduce(.zero) { $0 + $1.revenue }
        averageTicket = closed.isEmpty ? nil : Money(units: revenueTotal.units / Int64(closed.count))
        serviceTiming = ServiceTiming(
            medianFirstItemSeconds: Self.median(sessions.compactMap(\.firstItemSeconds).filter { $0 >= 0 }.map(Self.clamped)),
            medianRoundGapSeconds: Self.median(sessions.flatMap(\.roundGapsSeconds).map(Self.clamped)))
    }

    private static func staffPerformance(_ sessions: [TableSession]) -> [StaffPerformance] {
        var people: [PosID: StaffPerformance] = [:]
        func touch(_ id: PosID, _ name: String?, _ change: (inout StaffPerformance) -> Void) {
            var entry =
                people[id]
                ?? StaffPerformance(
                    employeeID: id, name: nil, sessionsOpened: 0, sessionsClosed: 0,
                    itemLines: 0, itemsQuantity: .zero, sales: .zero, tips: .zero)
            if entry.name == nil { entry.name = name }
            if id.isNumber { entry.employeeID = id }  // a number once is a number, whatever the sessions' order
            change(&entry)
            people[id] = entry
        }
        for session in sessions {
            if let opener = session.openedBy { touch(opener.id, opener.name) { $0.sessionsOpened += 1 } }
            if session.status == .closed, let closer = session.closedBy {
                touch(closer.id, closer.name) {
                    $0.sessionsClosed += 1
                    $0.tips += session.totals?.tip ?? .zero
                }
            }
            for item in session.items {
                guard let employee = item.employeeID else { continue }
                touch(employee, nil) {
                    $0.itemLines += 1
                    $0.itemsQuantity += item.quantity
                    $0.sales += item.amount
                }
            }
        }
        return people.values.sorted { $0.sales != $1.sales ? $0.sales > $1.sales : $0.employeeID < $1.employeeID }
    }

    /// A duration as analytics count it: at most a day (`PayloadValidator.maximumSessionLength`), whatever the dates say.
    static func clamped(_ seconds: Int) -> Int { min(seconds, Int(PayloadValidator.maximumSessionLength)) }

    /// The median (the lower middle for an even count), or nil when empty.
    static func median(_ values: [Int]) -> Int? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let upper = sorted[sorted.count / 2]
        guard sorted.count % 2 == 0 else { return upper }
        let lower = sorted[sorted.count / 2 - 1]
        return lower + (upper - lower) / 2
    }

    /// "Mesa 2" before "Mesa 10".
    public static func tableOrder(_ lhs: String, _ rhs: String) -> Bool {
        lhs.compare(rhs, options: [.numeric, .caseInsensitive]) == .orderedAscending
    }
}
