package import Foundation

/// Rows exactly as a backend stores them, for `emilia copy` from one backend to another: ids, times, dedup keys
/// and bodies unchanged.
package enum LogRecords {
    /// A token with the hashes of its values (never a clear token).
    package struct Token: Sendable {
        package var record: TokenRecord
        package var secrets: [Secret]

        package init(record: TokenRecord, secrets: [Secret]) {
            self.record = record
            self.secrets = secrets
        }
    }

    package struct Secret: Sendable {
        package var hash: String
        package var createdAt: Double
        package var expiresAt: Double?

        package init(hash: String, createdAt: Double, expiresAt: Double?) {
            self.hash = hash
            self.createdAt = createdAt
            self.expiresAt = expiresAt
        }
    }

    /// An event row; `sourceOrder` is its place in the source log (copies go in that order).
    package struct Event: Sendable {
        package var sourceOrder: Int64
        package var id: String
        package var tokenID: String
        package var environment: String
        package var receivedAt: Double
        package var eventType: String
        package var isTest: Bool
        package var orderID: String?
        package var orderIDIsNumber: Bool
        package var tableNumber: String?
        package var occurredAt: Double?
        package var deduplicationKey: String
        package var requestID: String?
        package var contentType: String?
        package var contentEncoding: String?
        package var warningCount: Int
        package var warnings: String
        package var body: Data

        package init(
            sourceOrder: Int64, id: String, tokenID: String, environment: String, receivedAt: Double, eventType: String,
            isTest: Bool, orderID: String?, orderIDIsNumber: Bool, tableNumber: String?, occurredAt: Double?, deduplicationKey: String,
            requestID: String?, contentType: String?, contentEncoding: String?, warningCount: Int, warnings: String, body: Data
        ) {
            self.sourceOrder = sourceOrder
            self.id = id
            self.tokenID = tokenID
            self.environment = environment
            self.receivedAt = receivedAt
            self.eventType = eventType
            self.isTest = isTest
            self.orderID = orderID
            self.orderIDIsNumber = orderIDIsNumber
            self.tableNumber = tableNumber
            self.occurredAt = occurredAt
            self.deduplicationKey = deduplicationKey
            self.requestID = requestID
            self.contentType = contentType
            self.contentEncoding = contentEncoding
            self.warningCount = warningCount
            self.warnings = warnings
            self.body = body
        }
    }

    /// A rejection row with its id in the source.
    package struct Rejection: Sendable {
        package var id: Int64
        package var rejection: EmiliaStore.Rejection

        package init(id: Int64, rejection: EmiliaStore.Rejection) {
            self.id = id
            self.rejection = rejection
        }
    }
}
