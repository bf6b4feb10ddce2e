/// How a restaurant names its tables: "Mesa 8" and "Mesa 12" share the style `mesa #`; "Table 12" does not.
public struct TableNamingStyle: Sendable, Hashable, CustomStringConvertible {
    /// The name with every run of digits replaced by `#`, lowercased, spaces folded: `mesa #`.
    public var pattern: String

    /// The style of a table name, or nil for a name with no digits (nothing to compare).
    public init?(tableName: String) {
        var pattern = ""
        var lastWasDigit = false
        var lastWasSpace = false
        var sawDigit = false
        for character in tableName.lowercased().trimmingSpaces() {
            if character.isNumber {
                if !lastWasDigit { pattern.append("#") }
                lastWasDigit = true
                lastWasSpace = false
                sawDigit = true
            } else if character.isWhitespace {
                if !lastWasSpace { pattern.append(" ") }
                lastWasSpace = true
                lastWasDigit = false
            } else {
                pattern.append(character)
                lastWasDigit = false
                lastWasSpace = false
            }
        }
        guard sawDigit else { return nil }
        self.pattern = pattern
    }

    /// An example name in this style, e.g. `Mesa N` for `mesa #`.
    public var description: String { pattern.replacingOccurrences(of: "#", with: "N") }
}

extension String {
    func trimmingSpaces() -> Substring {
        let start = firstIndex(where: { !$0.isWhitespace }) ?? endIndex
        let end = lastIndex(where: { !$0.isWhitespace }).map { index(after: $0) } ?? start
        return self[start..<end]
    }

    func replacingOccurrences(of target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}

extension TableNamingStyle {
    /// A style from its stored pattern (`mesa #`).
    public init(pattern: String) { self.pattern = pattern }
}
