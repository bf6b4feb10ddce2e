import EmiliaModel
public import Foundation

/// Whether a token may post.
public enum TokenStatus: String, Sendable, Codable {
    case active
    case inactive
}

/// A restaurant integration as stored: never the clear token, only its first 8 characters.
public struct TokenRecord: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    /// IANA zone id, e.g. `America/Sao_Paulo`.
    public var timeZone: String
    public var status: TokenStatus
    /// The first 8 characters of the current token.
    public var prefix: String
    public var createdAt: Date
    /// The table naming style learned from the first table seen (`mesa #`), if any.
    public var tableStyle: String?

    public init(id: String, name: String, timeZone: String, status: TokenStatus, prefix: String, createdAt: Date, tableStyle: String?) {
        self.id = id
        self.name = name
        self.timeZone = timeZone
        self.status = status
        self.prefix = prefix
        self.createdAt = createdAt
        self.tableStyle = tableStyle
    }
}

/// A token just created or rotated: the only time the clear token exists.
public struct IssuedToken: Sendable {
    public var record: TokenRecord
    public var token: String

    package init(record: TokenRecord, token: String) {
        self.record = record
        self.token = token
    }

    /// A new active token for a restaurant, before it is stored: the name trimmed, a fresh clear value. Throws
    /// `.invalidInput` for an unknown zone or a name that is empty or over 200 characters.
    package static func make(name: String, timeZone: String, at instant: Date) throws -> IssuedToken {
        guard TimeZone(identifier: timeZone) != nil else {
            throw StoreError(.invalidInput, "unknown time zone '\(timeZone)': use an IANA name such as America/Sao_Paulo")
        }
        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmedName.isEmpty, trimmedName.count <= 200 else {
            throw StoreError(.invalidInput, "a token needs a name of 1 to 200 characters")
        }
        let token = TokenSecrets.makeToken()
        let record = TokenRecord(
            id: UUID().uuidString.lowercased(), name: trimmedName, timeZone: timeZone,
            status: .active, prefix: TokenSecrets.prefix(token), createdAt: instant, tableStyle: nil)
        return IssuedToken(record: record, token: token)
    }
}
