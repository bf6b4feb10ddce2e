import Foundation

/// The shape of a webhook token: a UUID, any case.
public enum TokenFormat {
    /// Nil when `text` is a well-formed token; otherwise a hint for the integrator.
    public static func problem(with text: String) -> String? {
        let count = text.utf8.count
        if count != 36 {
            return "the token must be the full 36-character UUID; got \(count) characters"
        }
        if !isUUID(text) {
            return "the token must be a UUID: 8-4-4-4-12 hexadecimal digits separated by dashes"
        }
        return nil
    }

    /// 8-4-4-4-12 hexadecimal digits, any case, separated by dashes. Checked by hand: `UUID(uuidString:)` runs
    /// `sscanf` on every request, and on Linux it also takes spaces and dashes inside the groups.
    static func isUUID(_ text: String) -> Bool {
        var index = 0
        for byte in text.utf8 {
            let isDashPosition = index == 8 || index == 13 || index == 18 || index == 23
            guard isDashPosition ? byte == UInt8(ascii: "-") : byte.isHexDigit else { return false }
            index += 1
        }
        return index == 36
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}
