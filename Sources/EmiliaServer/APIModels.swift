import EmiliaModel
import EmiliaStore
import Foundation
import Hummingbird

/// A token as the admin API shows it; `token` only in the answers to create and rotate.
struct TokenResponse: ResponseEncodable {
    let id: String
    let token: String?
    let prefix: String
    let name: String
    let timezone: String
    let status: String
    let createdAt: String
    let webhookPath: String?

    init(_ record: TokenRecord, token: String? = nil) {
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

struct TokenListResponse: ResponseEncodable {
    let tokens: [TokenResponse]
}

struct EventResponse: ResponseEncodable {
    let id: String
    let tokenID: String
    let env: String
    let receivedAt: String
    let event: String
    let isTest: Bool
    let orderID: String?
    let tableNumber: String?
    let occurredAt: String?
    let requestID: String?
    let contentType: String?
    let contentEncoding: String?
    let sizeBytes: Int
    let warnings: [ValidationWarning]

    init(_ event: StoredEvent) {
        id = event.id
        tokenID = event.tokenID
        env = event.environment.rawValue
        receivedAt = Timestamp.formatUTC(event.receivedAt)
        self.event = event.eventType
        isTest = event.isTest
        orderID = event.orderID
        tableNumber = event.tableNumber
        occurredAt = event.occurredAt.map(Timestamp.formatUTC)
        requestID = event.requestID
        contentType = event.contentType
        contentEncoding = event.contentEncoding
        sizeBytes = event.bodySize
        warnings = event.warnings
    }

    enum CodingKeys: String, CodingKey {
        case id, env, event, warnings
        case tokenID = "token_id"
        case receivedAt = "received_at"
        case isTest = "is_test"
        case orderID = "order_id"
        case tableNumber = "table_number"
        case occurredAt = "occurred_at"
        case requestID = "request_id"
        case contentType = "content_type"
        case contentEncoding = "content_encoding"
        case sizeBytes = "size_bytes"
    }
}

struct RejectionResponse: Encodable {
    let at: String
    let env: String?
    let status: Int
    let reason: String
    let requestID: String?
    let bodyPreview: String?
    /// How many refusals this record stands for (a flood past the detailed allowance is kept as counts).
    let count: Int

    init(_ rejection: Rejection) {
        count = rejection.count
        at = Timestamp.formatUTC(rejection.at)
        env = rejection.environment?.rawValue
        status = rejection.status
        reason = rejection.reason
        requestID = rejection.requestID
        bodyPreview = rejection.bodyPrefix.map { String(decoding: $0, as: UTF8.self) }
    }

    enum CodingKeys: String, CodingKey {
        case at, env, status, reason, count
        case requestID = "request_id"
        case bodyPreview = "body_preview"
    }
}

struct RejectionListResponse: ResponseEncodable {
    let rejections: [RejectionResponse]
}

struct CreateTokenRequest: Decodable {
    let name: String
    let timezone: String?
}
