import EmiliaModel
public import EmiliaStore
public import Hummingbird

/// A token as the admin API and `emilia token … --json` show it; `token` only in the answers to create and rotate.
public struct TokenResponse: ResponseEncodable, Sendable {
    let id: String
    let token: String?
    let prefix: String
    let name: String
    let timezone: String
    let status: String
    let createdAt: String
    let webhookPath: String?

    public init(_ record: TokenRecord, token: String? = nil) {
        id = record.id
        self.token = token
        prefix = record.prefix
        name = record.name
        timezone = record.timeZone
        status = record.status.rawValue
        createdAt = Timestamp.formatUTC(record.createdAt)
        webhookPath = token.map { "/webhooks/v1/pos/\($0)" }
    }

    enum CodingKeys: String, CodingKey {
        case id, token, prefix, name, timezone, status
        case createdAt = "created_at"
        case webhookPath = "webhook_path"
    }
}

/// The admin API's token list, and `emilia token list --json`.
public struct TokenListResponse: ResponseEncodable, Sendable {
    let tokens: [TokenResponse]

    public init(tokens: [TokenResponse]) {
        self.tokens = tokens
    }
}

struct CreateTokenRequest: Decodable {
    let name: String
    let timezone: String?
}
