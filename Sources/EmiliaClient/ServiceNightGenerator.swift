import EmiliaModel
import Foundation

/// One simulated table session: the events the POS sends for it, in the order it sends them.
public struct SimulatedSession: Sendable {
    public var orderID: String
    public var opened: SessionOpened
    public var rounds: [ItemsAdded]
    public var complete: SessionComplete

    /// The events as the POS sends them: opened, each round, complete.
    public var payloads: [any WebhookPayload] { [opened] + rounds + [complete] }
}

/// Makes realistic service nights: arrivals through lunch and dinner, parties of 1–6 on free tables,
/// rounds of dishes and drinks taken by the table's server, stays of 40–150 minutes, tips and taxes.
public struct ServiceNightGenerator: Sendable {
    public var restaurant: SimulatedRestaurant

    public init(restaurant: SimulatedRestaurant) {
        self.restaurant = restaurant
    }

    /// The sessions of one local day (`YYYY-MM-DD`), about `sessions` of them (fewer if tables run out).
    public func sessions(on day: String, count: Int, orderPrefix: String, random: inout SeededRandom) -> [SimulatedSession] {
        guard let bounds = LocalDay.bounds(of: day, in: restaurant.timeZone) else { return [] }
        var tableFreeAt = [Date](repeating: .distantPast, count: restaurant.tables.count)
        // A third at lunch (11:30–14:30), the rest at dinner (18:30–22:30), sorted by arrival.
        let arrivals = (0..<count).map { index -> Date in
            let lunch = index % 3 == 0
            let start = lunch ? 11.5 * 3600 : 18.5 * 3600
            return bounds.start.addingTimeInterval(start + Double.random(in: 0..<(4 * 3600), using: &random))
        }.sorted()
        var result: [SimulatedSession] = []
        for (index, arrival) in arrivals.enumerated() {
            guard let table = tableFreeAt.indices.filter({ tableFreeAt[$0] <= arrival }).randomElement(using: &random) else { continue }
            let session = makeSession(
                orderID: "\(orderPrefix)-\(String(format: "%04d", index + 1))", table: restaurant.tables[table],
                openedAt: arrival, random: &random)
            tableFreeAt[table] = session.complete.closedAt.addingTimeInterval(5 * 60)
            result.append(session)
        }
        return result
    }

    func makeSession(orderID: String, table: String, openedAt: Date, random: inout SeededRandom) -> SimulatedSession {
        let server = restaurant.staff.randomElement(using: &random)!
        let cashier = Bool.random(using: &random) ? server : restaurant.staff.randomElement(using: &random)!
        let guests = Int.random(in: 1...6, using: &random)
        let stay = Double(Int.random(in: 40...150, using: &random)) * 60
        let closedAt = openedAt.addingTimeInterval(stay)
        var rounds: [ItemsAdded] = []
        var roundTime = openedAt.addingTimeInterval(Double(Int.random(in: 3...15, using: &random)) * 60)
        for _ in 0..<Int.random(in: 1...4, using: &random) where roundTime < closedAt.addingTimeInterval(-10 * 60) {
            let lines = (0..<Int.random(in: 1...max(1, guests), using: &random)).map { _ -> OrderedItem in
                let dish = restaurant.menu.randomElement(using: &random)!
                return OrderedItem(
                    orderedAt: roundTime, employeeID: server.id, name: dish.name,
                    quantity: Int.random(in: 1...3, using: &random), price: dish.price)
            }
            rounds.append(ItemsAdded(orderID: orderID, tableNumber: table, sentAt: roundTime.addingTimeInterval(30), items: lines))
            roundTime = roundTime.addingTimeInterval(Double(Int.random(in: 10...40, using: &random)) * 60)
        }
        let items = rounds.flatMap(\.items)
        let subtotal = items.reduce(Money.zero) { $0 + Quantity($1.quantity) * $1.price }
        let tip = Money(units: subtotal.units / 10 / 100 * 100)
        let tax = Money(units: subtotal.units * 8 / 100 / 100 * 100)
        let complete = SessionComplete(
            orderID: orderID, tableNumber: table, openedAt: openedAt, closedAt: closedAt,
            openedBy: server, closedBy: cashier, guests: guests, items: items, tip: tip, tax: tax)
        return SimulatedSession(
            orderID: orderID,
            opened: SessionOpened(orderID: orderID, tableNumber: table, openedAt: openedAt, server: server, guests: guests),
            rounds: rounds, complete: complete)
    }
}
