public import Foundation

extension UUID {
    /// The canonical lowercase text (`uuidString.lowercased()`), written by hand: that pair formats with `sprintf`
    /// and then copies the string again, on every event the writers store.
    public var lowercaseText: String {
        withUnsafeBytes(of: uuid) { LowercaseHex.text(of: $0, dashesBefore: Self.dashOffsets) }
    }

    /// The byte offsets a dash goes before in the 8-4-4-4-12 text.
    private static let dashOffsets = [4, 6, 8, 10]
}
