public import Foundation

/// What the validator needs to know about the receiving restaurant.
public struct ValidationContext: Sendable {
    /// The restaurant's IANA time zone, for `offset_mismatch`.
    public var timeZone: TimeZone
    /// The table naming the restaurant already uses, if any, for `table_name_inconsistent`.
    public var tableStyle: TableNamingStyle?
    /// False when the request's Content-Type was not JSON (warning `content_type`).
    public var contentTypeIsJSON: Bool
    /// When the event arrived, to flag times far from it (`timestamp_out_of_range`); nil skips that check.
    public var receivedAt: Date?

    public init(timeZone: TimeZone, tableStyle: TableNamingStyle? = nil, contentTypeIsJSON: Bool = true, receivedAt: Date? = nil) {
        self.timeZone = timeZone
        self.tableStyle = tableStyle
        self.contentTypeIsJSON = contentTypeIsJSON
        self.receivedAt = receivedAt
    }
}

/// The few facts stored beside the raw bytes, so events can be found without parsing them again.
public struct EventSummary: Sendable, Hashable {
    /// The resolved event kind.
    public var kind: EventKind
    /// The POS check id (`order_id`, a number read as its text).
    public var orderID: String?
    /// True when `order_id` came as a JSON number (it goes back out as one).
    public var orderIDIsNumber = false
    /// `table_number`, else its alias `table`.
    public var tableNumber: String?
    /// When the event happened (`timestamp`), when it could be read.
    public var occurredAt: Date?

    public init(kind: EventKind, orderID: String? = nil, tableNumber: String? = nil, occurredAt: Date? = nil) {
        self.kind = kind
        self.orderID = orderID
        self.tableNumber = tableNumber
        self.occurredAt = occurredAt
    }
}

/// The validator's verdict on one accepted payload.
public struct PayloadReport: Sendable {
    public var summary: EventSummary
    public var warnings: [ValidationWarning]
}

/// The rules of docs/contract.md §2, shared by the server's answer, the client's pre-send check and `emilia lint`.
public enum PayloadValidator {
    /// How long one session may last before `session_too_long` (analytics count it as this long).
    public static let maximumSessionLength: TimeInterval = 86_400

    /// Reads and checks a parsed payload. Never fails: every problem becomes a warning.
    public static func validate(_ document: JSONValue, context: ValidationContext) -> PayloadReport {
        var warnings = WarningList()
        if !context.contentTypeIsJSON {
            warnings.add(.contentType, "", "Content-Type is not application/json; the body was read as JSON anyway.")
        }
        guard document.isObject else {
            warnings.add(.notAnObject, "", "The body is JSON but not an object; nothing can be read from it.")
            return PayloadReport(summary: EventSummary(kind: .unknown("")), warnings: warnings.items)
        }
        let rawEvent = document["event"]?.stringValue
        let kind = EventKind(rawValue: rawEvent ?? "")
        if case .unknown(let name) = kind {
            warnings.add(
                .unknownEvent, "event",
                name.isEmpty
                    ? "The payload has no \"event\" field; it is stored but cannot be used."
                    : "Unknown event '\(name)'; it is stored but not used in sessions or analytics.")
        }

        let orderID = PayloadFields.orderID(in: document)
        var summary = EventSummary(kind: kind, orderID: orderID.value)
        summary.orderIDIsNumber = orderID.isNumber
        summary.tableNumber = readTable(document, kind: kind, context: context, warnings: &warnings)
        if kind.isSessionEvent, (summary.orderID ?? "").isEmpty {
            warnings.add(.missingOrderID, "order_id", "order_id is missing: this event cannot be joined to its session.")
        }

        let checker = TimestampChecker(zone: context.timeZone, receivedAt: context.receivedAt)
        if let value = document["timestamp"], !value.isNull {
            summary.occurredAt = checker.check(value, field: "timestamp", warnings: &warnings)
        } else if !kind.isTest {
            warnings.add(.missingTimestamp, "timestamp", "timestamp is missing: the event's time falls back to when it was received.")
        }
        let start = document["session_start"].flatMap { checker.check($0, field: "session_start", warnings: &warnings) }
        let end = document["session_end"].flatMap { checker.check($0, field: "session_end", warnings: &warnings) }
        if let start, let end, end < start {
            warnings.add(.sessionEndBeforeStart, "session_end", "session_end is before session_start.")
        } else if let start, let end, end.timeIntervalSince(start) > maximumSessionLength {
            warnings.add(
                .sessionTooLong, "session_end",
                "The session lasts more than 24 h (session_start to session_end); analytics count it as 24 h.")
        }
        let itemsTotal = checkItems(document, kind: kind, checker: checker, warnings: &warnings)
        checkTotals(document["totals"], itemsTotal: itemsTotal, warnings: &warnings)
        if document["totals"] == nil, let total = document["total"] {
            _ = amount(total, field: "total", warnings: &warnings)
        }
        return PayloadReport(summary: summary, warnings: warnings.items)
    }

    private static func readTable(
        _ document: JSONValue, kind: EventKind, context: ValidationContext, warnings: inout WarningList
    ) -> String? {
        let (table, fromAlias) = PayloadFields.table(in: document)
        if fromAlias {
            warnings.add(.tableAlias, "table", "The field `table` was read as table_number; please send table_number.")
        }
        guard kind.isSessionEvent else { return table }
        guard let table, !table.trimmingSpaces().isEmpty else {
            warnings.add(
                .missingTableNumber, "table_number",
                "table_number is missing: this event cannot be tied to a table and will not show on the dashboard.")
            return nil
        }
        if let expected = context.tableStyle, let style = TableNamingStyle(tableName: table), style != expected {
            warnings.add(
                .tableNameInconsistent, "table_number",
                "Table '\(table)' does not follow this restaurant's naming ('\(expected)').")
        }
        return table
    }

    /// Checks `items[]` and returns the sum of quantity × price, when every line has a price within range.
    private static func checkItems(
        _ document: JSONValue, kind: EventKind, checker: TimestampChecker, warnings: inout WarningList
    ) -> Money? {
        guard let items = document["items"]?.arrayValue else { return nil }
        if items.count > SessionAccumulator.maximumItemLines {
            warnings.add(
                .tooManyItems, "items", "\(items.count) item lines: a session keeps its first \(SessionAccumulator.maximumItemLines).")
        }
        let needsAttribution = kind == .itemsAdded || kind == .sessionComplete
        var total: Money? = .zero
        for (index, item) in items.enumerated() {
            let path = "items[\(index)]"
            if needsAttribution {
                if let time = item["timestamp"], !time.isNull {
                    _ = checker.check(time, field: "\(path).timestamp", warnings: &warnings)
                } else {
                    warnings.add(.itemMissingTimestamp, "\(path).timestamp", "Item \(index) has no timestamp.")
                }
                if item["employee_id"] == nil || item["employee_id"]!.isNull {
                    warnings.add(.itemMissingEmployee, "\(path).employee_id", "Item \(index) has no employee_id.")
                }
            }
            let quantity = item["quantity"].map { amount($0, field: "\(path).quantity", warnings: &warnings) } ?? Quantity(1)
            let price = item["price"].flatMap { amount($0, field: "\(path).price", warnings: &warnings) }
            guard let quantity, let price else {
                total = nil
                continue
            }
            guard let line = quantity.multiplied(by: price), line.isWithinLimit else {
                warnings.add(
                    .amountOutOfRange, path, "Item \(index): quantity × price is beyond what Emilia can add up; it is left out of the sums."
                )
                total = nil
                continue
            }
            total = total?.adding(line)
        }
        return items.isEmpty ? nil : total
    }

    private static func checkTotals(_ totals: JSONValue?, itemsTotal: Money?, warnings: inout WarningList) {
        guard let totals, totals.isObject else { return }
        let tolerance = Money(units: 100)  // 0.01
        func read(_ key: String) -> Money? { totals[key].flatMap { amount($0, field: "totals.\(key)", warnings: &warnings) } }
        let subtotal = read("subtotal")
        let tip = read("tip")
        let tax = read("tax")
        let total = read("total")
        let discount = read("discount")
        if let subtotal, let itemsTotal, (itemsTotal - subtotal).magnitude > tolerance {
            warnings.add(
                .totalsMismatch, "totals.subtotal",
                "Items add up to \(itemsTotal) but subtotal is \(subtotal).")
        }
        if let subtotal, let tip, let tax, let total, totals["discount"]?.decimalReading != .outOfRange {
            let expected = subtotal + tip + tax - (discount ?? .zero)
            if (expected - total).magnitude > tolerance {
                warnings.add(
                    .totalsMismatch, "totals.total",
                    "subtotal + tip + tax − discount is \(expected) but total is \(total).")
            }
        }
    }

    /// An amount field's value; an out-of-range number gets `amount_out_of_range` and reads as nil (left out of sums).
    private static func amount(_ value: JSONValue, field: String, warnings: inout WarningList) -> Money? {
        switch value.decimalReading {
        case .value(let money): return money
        case .outOfRange:
            warnings.add(.amountOutOfRange, field, "\(field) is beyond ±1 trillion; it is left out of the sums.")
            return nil
        case .invalid, nil: return nil
        }
    }
}

/// Collects warnings; repeats of one code on item lines are folded into the first, with a count.
struct WarningList {
    private var collected: [ValidationWarning] = []
    /// How many item-line warnings each folded entry stands for, by its index.
    private var repeats: [Int: Int] = [:]
    private var itemEntries: [WarningCode: Int] = [:]

    /// The warnings, each folded one saying how many item lines it stands for.
    var items: [ValidationWarning] {
        var result = collected
        for (index, count) in repeats { result[index].message += " (\(count) items in all)" }
        return result
    }

    mutating func add(_ code: WarningCode, _ field: String, _ message: String) {
        let isItemField = field.hasPrefix("items[")
        if isItemField, let index = itemEntries[code] {
            repeats[index, default: 1] += 1
            return
        }
        if isItemField { itemEntries[code] = collected.count }
        collected.append(ValidationWarning(code: code, field: field, message: message))
    }
}

/// The timestamp rules: parseable, with an offset, and the restaurant's offset at that instant.
struct TimestampChecker {
    /// How far ahead of its arrival, and how far back, a time may be before `timestamp_out_of_range`.
    static let maximumAhead: TimeInterval = 86_400
    static let maximumBack: TimeInterval = 10 * 366 * 86_400

    let zone: TimeZone
    let receivedAt: Date?

    /// Checks one time field and returns its instant when it can be read.
    func check(_ value: JSONValue, field: String, warnings: inout WarningList) -> Date? {
        guard let text = value.stringValue, let timestamp = Timestamp(text) else {
            warnings.add(.invalidTimestamp, field, "\(field) is not an RFC 3339 time (e.g. 2025-11-24T18:30:00-03:00).")
            return nil
        }
        let instant = timestamp.instant(in: zone)
        if let receivedAt,
            instant.timeIntervalSince(receivedAt) > Self.maximumAhead
                || receivedAt.timeIntervalSince(instant) > Self.maximumBack
        {
            warnings.add(
                .timestampOutOfRange, field,
                "\(field) '\(text)' is more than a day ahead of now or ten years back; the session's times are clamped.")
        }
        guard let offset = timestamp.offsetSeconds else {
            warnings.add(
                .naiveTimestamp, field,
                "\(field) '\(text)' has no UTC offset; it was read in \(zone.identifier) time.")
            return instant
        }
        let expected = zone.secondsFromGMT(for: instant)
        if offset != expected {
            warnings.add(
                .offsetMismatch, field,
                "\(field) '\(text)' has offset \(offsetText(offset)) but \(zone.identifier) was at \(offsetText(expected)) then.")
        }
        return instant
    }
}

/// `-03:00` for −10 800 seconds.
func offsetText(_ seconds: Int) -> String {
    let sign = seconds < 0 ? "-" : "+"
    let absolute = abs(seconds)
    let hours = absolute / 3600
    let minutes = absolute / 60 % 60
    return "\(sign)\(hours < 10 ? "0" : "")\(hours):\(minutes < 10 ? "0" : "")\(minutes)"
}
