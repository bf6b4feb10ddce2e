public import Foundation

/// An RFC 3339 date-time as a POS sent it: the wall-clock reading and, when present, its UTC offset.
public struct Timestamp: Sendable, Hashable {
    /// The wall-clock reading as seconds since 1970-01-01T00:00:00 *in its own offset* (not UTC).
    public var wallClockSeconds: Double
    /// Seconds east of UTC (`-03:00` → −10 800); nil when the text had no offset (a "naive" time).
    public var offsetSeconds: Int?

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` (a space for `T` and `±HHMM` are accepted too).
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        var reader = DigitReader(bytes: bytes)
        guard let year = reader.number(4), reader.skip("-"), let month = reader.number(2), reader.skip("-"),
            let day = reader.number(2), reader.skipAny(["T", "t", " "]), let hour = reader.number(2), reader.skip(":"),
            let minute = reader.number(2), reader.skip(":"), let second = reader.number(2)
        else { return nil }
        guard (1...12).contains(month), (1...Timestamp.daysIn(month: month, year: year)).contains(day),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction = 0.0
        if reader.skip(".") {
            var scale = 0.1
            var count = 0
            while let digit = reader.digit() {
                fraction += Double(digit) * scale
                scale /= 10
                count += 1
            }
            guard count > 0 else { return nil }
        }
        var offset: Int?
        if reader.skipAny(["Z", "z"]) {
            offset = 0
        } else if let sign = reader.signValue() {
            guard let hours = reader.number(2), hours < 24 else { return nil }
            _ = reader.skip(":")
            guard let minutes = reader.number(2), minutes < 60 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        }
        guard reader.isAtEnd else { return nil }
        let days = Timestamp.daysSinceEpoch(year: year, month: month, day: day)
        wallClockSeconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second) + fraction
        offsetSeconds = offset
    }

    /// The instant this names; a naive time is read in `zone` (the restaurant's).
    public func instant(in zone: TimeZone) -> Date {
        if let offsetSeconds { return Date(timeIntervalSince1970: wallClockSeconds - Double(offsetSeconds)) }
        let guess = Date(timeIntervalSince1970: wallClockSeconds)
        let offset = zone.secondsFromGMT(for: guess.addingTimeInterval(-Double(zone.secondsFromGMT(for: guess))))
        return Date(timeIntervalSince1970: wallClockSeconds - Double(offset))
    }

    /// Days from 1970-01-01 to the civil date (proleptic Gregorian), negative before it.
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

extension Timestamp {
    /// Formats an instant as RFC 3339 in the given offset, e.g. `2025-11-24T18:30:00-03:00`
    /// (`Z` for UTC when `utcAsZ`), with milliseconds only when `milliseconds` is set.
    public static func format(_ date: Date, offsetSeconds: Int, milliseconds: Bool = false, utcAsZ: Bool = true) -> String {
        let local = date.timeIntervalSince1970 + Double(offsetSeconds)
        let wholeSeconds = Int(local.rounded(.down))
        let millis = Int(((local - Double(wholeSeconds)) * 1000).rounded(.down))
        var days = wholeSeconds / 86_400
        var secondsOfDay = wholeSeconds % 86_400
        if secondsOfDay < 0 {
            secondsOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        var text =
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondsOfDay / 3600, 2)):\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2))"
        if milliseconds { text += ".\(pad(millis, 3))" }
        if offsetSeconds == 0 && utcAsZ { return text + "Z" }
        let sign = offsetSeconds < 0 ? "-" : "+"
        let absolute = abs(offsetSeconds)
        return text + "\(sign)\(pad(absolute / 3600, 2)):\(pad(absolute / 60 % 60, 2))"
    }

    /// An instant in UTC with milliseconds: how Emilia writes its own times (`received_at`).
    public static func formatUTC(_ date: Date) -> String { format(date, offsetSeconds: 0, milliseconds: true) }

    /// The civil date for a day count since 1970-01-01.
    static func civilDate(daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = daysSinceEpoch + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

private struct DigitReader {
    let bytes: [UInt8]
    var index = 0

    var isAtEnd: Bool { index == bytes.count }

    mutating func digit() -> Int? {
        guard index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 else { return nil }
        defer { index += 1 }
        return Int(bytes[index] - 0x30)
    }

    mutating func number(_ width: Int) -> Int? {
        var value = 0
        for _ in 0..<width {
            guard let digit = digit() else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    mutating func skip(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(character.value) else { return false }
        index += 1
        return true
    }

    mutating func skipAny(_ characters: [Unicode.Scalar]) -> Bool { characters.contains { skip($0) } }

    mutating func signValue() -> Int? {
        if skip("+") { return 1 }
        if skip("-") { return -1 }
        return nil
    }
}
