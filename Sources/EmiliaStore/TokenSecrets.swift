import Crypto
import EmiliaModel
public import Foundation

/// How clear tokens become what is stored: SHA-256 of the lowercased UUID, and its first 8 characters.
public enum TokenSecrets {
    /// A new random token (a lowercase UUID).
    public static func makeToken() -> String { UUID().uuidString.lowercased() }

    /// The hex SHA-256 of the token, case-insensitive.
    public static func hash(_ token: String) -> String {
        hexDigest(Data(token.lowercased().utf8))
    }

    /// The part of a token that may be shown and logged.
    public static func prefix(_ token: String) -> String { String(token.lowercased().prefix(8)) }

    /// The hex SHA-256 of some bytes.
    public static func hexDigest(_ data: some DataProtocol) -> String {
        SHA256.hash(data: data).withUnsafeBytes { LowercaseHex.text(of: $0) }
    }
}
