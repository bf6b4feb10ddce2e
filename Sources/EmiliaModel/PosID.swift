import Foundation

/// An id as the POS sent it (an employee's, a check's): its text, which is what matches across events (`72` and
/// `"72"` are the same person, the same check), and whether it came as a JSON number, so that it goes back out as
/// one (docs/contract.md §2).
public struct PosID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var text: String
    /// True when the payload held a number (`"id": 72`), false for a string (`"id": "72"`).
    public var isNumber: Bool

    public init(_ text: String, isNumber: Bool = false) {
        self.text = text
        self.isNumber = isNumber
    }

    /// The id in a payload value: a string or a number; nil for anything else.
    public init?(_ value: JSONValue?) {
        switch value {
        case .string(let text)?: self.init(text)
        case .number(let text)?: self.init(text, isNumber: true)
        default: return nil
        }
    }

    public var description: String { text }

    /// The id as JSON, of the type it came as.
    public var jsonValue: JSONValue { isNumber ? .number(text) : .string(text) }

    public static func == (lhs: PosID, rhs: PosID) -> Bool { lhs.text == rhs.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }
    public static func < (lhs: PosID, rhs: PosID) -> Bool { lhs.text < rhs.text }
}

extension PosID: ExpressibleByStringLiteral {
    /// A string id.
    public init(stringLiteral text: String) {
        self.init(text)
    }
}

extension PosID: Codable {
    /// A number when it came as one and reads back as the same text (`72`, `-3`, `12.5`, a 30-digit integer);
    /// otherwise (a string, or a number written another way, such as `1e5`) its text as a string, so the id the
    /// answer shows always matches the one sent.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if isNumber, let integer = Int64(text), String(integer) == text {
            try container.encode(integer)
        } else if isNumber, let decimal = Decimal(string: text), decimal.isFinite, "\(decimal)" == text {
            try container.encode(decimal)
        } else {
            try container.encode(text)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let integer = try? container.decode(Int64.self) {
            self.init(String(integer), isNumber: true)
        } else if let decimal = try? container.decode(Decimal.self) {
            self.init("\(decimal)", isNumber: true)
        } else {
            self.init(try container.decode(String.self))
        }
    }
}
