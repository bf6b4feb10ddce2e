/// An exact decimal amount with four fractional digits, for money and quantities.
///
/// Sums and products never drift the way binary floating point does: `0.1 + 0.2 == 0.3`.
public struct Money: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The amount in ten-thousandths.
    public var units: Int64

    static let scale: Int64 = 10_000

    /// Zero.
    public static let zero = Money(units: 0)

    /// An amount from its ten-thousandths.
    public init(units: Int64) { self.units = units }

    /// A whole amount.
    public init(_ whole: Int) { self.units = Int64(whole) * Money.scale }

    /// Parses decimal text such as `"19.00"`, `"-3.5"` or `"1e2"`; digits past the fourth decimal are rounded
    /// half to even. Nil for anything else or for amounts out of range.
    public init?(_ text: String) {
        var utf8 = Array(text.utf8)
        var exponent = 0
        if let marker = utf8.firstIndex(where: { $0 | 0x20 == UInt8(ascii: "e") }) {
            guard let parsed = Int(String(decoding: utf8[(marker + 1)...], as: UTF8.self)), abs(parsed) < 40 else { return nil }
            exponent = parsed
            utf8.removeSubrange(marker...)
        }
        var negative = false
        var digits: [Int64] = []
        var fractionDigits = 0
        var seenPoint = false
        for (offset, byte) in utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "-") where offset == 0: negative = true
            case UInt8(ascii: "+") where offset == 0: continue
            case UInt8(ascii: ".") where !seenPoint: seenPoint = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits.append(Int64(byte - UInt8(ascii: "0")))
                if seenPoint { fractionDigits += 1 }
            default: return nil
            }
        }
        guard !digits.isEmpty else { return nil }
        // value = digits × 10^(exponent − fractionDigits); we want it × 10^4.
        let shift = exponent - fractionDigits + 4
        var value: Int64 = 0
        var roundingDigits: [Int64] = []
        let keep = shift >= 0 ? digits.count : digits.count + shift
        for (position, digit) in digits.enumerated() {
            if position < keep {
                let (multiplied, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (added, overflow2) = multiplied.addingReportingOverflow(digit)
                guard !overflow1, !overflow2 else { return nil }
                value = added
            } else {
                roundingDigits.append(digit)
            }
        }
        if shift > 0 {
            for _ in 0..<shift {
                let (multiplied, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                value = multiplied
            }
        }
        if let first = roundingDigits.first {
            let rest = roundingDigits.dropFirst().contains { $0 != 0 }
            if first > 5 || (first == 5 && (rest || value % 2 == 1)) { value += 1 }
        }
        self.units = negative ? -value : value
    }

    public static func + (lhs: Money, rhs: Money) -> Money { Money(units: lhs.units &+ rhs.units) }
    public static func - (lhs: Money, rhs: Money) -> Money { Money(units: lhs.units &- rhs.units) }
    public static func += (lhs: inout Money, rhs: Money) { lhs.units = lhs.units &+ rhs.units }

    /// The product, rounded half away from zero to four decimals (saturating on overflow).
    public static func * (lhs: Money, rhs: Money) -> Money {
        let (raw, overflow) = lhs.units.multipliedReportingOverflow(by: rhs.units)
        guard !overflow else {
            return Money(units: (lhs.units < 0) != (rhs.units < 0) ? Int64.min : Int64.max)
        }
        let half = Money.scale / 2
        return Money(units: raw >= 0 ? (raw + half) / Money.scale : (raw - half) / Money.scale)
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.units < rhs.units }

    /// The absolute amount.
    public var magnitude: Money { Money(units: units == Int64.min ? Int64.max : abs(units)) }

    /// The amount as a `Double`, for charts only.
    public var doubleValue: Double { Double(units) / Double(Money.scale) }

    /// Two decimals, e.g. `"413.00"`, rounded half away from zero.
    public var description: String {
        let cents = units >= 0 ? (units + 50) / 100 : (units - 50) / 100
        let sign = cents < 0 ? "-" : ""
        let absolute = cents.magnitude
        let fraction = absolute % 100
        return "\(sign)\(absolute / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
