public import EmiliaModel
public import Foundation

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
