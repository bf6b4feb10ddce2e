import EmiliaModel
public import EmiliaStore
import Foundation
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

/// An event as every read shows it, under the same names: the list, the single read, export (NDJSON, and the CSV
/// header) and the stream, which add `payload`. Every key is always there (`null` when unknown).
struct EventResponse: ResponseEncodable {
    let eventID: String
    let tokenID: String
    let env: String
    let receivedAt: String
    let event: String
    let isTest: Bool
    let orderID: PosID?
    let tableNumber: String?
    let occurredAt: String?
    let requestID: String?
    let contentType: String?
    let contentEncoding: String?
    let sizeBytes: Int
    let warnings: [ValidationWarning]

    init(_ event: StoredEvent) {
        eventID = event.id
        tokenID = event.tokenID
        env = event.environment.rawValue
        receivedAt = Timestamp.formatUTC(event.receivedAt)
        self.event = event.eventType
        isTest = event.isTest
        orderID = event.orderID.map { PosID($0, isNumber: event.orderIDIsNumber) }
        tableNumber = event.tableNumber
        occurredAt = event.occurredAt.map(Timestamp.formatUTC)
        requestID = event.requestID
        contentType = event.contentType
        contentEncoding = event.contentEncoding
        sizeBytes = event.bodySize
        warnings = event.warnings
    }

    /// The keys in the order export's CSV columns take (then `payload`).
    enum CodingKeys: String, CodingKey, CaseIterable {
        case eventID = "event_id"
        case tokenID = "token_id"
        case env
        case receivedAt = "received_at"
        case event
        case isTest = "is_test"
        case orderID = "order_id"
        case tableNumber = "table_number"
        case occurredAt = "occurred_at"
        case requestID = "request_id"
        case contentType = "content_type"
        case contentEncoding = "content_encoding"
        case sizeBytes = "size_bytes"
        case warnings
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(tokenID, forKey: .tokenID)
        try container.encode(env, forKey: .env)
        try container.encode(receivedAt, forKey: .receivedAt)
        try container.encode(event, forKey: .event)
        try container.encode(isTest, forKey: .isTest)
        try container.encode(orderID, forKey: .orderID)
        try container.encode(tableNumber, forKey: .tableNumber)
        try container.encode(occurredAt, forKey: .occurredAt)
        try container.encode(requestID, forKey: .requestID)
        try container.encode(contentType, forKey: .contentType)
        try container.encode(contentEncoding, forKey: .contentEncoding)
        try container.encode(sizeBytes, forKey: .sizeBytes)
        try container.encode(warnings, forKey: .warnings)
    }

    /// The CSV row's fields, in `CodingKeys` order (warnings as their codes, space-separated).
    var csvFields: [String] {
        [
            eventID, tokenID, env, receivedAt, event, String(isTest), orderID?.text ?? "", tableNumber ?? "", occurredAt ?? "",
            requestID ?? "", contentType ?? "", contentEncoding ?? "", String(sizeBytes),
            warnings.map(\.code.rawValue).joined(separator: " "),
        ]
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
