import EmiliaModel
import EmiliaStore
import Foundation
import PostgresNIO

/// The columns of `events` as a commit writes them, and the multi-row `INSERT INTO events` `emilia copy` sends.
enum PostgresEventRows {
    static let columns = """
        id, token_id, env, received_at, event_type, is_test, order_id, order_id_is_number, table_number, occurred_at, dedup_key,
        request_id, content_type, content_encoding, warning_count, warnings, body
        """
    static let columnCount = 17

    /// `INSERT INTO events (…) VALUES (…), (…) <onConflict>`, every value bound (text made safe for PostgreSQL).
    static func insert(_ rows: some Collection<LogRecords.Event>, onConflict: String) throws -> PostgresQuery {
        var bindings = PostgresBindings(capacity: rows.count * columnCount)
        let values = try self.values(rows, into: &bindings)
        return PostgresQuery(unsafeSQL: "INSERT INTO events (\(columns)) VALUES \(values) \(onConflict)", binds: bindings)
    }

    /// `(…), (…)`: one parenthesised row of placeholders per row, its values bound.
    private static func values(_ rows: some Collection<LogRecords.Event>, into bindings: inout PostgresBindings) throws -> String {
        var sql = ""
        for (offset, row) in rows.enumerated() {
            let base = offset * columnCount
            let placeholders = (0..<columnCount).map { column in "$\(base + column + 1)" }
            sql += (offset == 0 ? "(" : ", (") + placeholders.joined(separator: ",") + ")"
            bindings.append(row.id)
            bindings.append(row.tokenID.postgresSafe)
            bindings.append(row.environment)
            bindings.append(row.receivedAt)
            bindings.append(row.eventType.postgresSafe)
            bindings.append(row.isTest)
            bindings.append(row.orderID?.postgresSafe)
            bindings.append(row.orderIDIsNumber)
            bindings.append(row.tableNumber?.postgresSafe)
            bindings.append(row.occurredAt)
            bindings.append(row.deduplicationKey.postgresSafe)
            bindings.append(row.requestID?.postgresSafe)
            bindings.append(row.contentType?.postgresSafe)
            bindings.append(row.contentEncoding?.postgresSafe)
            bindings.append(row.warningCount)
            bindings.append(row.warnings)
            try bindings.append(row.body)
        }
        return sql
    }
}

extension LogRecords.Event {
    /// The row of an accepted event, as the commit writer inserts it.
    init(_ event: IncomingEvent, id: String, receivedAt: Date, warnings: String) {
        self.init(
            sourceOrder: 0, id: id, tokenID: event.tokenID, environment: event.environment.rawValue,
            receivedAt: receivedAt.timeIntervalSince1970, eventType: event.summary.kind.name, isTest: event.summary.kind.isTest,
            orderID: event.summary.orderID, orderIDIsNumber: event.summary.orderIDIsNumber, tableNumber: event.summary.tableNumber,
            occurredAt: event.summary.occurredAt?.timeIntervalSince1970, deduplicationKey: event.deduplicationKey,
            requestID: event.requestID, contentType: event.contentType, contentEncoding: event.contentEncoding,
            warningCount: event.warnings.count, warnings: warnings, body: event.body)
    }
}
