/// Small helpers to write JSON text by hand on hot paths, where an encoder would cost more than the work.
public enum JSONText {
    /// `text` as a quoted, escaped JSON string.
    public static func quoted(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &output)
        return output
    }

    /// Appends `text` as a quoted, escaped JSON string.
    public static func appendQuoted(_ text: String, to output: inout String) {
        // Fast path: nothing to escape.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0xE2 }) {
            output += "\""
            output += text
            output += "\""
            return
        }
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{2028}": output += "\\u2028"
            case "\u{2029}": output += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }

    /// Appends `text` as a quoted, escaped JSON string, in UTF-8 bytes.
    public static func appendQuoted(_ text: String, to output: inout [UInt8]) {
        let utf8 = text.utf8
        if !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0xE2 }) {
            output.append(UInt8(ascii: "\""))
            output.append(contentsOf: utf8)
            output.append(UInt8(ascii: "\""))
            return
        }
        output.append(contentsOf: quoted(text).utf8)
    }

    /// The warnings as a JSON array of `{code, field, message}` objects.
    public static func warnings(_ warnings: [ValidationWarning]) -> String {
        if warnings.isEmpty { return "[]" }
        return "["
            + warnings.map {
                "{\"code\":\(quoted($0.code.rawValue)),\"field\":\(quoted($0.field)),\"message\":\(quoted($0.message))}"
            }.joined(separator: ",") + "]"
    }
}
