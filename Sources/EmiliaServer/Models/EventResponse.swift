import EmiliaModel
import EmiliaStore
import Foundation
import Hummingbird

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
