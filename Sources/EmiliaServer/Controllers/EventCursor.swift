import Foundation

/// Opaque cursors: the last event id, base64url-encoded so clients do not build them.
enum EventCursor {
    static func encode(_ id: String) -> String {
        Data(("e:" + id).utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> String? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let decoded = String(data: data, encoding: .utf8),
            decoded.hasPrefix("e:")
        else { return nil }
        // A position is an event id (SQLite) or a commit-ordered number (PostgreSQL).
        let position = decoded.dropFirst(2)
        guard UUID(uuidString: String(position)) != nil || (Int64(position).map { $0 >= 0 } ?? false) else { return nil }
        return String(decoded.dropFirst(2))
    }
}
