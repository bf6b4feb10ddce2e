public import Foundation

/// The accumulator's stored form: compact JSON in a session row's `state`, written and read without Codable (the
/// fold rewrites it for every session event). Times are whole milliseconds since 1970; amounts and quantities are
/// ten-thousandths; ids keep their JSON type.
///
/// | key   | holds                                                                      |
/// |-------|----------------------------------------------------------------------------|
/// | `v`   | the format's version (`storageVersion`); a state without it is version 1    |
/// | `o`   | order id (text); `on`: true when it came as a JSON number                  |
/// | `c`   | closed                                                                     |
/// | `ss` `se` | earliest `session_start`, latest `session_end`                         |
/// | `op` `cl` `ev` | earliest opening, latest closing, earliest event                  |
/// | `t` `g` `m` | table, guests, totals: each ranked `{p: priority, t: time, e: event id, v: value}` |
/// | `ob` `cb` | opened by, closed by: ranked `{id, name}`                              |
/// | `i`   | item lines `{n: name, q: quantity, p: price, k: count, t: time, e: employee}` |
/// | `ids` | the folded events' ids                                                     |
extension SessionAccumulator {
    /// The version of the stored form this code writes; it reads this one and the ones before.
    public static let storageVersion = 1

    /// The stored form.
    public var storageText: String { storageValue.jsonText }

    /// Reads the stored form; nil when it is not one, or is a later version than this code knows.
    public init?(storageText: Data) {
        guard let value = try? JSONParser.parse(storageText), let orderID = value["o"]?.stringValue else { return nil }
        guard (value["v"]?.intValue ?? 1) <= Self.storageVersion else { return nil }
        self.init(orderID: orderID)
        orderIDIsNumber = value["on"] == .bool(true)
        earliestSessionStart = value["ss"].flatMap(Self.date)
        latestSessionEnd = value["se"].flatMap(Self.date)
        earliestOpening = value["op"].flatMap(Self.date)
        latestClosing = value["cl"].flatMap(Self.date)
        earliestEvent = value["ev"].flatMap(Self.date)
        isClosed = value["c"] == .bool(true)
        table = Self.ranked(value["t"]) { $0.stringValue }
        guests = Self.ranked(value["g"]) { $0.intValue }
        totals = Self.ranked(value["m"]) { Self.totals($0) }
        closedBy = Self.ranked(value["cb"]) { Self.staff($0) }
        openedBy = Self.ranked(value["ob"]) { Self.staff($0) }
        items = (value["i"]?.arrayValue ?? []).compactMap { entry in
            guard let name = entry["n"]?.stringValue, let quantity = entry["q"]?.intValue, let price = entry["p"]?.intValue,
                let count = entry["k"]?.intValue, count > 0
            else { return nil }
            let line = ItemLine(
                orderedAt: entry["t"].flatMap(Self.date), employeeID: PosID(entry["e"]), name: name,
                quantity: Quantity(units: Int64(quantity)), price: Money(units: Int64(price)))
            return ItemEntry(line: line, count: min(count, Self.maximumItemLines))
        }
        eventIDs = (value["ids"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    var storageValue: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("v", .number(String(Self.storageVersion))), ("o", .string(orderID)), ("c", .bool(isClosed)),
        ]
        if orderIDIsNumber { members.append(("on", .bool(true))) }
        func add(_ key: String, _ value: JSONValue?) { if let value { members.append((key, value)) } }
        add("ss", earliestSessionStart.map(Self.number))
        add("se", latestSessionEnd.map(Self.number))
        add("op", earliestOpening.map(Self.number))
        add("cl", latestClosing.map(Self.number))
        add("ev", earliestEvent.map(Self.number))
        add("t", table.map { Self.rankedValue($0, .string($0.value)) })
        add("g", guests.map { Self.rankedValue($0, .number(String($0.value))) })
        add("m", totals.map { Self.rankedValue($0, Self.totalsValue($0.value)) })
        add("cb", closedBy.map { Self.rankedValue($0, Self.staffValue($0.value)) })
        add("ob", openedBy.map { Self.rankedValue($0, Self.staffValue($0.value)) })
        add(
            "i",
            .array(
                items.map { entry in
                    var item: [(key: String, value: JSONValue)] = [
                        ("n", .string(entry.line.name)), ("q", .number(String(entry.line.quantity.units))),
                        ("p", .number(String(entry.line.price.units))), ("k", .number(String(entry.count))),
                    ]
                    if let time = entry.line.orderedAt { item.append(("t", Self.number(time))) }
                    if let employee = entry.line.employeeID { item.append(("e", employee.jsonValue)) }
                    return .object(item)
                }))
        add("ids", .array(eventIDs.map(JSONValue.string)))
        return .object(members)
    }

    private static func number(_ date: Date) -> JSONValue {
        .number(String(Int64((date.timeIntervalSince1970 * 1000).rounded())))
    }

    private static func date(_ value: JSONValue) -> Date? {
        guard case .number(let text) = value, let milliseconds = Int64(text) else { return nil }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    private static func rankedValue<Value>(_ ranked: Ranked<Value>, _ value: JSONValue) -> JSONValue {
        .object([
            ("p", .number(String(ranked.rank.priority))), ("t", .number(String(ranked.rank.time))),
            ("e", .string(ranked.rank.eventID)), ("v", value),
        ])
    }

    private static func ranked<Value>(_ value: JSONValue?, _ read: (JSONValue) -> Value?) -> Ranked<Value>? {
        guard let value, let priority = value["p"]?.intValue, case .number(let time)? = value["t"], let seconds = Double(time),
            let eventID = value["e"]?.stringValue, let inner = value["v"].flatMap(read)
        else { return nil }
        return Ranked(rank: Rank(priority: priority, time: seconds, eventID: eventID), value: inner)
    }

    private static func staffValue(_ staff: StaffMember) -> JSONValue {
        .object([("id", staff.id.jsonValue)] + (staff.name.map { [(key: "name", value: JSONValue.string($0))] } ?? []))
    }

    private static func staff(_ value: JSONValue) -> StaffMember? {
        PosID(value["id"]).map { StaffMember(id: $0, name: value["name"]?.stringValue) }
    }

    private static func totalsValue(_ totals: CheckTotals) -> JSONValue {
        let fields: [(String, Money?)] = [
            ("subtotal", totals.subtotal), ("tip", totals.tip), ("tax", totals.tax),
            ("discount", totals.discount), ("total", totals.total),
        ]
        return .object(fields.compactMap { name, amount in amount.map { (key: name, value: .number(String($0.units))) } })
    }

    private static func totals(_ value: JSONValue) -> CheckTotals? {
        func amount(_ key: String) -> Money? { value[key]?.intValue.map { Money(units: Int64($0)) } }
        return CheckTotals(
            subtotal: amount("subtotal"), tip: amount("tip"), tax: amount("tax"), discount: amount("discount"),
            total: amount("total"))
    }
}
