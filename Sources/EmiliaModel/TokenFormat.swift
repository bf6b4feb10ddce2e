import Foundation

/// The shape of a webhook token: a UUID, any case.
public enum TokenFormat {
    /// Nil when `text` is a well-formed token; otherwise a hint for the integrator.
    public static func problem(with text: String) -> String? {
        let count = text.utf8.count
        if count != 36 {
            return "the token must be the full 36-character UUID; got \(count) characters"
        }
        if UUID(uuidString: text) == nil {
            return "the token must be a UUID: 8-4-4-4-12 hexadecimal digits separated by dashes"
        }
        return nil
    }
}
