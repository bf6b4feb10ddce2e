public import Foundation

extension UUID {
    /// The canonical lowercase text (`uuidString.lowercased()`), written by hand: that pair formats with `sprintf`
    /// and then copies the string again, on every event the writers store.
    public var lowercaseText: String {
        withUnsafeBytes(of: uuid) { LowercaseHex.text(of: $0, dashesBefore: [4, 6, 8, 10]) }
    }
}
