public import EmiliaModel
public import Foundation

/// A member of staff in a payload: `{"id": 72, "name": "João Silva"}`.
public struct Employee: Sendable, Hashable {
    public var id: Int
    public var name: String

    public init(id: Int, name: String) {
        self.id = id
        self.name = name
    }
}

/// One dish on a check.
public struct OrderedItem: Sendable, Hashable {
    public var orderedAt: Date
    public var employeeID: Int
    public var name: String
    public var quantity: Int
    /// The unit price.
    public var price: Money

    public init(orderedAt: Date, employeeID: Int, name: String, quantity: Int = 1, price: Money) {
        self.orderedAt = orderedAt
        self.employeeID = employeeID
        self.name = name
        self.quantity = quantity
        self.price = price
    }
}

/// A typed webhook payload: it knows its event, its order, and how to write itself as JSON with every time in
/// the restaurant's own offset (taken from its IANA zone at that instant, so DST is right).
public protocol WebhookPayload: Sendable {
    var event: String { get }
    var orderID: String { get }
    /// The JSON body, times written in `timeZone`.
    func jsonObject(in timeZone: TimeZone) -> [(String, JSONValue)]
}

extension WebhookPayload {
    /// The encoded body.
    public func encoded(in timeZone: TimeZone) -> Data {
        Data(JSONValue.object(jsonObject(in: timeZone).map { (key: $0.0, value: $0.1) }).jsonText.utf8)
    }
}

/// `session_opened`: a party sat down and the check was opened.
public struct SessionOpened: WebhookPayload {
    public var event: String { "session_opened" }
    public var orderID: String
    public var tableNumber: String
    public var openedAt: Date
    public var server: Employee
    public var guests: Int?

    public init(orderID: String, tableNumber: String, openedAt: Date, server: Employee, guests: Int? = nil) {
        self.orderID = orderID
        self.tableNumber = tableNumber
        self.openedAt = openedAt
        self.server = server
        self.guests = guests
    }

    public func jsonObject(in timeZone: TimeZone) -> [(String, JSONValue)] {
        var object: [(String, JSONValue)] = [
            ("event", .string(event)), ("timestamp", .time(openedAt, timeZone)), ("order_id", .string(orderID)),
            ("table_number", .string(tableNumber)), ("session_start", .time(openedAt, timeZone)),
            ("opened_by", .employee(server)),
        ]
        if let guests { object.append(("guests", .number(String(guests)))) }
        return object
    }
}

/// `items_added`: a round of dishes ordered.
public struct ItemsAdded: WebhookPayload {
    public var event: String { "items_added" }
    public var orderID: String
    public var tableNumber: String
    public var sentAt: Date
    public var items: [OrderedItem]

    public init(orderID: String, tableNumber: String, sentAt: Date, items: [OrderedItem]) {
        self.orderID = orderID
        self.tableNumber = tableNumber
        self.sentAt = sentAt
        self.items = items
    }

    public func jsonObject(in timeZone: TimeZone) -> [(String, JSONValue)] {
        [
            ("event", .string(event)), ("timestamp", .time(sentAt, timeZone)), ("order_id", .string(orderID)),
            ("table_number", .string(tableNumber)), ("items", .array(items.map { .item($0, timeZone) })),
        ]
    }
}

/// `session_complete`: the check closed, with every item and the totals. Alone it makes a whole session.
public struct SessionComplete: WebhookPayload {
    public var event: String { "session_complete" }
    public var orderID: String
    public var tableNumber: String
    public var openedAt: Date
    public var closedAt: Date
    public var openedBy: Employee
    public var closedBy: Employee
    public var guests: Int?
    public var items: [OrderedItem]
    public var tip: Money
    public var tax: Money
    public var discount: Money

    public init(
        orderID: String, tableNumber: String, openedAt: Date, closedAt: Date, openedBy: Employee, closedBy: Employee,
        guests: Int? = nil, items: [OrderedItem], tip: Money, tax: Money, discount: Money = .zero
    ) {
        self.orderID = orderID
        self.tableNumber = tableNumber
        self.openedAt = openedAt
        self.closedAt = closedAt
        self.openedBy = openedBy
        self.closedBy = closedBy
        self.guests = guests
        self.items = items
        self.tip = tip
        self.tax = tax
        self.discount = discount
    }

    /// Items × prices.
    public var subtotal: Money { items.reduce(.zero) { $0 + Quantity($1.quantity) * $1.price } }
    /// subtotal + tip + tax − discount.
    public var total: Money { subtotal + tip + tax - discount }

    public func jsonObject(in timeZone: TimeZone) -> [(String, JSONValue)] {
        var totals: [(key: String, value: JSONValue)] = [
            ("subtotal", .money(subtotal)), ("tip", .money(tip)), ("tax", .money(tax)),
        ]
        if discount != .zero { totals.append(("discount", .money(discount))) }
        totals.append(("total", .money(total)))
        var object: [(String, JSONValue)] = [
            ("event", .string(event)), ("timestamp", .time(closedAt, timeZone)), ("order_id", .string(orderID)),
            ("table_number", .string(tableNumber)), ("session_start", .time(openedAt, timeZone)),
            ("session_end", .time(closedAt, timeZone)), ("opened_by", .employee(openedBy)), ("closed_by", .employee(closedBy)),
        ]
        if let guests { object.append(("guests", .number(String(guests)))) }
        object.append(("items", .array(items.map { .item($0, timeZone) })))
        object.append(("totals", .object(totals)))
        return object
    }
}

extension JSONValue {
    static func time(_ date: Date, _ zone: TimeZone) -> JSONValue {
        .string(Timestamp.format(date, offsetSeconds: zone.secondsFromGMT(for: date), utcAsZ: false))
    }

    static func money(_ amount: Money) -> JSONValue { .number(amount.description) }

    static func employee(_ employee: Employee) -> JSONValue {
        .object([("id", .number(String(employee.id))), ("name", .string(employee.name))])
    }

    static func item(_ item: OrderedItem, _ zone: TimeZone) -> JSONValue {
        .object([
            ("timestamp", .time(item.orderedAt, zone)), ("employee_id", .number(String(item.employeeID))),
            ("name", .string(item.name)), ("quantity", .number(String(item.quantity))), ("price", .money(item.price)),
        ])
    }
}
