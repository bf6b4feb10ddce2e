/// An amount of money: what a line, a tip or a check's total is.
public typealias Money = ExactDecimal

/// How many of an item a line orders (`2`, `0.5` kg).
public typealias Quantity = ExactDecimal

/// An exact decimal with four fractional digits: `Money` and `Quantity` are both this.
///
/// Sums and products never drift the way binary floating point does: `0.1 + 0.2 == 0.3`. Nothing here traps:
/// text is read only within `ExactDecimal.limit`, and the operators saturate at the ends of `Int64` (the checked
/// forms `adding(_:)` and `multiplied(by:)` answer nil instead).
public struct ExactDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The value in ten-thousandths.
    public var units: Int64

    static let scale: Int64 = 10_000

    /// The largest magnitude read from text (exclusive): one trillion. Beyond it a payload's amount is out of range.
    public static let limit = ExactDecimal(units: 1_000_000_000_000 * 10_000)

    /// Zero.
    public static let zero = ExactDecimal(units: 0)

    /// A value from its ten-thousandths.
    public init(units: Int64) { self.units = units }

    /// A whole amount (saturating).
    public init(_ whole: Int) {
        let (units, overflow) = Int64(whole).multipliedReportingOverflow(by: ExactDecimal.scale)
        self.units = overflow ? (whole < 0 ? .min : .max) : units
    }

    /// Parses decimal text such as `"19.00"`, `"-3.5"` or `"1e2"`; digits past the fourth decimal are rounded
    /// half to even. Nil for anything else or for amounts outside `ExactDecimal.limit`.
    public init?(_ text: String) {
        guard case .value(let money) = ExactDecimal.read(text) else { return nil }
        self = money
    }

    /// What decimal text holds.
    public enum Reading: Sendable, Hashable {
        /// An amount within `ExactDecimal.limit`.
        case value(ExactDecimal)
        /// A well-formed number whose magnitude is `ExactDecimal.limit` or more.
        case outOfRange
        /// Not a decimal number.
        case invalid
    }

    /// Reads decimal text in two passes over its bytes, without allocating: the form first, then the digits.
    public static func read(_ text: String) -> Reading {
        var text = text
        return text.withUTF8 { read(bytes: $0) }
    }

    static func read(bytes: UnsafeBufferPointer<UInt8>) -> Reading {
        let end = bytes.firstIndex { $0 | 0x20 == UInt8(ascii: "e") } ?? bytes.count
        guard let exponent = exponent(bytes[min(end + 1, bytes.count)...], present: end < bytes.count) else { return .invalid }
        var start = 0
        var negative = false
        if end > 0, bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            start = 1
        }
        var digitCount = 0
        var fractionDigits = 0
        var seenPoint = false
        for byte in bytes[start..<end] {
            if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                digitCount += 1
                if seenPoint { fractionDigits += 1 }
            } else {
                return .invalid
            }
        }
        guard digitCount > 0 else { return .invalid }
        // value = digits × 10^(exponent − fractionDigits); we want it × 10^4, so `keep` digits stay whole.
        let shift = exponent - fractionDigits + 4
        let keep = digitCount + shift
        var value: Int64 = 0
        var position = 0
        var firstDropped: Int64 = keep < 0 ? 0 : -1
        var restDropped = false
        for byte in bytes[start..<end] where byte != UInt8(ascii: ".") {
            let digit = Int64(byte - UInt8(ascii: "0"))
            if position < keep {
                value = value * 10 + digit
                if value >= limit.units { return .outOfRange }
            } else if firstDropped < 0 {
                firstDropped = digit
            } else if digit != 0 {
                restDropped = true
            }
            position += 1
        }
        if shift > 0, value != 0 {
            for _ in 0..<shift {
                value *= 10
                if value >= limit.units { return .outOfRange }
            }
        }
        if firstDropped > 5 || (firstDropped == 5 && (restDropped || value % 2 == 1)) { value += 1 }
        guard value < limit.units else { return .outOfRange }
        return .value(ExactDecimal(units: negative ? -value : value))
    }

    /// The exponent after `e`, bounded (a huge one only says "out of range" or "zero"); nil when malformed.
    private static func exponent(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, present: Bool) -> Int? {
        guard present else { return 0 }
        var digits = bytes[...]
        var sign = 1
        if let first = digits.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            sign = first == UInt8(ascii: "-") ? -1 : 1
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = min(value * 10 + Int(byte - UInt8(ascii: "0")), 1_000_000)
        }
        return sign * value
    }

    /// The sum, or nil when it does not fit.
    public func adding(_ other: ExactDecimal) -> ExactDecimal? {
        let (sum, overflow) = units.addingReportingOverflow(other.units)
        return overflow ? nil : ExactDecimal(units: sum)
    }

    /// The product rounded half away from zero to four decimals, or nil when it does not fit.
    public func multiplied(by other: ExactDecimal) -> ExactDecimal? {
        let (high, low) = units.multipliedFullWidth(by: other.units)
        let negative = high < 0
        // |product| as a 128-bit magnitude, then divided by the scale with rounding.
        var magnitudeHigh = UInt64(bitPattern: high)
        var magnitudeLow = low
        if negative {
            magnitudeLow = ~magnitudeLow &+ 1
            magnitudeHigh = ~magnitudeHigh &+ (magnitudeLow == 0 ? 1 : 0)
        }
        let scale = UInt64(ExactDecimal.scale)
        guard magnitudeHigh < scale else { return nil }
        let (quotient, remainder) = scale.dividingFullWidth((magnitudeHigh, magnitudeLow))
        // The quotient can be 2^64 − 1 here: check its size before rounding it up (Int64.max itself fits).
        guard quotient <= UInt64(Int64.max) else { return nil }
        let rounded = quotient + (remainder >= scale / 2 ? 1 : 0)
        guard rounded <= UInt64(Int64.max) else { return nil }
        return ExactDecimal(units: negative ? -Int64(rounded) : Int64(rounded))
    }

    /// Saturating sum: never traps (aggregates of many amounts stay at the end of the range).
    public static func + (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        lhs.adding(rhs) ?? ExactDecimal(units: rhs.units < 0 ? .min : .max)
    }

    /// Saturating difference.
    public static func - (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        let (difference, overflow) = lhs.units.subtractingReportingOverflow(rhs.units)
        return ExactDecimal(units: overflow ? (rhs.units > 0 ? .min : .max) : difference)
    }

    public static func += (lhs: inout ExactDecimal, rhs: ExactDecimal) { lhs = lhs + rhs }

    /// The product, rounded half away from zero to four decimals (saturating on overflow).
    public static func * (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        lhs.multiplied(by: rhs) ?? ExactDecimal(units: (lhs.units < 0) != (rhs.units < 0) ? .min : .max)
    }

    public static func < (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool { lhs.units < rhs.units }

    /// The absolute amount.
    public var magnitude: ExactDecimal { ExactDecimal(units: units == Int64.min ? Int64.max : abs(units)) }

    /// True when the amount is within `ExactDecimal.limit` (what a payload may carry).
    public var isWithinLimit: Bool { magnitude < ExactDecimal.limit }

    /// The amount as a `Double`, for charts only.
    public var doubleValue: Double { Double(units) / Double(ExactDecimal.scale) }

    /// Two decimals, e.g. `"413.00"`, rounded half away from zero.
    public var description: String {
        let absolute = units.magnitude
        let cents = absolute / 100 + (absolute % 100 >= 50 ? 1 : 0)
        let fraction = cents % 100
        let sign = units < 0 && cents > 0 ? "-" : ""
        return "\(sign)\(cents / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
