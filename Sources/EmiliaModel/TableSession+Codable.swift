public import Foundation

// The API's JSON shape of a session (snake_case keys, times in RFC 3339 UTC, money as exact decimals).

extension Money: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), let value = Money(text) {
            self = value
            return
        }
        let decimal = try container.decode(Decimal.self)
        guard let value = Money("\(decimal)") else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a decimal amount")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Decimal(string: description) ?? 0)
    }
}

/// RFC 3339 text in and out of JSON.
struct TimestampCoding {
    static func encode(_ date: Date?) -> String? { date.map(Timestamp.formatUTC) }

    static func decode(_ text: String?) -> Date? {
        text.flatMap(Timestamp.init).map { $0.instant(in: TimeZone(identifier: "UTC")!) }
    }
}

extension ItemLine: Codable {
    enum CodingKeys: String, CodingKey {
        case timestamp, name, quantity, price
        case employeeID = "employee_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        orderedAt = TimestampCoding.decode(try container.decodeIfPresent(String.self, forKey: .timestamp))
        employeeID = try container.decodeIfPresent(PosID.self, forKey: .employeeID)
        name = try container.decode(String.self, forKey: .name)
        quantity = try container.decode(Quantity.self, forKey: .quantity)
        price = try container.decode(Money.self, forKey: .price)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(TimestampCoding.encode(orderedAt), forKey: .timestamp)
        try container.encode(employeeID, forKey: .employeeID)
        try container.encode(name, forKey: .name)
        try container.encode(quantity, forKey: .quantity)
        try container.encode(price, forKey: .price)
    }
}

extension TableSession: Codable {
    enum CodingKeys: String, CodingKey {
        case status, guests, items, totals
        case orderID = "order_id"
        case tableNumber = "table_number"
        case openedAt = "opened_at"
        case closedAt = "closed_at"
        case durationSeconds = "duration_seconds"
        case firstItemSeconds = "first_item_seconds"
        case roundGapsSeconds = "round_gaps_seconds"
        case openedBy = "opened_by"
        case closedBy = "closed_by"
        case eventIDs = "event_ids"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        orderID = try container.decode(PosID.self, forKey: .orderID)
        tableNumber = try container.decodeIfPresent(String.self, forKey: .tableNumber)
        status = try container.decode(Status.self, forKey: .status)
        openedAt = TimestampCoding.decode(try container.decodeIfPresent(String.self, forKey: .openedAt))
        closedAt = TimestampCoding.decode(try container.decodeIfPresent(String.self, forKey: .closedAt))
        guests = try container.decodeIfPresent(Int.self, forKey: .guests)
        openedBy = try container.decodeIfPresent(StaffMember.self, forKey: .openedBy)
        closedBy = try container.decodeIfPresent(StaffMember.self, forKey: .closedBy)
        items = try container.decode([ItemLine].self, forKey: .items)
        totals = try container.decodeIfPresent(CheckTotals.self, forKey: .totals)
        eventIDs = try container.decode([String].self, forKey: .eventIDs)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(orderID, forKey: .orderID)
        try container.encode(tableNumber, forKey: .tableNumber)
        try container.encode(status, forKey: .status)
        try container.encode(TimestampCoding.encode(openedAt), forKey: .openedAt)
        try container.encode(TimestampCoding.encode(closedAt), forKey: .closedAt)
        try container.encode(durationSeconds, forKey: .durationSeconds)
        try container.encode(firstItemSeconds, forKey: .firstItemSeconds)
        try container.encode(roundGapsSeconds, forKey: .roundGapsSeconds)
        try container.encode(guests, forKey: .guests)
        try container.encode(openedBy, forKey: .openedBy)
        try container.encode(closedBy, forKey: .closedBy)
        try container.encode(items, forKey: .items)
        try container.encode(totals, forKey: .totals)
        try container.encode(eventIDs, forKey: .eventIDs)
    }
}

/// Local calendar days of a restaurant, as `YYYY-MM-DD`.
public enum LocalDay {
    /// The local day of an instant in `zone`.
    public static func of(_ date: Date, in zone: TimeZone) -> String {
        String(Timestamp.format(date, offsetSeconds: zone.secondsFromGMT(for: date)).prefix(10))
    }

    /// The UTC instants [start, end) of a local day, or nil for text that is not `YYYY-MM-DD`.
    public static func bounds(of day: String, in zone: TimeZone) -> (start: Date, end: Date)? {
        guard day.utf8.count == 10, let midnight = Timestamp(day + "T00:00:00") else { return nil }
        let start = midnight.instant(in: zone)
        let nextMidnight = Timestamp(wallClockSeconds: midnight.wallClockSeconds + 86_400, offsetSeconds: nil)
        return (start, nextMidnight.instant(in: zone))
    }
}

extension Timestamp {
    init(wallClockSeconds: Double, offsetSeconds: Int?) {
        self.wallClockSeconds = wallClockSeconds
        self.offsetSeconds = offsetSeconds
    }
}
