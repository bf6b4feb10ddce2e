public import EmiliaModel
public import Foundation

/// A deterministic random source (SplitMix64): the same seed gives the same restaurants and nights.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

/// A restaurant as a generator sees it: tables, staff, a menu with prices, a time zone.
public struct SimulatedRestaurant: Sendable {
    public struct Dish: Sendable, Hashable {
        public var name: String
        public var price: Money
        public var isDrink: Bool
    }

    public var name: String
    public var timeZone: TimeZone
    public var tables: [String]
    public var staff: [Employee]
    public var menu: [Dish]

    static let dishes: [(String, String, Bool)] = [
        ("Caipirinha", "28.00", true), ("Chopp", "14.00", true), ("Água com gás", "7.00", true), ("Suco de laranja", "12.00", true),
        ("Vinho tinto (taça)", "32.00", true), ("Café espresso", "8.00", true), ("Focaccia", "19.00", false),
        ("Pão de queijo", "16.00", false), ("Bolinho de bacalhau", "42.00", false), ("Salada Caesar", "38.00", false),
        ("Risoto de cogumelos", "89.00", false), ("Picanha", "112.00", false), ("Moqueca de peixe", "98.00", false),
        ("Feijoada", "76.00", false), ("Frango grelhado", "58.00", false), ("Spaghetti carbonara", "64.00", false),
        ("Pudim", "24.00", false), ("Petit gâteau", "32.00", false), ("Sorvete", "18.00", false), ("Brigadeiro", "9.00", false),
    ]
    static let firstNames = [
        "João", "Maria", "Ana", "Pedro", "Lucas", "Juliana", "Carlos", "Fernanda", "Rafael", "Beatriz",
        "Gabriel", "Camila", "Bruno", "Larissa", "Thiago", "Patrícia",
    ]
    static let lastNames = ["Silva", "Santos", "Oliveira", "Souza", "Lima", "Costa", "Pereira", "Almeida", "Ferreira", "Rocha"]

    /// A restaurant with 10–30 tables, 5–12 staff and the house menu, priced ±15 % from the base.
    public static func make(name: String, timeZone: TimeZone, random: inout SeededRandom) -> SimulatedRestaurant {
        let tables = (1...Int.random(in: 10...30, using: &random)).map { "Mesa \($0)" }
        let staff = (0..<Int.random(in: 5...12, using: &random)).map { index in
            Employee(id: 10 + index * 7, name: "\(firstNames.randomElement(using: &random)!) \(lastNames.randomElement(using: &random)!)")
        }
        let factor = Int64.random(in: 85...115, using: &random)
        let menu = dishes.map { name, price, drink in
            let cents = Money(price)!.units * factor / 100 / 100 * 100
            return Dish(name: name, price: Money(units: cents), isDrink: drink)
        }
        return SimulatedRestaurant(name: name, timeZone: timeZone, tables: tables, staff: staff, menu: menu)
    }
}

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
