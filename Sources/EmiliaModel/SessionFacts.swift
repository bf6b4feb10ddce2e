public import Foundation

/// What one stored event says about its table session, read from its payload.
public struct SessionFacts: Sendable, Hashable {
    public var eventID: String
    public var kind: EventKind
    public var orderID: String
    /// True when `order_id` came as a JSON number.
    public var orderIDIsNumber: Bool
    /// When the event happened (`timestamp`), else when it was received.
    public var occurredAt: Date
    /// True when `occurredAt` is the receipt time (the payload gave no readable `timestamp`).
    public var occurredAtIsReceipt: Bool
    public var sessionStart: Date?
    public var sessionEnd: Date?
    public var tableNumber: String?
    public var openedBy: StaffMember?
    public var closedBy: StaffMember?
    public var guests: Int?
    public var items: [ItemLine]
    public var totals: CheckTotals?

    /// Reads a session event; nil for tests, unknown events, non-objects and events without `order_id`.
    public init?(eventID: String, receivedAt: Date, document: JSONValue, timeZone: TimeZone) {
        guard document.isObject else { return nil }
        let kind = EventKind(rawValue: document["event"]?.stringValue ?? "")
        let order = PayloadFields.orderID(in: document)
        guard kind.isSessionEvent, let orderID = order.value, !orderID.isEmpty else { return nil }
        // Times are kept to the millisecond, the precision sessions are stored and shown with.
        func time(_ value: JSONValue?) -> Date? {
            value?.stringValue.flatMap(Timestamp.init).map {
                Date(timeIntervalSince1970: ($0.instant(in: timeZone).timeIntervalSince1970 * 1000).rounded() / 1000)
            }
        }
        self.eventID = eventID
        self.kind = kind
        self.orderID = orderID
        orderIDIsNumber = order.isNumber
        let timestamp = time(document["timestamp"])
        occurredAt = timestamp ?? receivedAt
        occurredAtIsReceipt = timestamp == nil
        sessionStart = time(document["session_start"])
        sessionEnd = time(document["session_end"])
        tableNumber = PayloadFields.table(in: document).value
        let server = document["server"]
        openedBy =
            Self.staff(document["opened_by"]) ?? Self.staff(server?["opened_by"])
            ?? (kind == .sessionOpened ? Self.staff(server) : nil)
        closedBy = Self.staff(document["closed_by"]) ?? Self.staff(server?["closed_by"])
        guests = document["guests"]?.intValue
        let defaultTime = kind == .sessionOpened ? time(document["timestamp"]) : nil
        // Only an event's first lines count (see `SessionAccumulator.maximumItemLines`), so a huge list costs no more.
        items = (document["items"]?.arrayValue ?? []).prefix(SessionAccumulator.maximumItemLines).compactMap { item in
            guard item.isObject else { return nil }
            // An amount out of range is left out of the sums: the line is not counted at all.
            let quantity: Quantity?
            let price: Money?
            switch item["quantity"]?.decimalReading {
            case .value(let value)?: quantity = value
            case .outOfRange?: quantity = nil
            default: quantity = Quantity(1)
            }
            switch item["price"]?.decimalReading {
            case .value(let value)?: price = value
            case .outOfRange?: price = nil
            default: price = .zero
            }
            guard let quantity, let price, let amount = quantity.multiplied(by: price), amount.isWithinLimit else { return nil }
            return ItemLine(
                orderedAt: time(item["timestamp"]) ?? defaultTime,
                employeeID: PosID(item["employee_id"]) ?? (kind == .sessionOpened ? openedByID(document) : nil),
                name: item["name"]?.scalarText ?? "(unnamed)",
                quantity: quantity,
                price: price)
        }
        if let totals = document["totals"], totals.isObject {
            self.totals = CheckTotals(
                subtotal: totals["subtotal"]?.decimalValue, tip: totals["tip"]?.decimalValue,
                tax: totals["tax"]?.decimalValue, discount: totals["discount"]?.decimalValue,
                total: totals["total"]?.decimalValue)
        } else if let total = document["total"]?.decimalValue {
            self.totals = CheckTotals(total: total)
        }
    }

    /// The same facts for the event as stored: its id, and its receipt time where the payload gave no timestamp.
    /// Facts read before the store assigned both (at ingest) become those a read of the stored body gives.
    public func stored(as eventID: String, receivedAt: Date) -> SessionFacts {
        var facts = self
        facts.eventID = eventID
        if occurredAtIsReceipt { facts.occurredAt = receivedAt }
        return facts
    }

    static func staff(_ value: JSONValue?) -> StaffMember? {
        guard let value, value.isObject, let id = PosID(value["id"]) else { return nil }
        return StaffMember(id: id, name: value["name"]?.stringValue)
    }
}

private func openedByID(_ document: JSONValue) -> PosID? {
    PosID((document["opened_by"] ?? document["server"])?["id"])
}
