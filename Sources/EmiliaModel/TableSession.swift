public import Foundation

/// A person on staff as the POS names them.
public struct StaffMember: Sendable, Hashable, Codable {
    public var id: PosID
    public var name: String?

    public init(id: PosID, name: String?) {
        self.id = id
        self.name = name
    }
}

/// One line of a check: a dish, who took it, when.
public struct ItemLine: Sendable, Hashable {
    public var orderedAt: Date?
    public var employeeID: PosID?
    public var name: String
    public var quantity: Quantity
    /// The unit price.
    public var price: Money

    public init(orderedAt: Date?, employeeID: PosID?, name: String, quantity: Quantity, price: Money) {
        self.orderedAt = orderedAt
        self.employeeID = employeeID
        self.name = name
        self.quantity = quantity
        self.price = price
    }

    /// quantity × price.
    public var amount: Money { quantity * price }
}

/// The check's totals as the POS sent them.
public struct CheckTotals: Sendable, Hashable, Codable {
    public var subtotal: Money?
    public var tip: Money?
    public var tax: Money?
    public var discount: Money?
    public var total: Money?

    public init(subtotal: Money? = nil, tip: Money? = nil, tax: Money? = nil, discount: Money? = nil, total: Money? = nil) {
        self.subtotal = subtotal
        self.tip = tip
        self.tax = tax
        self.discount = discount
        self.total = total
    }
}

/// All events of one token + env + `order_id`, folded into what happened at the table.
public struct TableSession: Sendable, Hashable {
    public enum Status: String, Sendable, Codable {
        case open
        case closed
    }

    /// The POS check id, of the JSON type its first event sent it as.
    public var orderID: PosID
    public var tableNumber: String?
    public var status: Status
    public var openedAt: Date?
    public var closedAt: Date?
    public var guests: Int?
    public var openedBy: StaffMember?
    public var closedBy: StaffMember?
    public var items: [ItemLine]
    public var totals: CheckTotals?
    /// The events folded in, sorted.
    public var eventIDs: [String]

    /// Seconds from open to close.
    public var durationSeconds: Int? {
        guard let openedAt, let closedAt else { return nil }
        return Int(closedAt.timeIntervalSince(openedAt).rounded())
    }

    /// Seconds from open to the first item ordered.
    public var firstItemSeconds: Int? {
        guard let openedAt, let first = items.compactMap(\.orderedAt).min() else { return nil }
        return Int(first.timeIntervalSince(openedAt).rounded())
    }

    /// Seconds between consecutive rounds (items ordered at distinct times).
    public var roundGapsSeconds: [Int] {
        let rounds = Set(items.compactMap(\.orderedAt)).sorted()
        return zip(rounds, rounds.dropFirst()).map { Int($1.timeIntervalSince($0).rounded()) }
    }

    /// Sum of item lines.
    public var itemsAmount: Money { items.reduce(.zero) { $0 + $1.amount } }

    /// What the check brought in: `totals.total` when sent, else subtotal, else the items' sum.
    public var revenue: Money { totals?.total ?? totals?.subtotal ?? itemsAmount }
}
