import EmiliaModel
import EmiliaStore
import Foundation
import PostgresNIO

/// The one multi-row `INSERT INTO events` both the commit writer and `emilia copy` send, from log rows.
enum PostgresEventRows {
    static let columns = """
        id, token_id, env, received_at, event_type, is_test, order_id, order_id_is_number, table_number, occurred_at, dedup_key,
        request_id, content_type, content_encoding, warning_count, warnings, body
        """
    static let columnCount = 17
    /// The columns' types, in the order of `columns`: a `VALUES` list outside an `INSERT … VALUES` takes its types
    /// from its first row, and a column null in every row would otherwise be text.
    private static let columnTypes = [
        "text", "text", "text", "float8", "text", "bool", "text", "bool", "text", "float8", "text", "text", "text", "text",
        "int8", "text", "bytea",
    ]

    /// `INSERT INTO events (…) VALUES (…), (…) <onConflict>`, every value bound (text made safe for PostgreSQL).
    static func insert(_ rows: some Collection<LogRecords.Event>, onConflict: String) throws -> PostgresQuery {
        var bindings = PostgresBindings(capacity: rows.count * columnCount)
        let values = try self.values(rows, firstParameter: 1, typed: false, into: &bindings)
        return PostgresQuery(unsafeSQL: "INSERT INTO events (\(columns)) VALUES \(values) \(onConflict)", binds: bindings)
    }

    /// The commit writer's statement, a transaction of its own (one round trip): it takes the positions lock, queues
    /// the stream's NOTIFY (sent at commit), then inserts the rows, skipping those whose dedup key is taken, and
    /// returns the ids inserted. The lock is taken before any row draws its position: every row comes out of a join
    /// with the lock's row, and the position default is computed on the join's output.
    static func insertInCommitOrder(_ rows: some Collection<LogRecords.Event>, lock: Int64, channel: String) throws -> PostgresQuery {
        var bindings = PostgresBindings(capacity: 2 + rows.count * columnCount)
        bindings.append(lock)
        bindings.append(channel)
        let values = try self.values(rows, firstParameter: 3, typed: true, into: &bindings)
        return PostgresQuery(
            unsafeSQL: """
                WITH commit_order AS MATERIALIZED (SELECT pg_advisory_xact_lock($1), pg_notify($2, ''))
                INSERT INTO events (\(columns)) SELECT v.* FROM commit_order, (VALUES \(values)) AS v(\(columns))
                ON CONFLICT (token_id, env, dedup_key) DO NOTHING RETURNING id
                """, binds: bindings)
    }

    /// `(…), (…)`: one parenthesised row of placeholders per row, numbered from `firstParameter`, its values bound;
    /// when `typed`, the first row's placeholders are cast to the columns' types.
    private static func values(
        _ rows: some Collection<LogRecords.Event>, firstParameter: Int, typed: Bool, into bindings: inout PostgresBindings
    ) throws -> String {
        var sql = ""
        for (offset, row) in rows.enumerated() {
            let base = firstParameter - 1 + offset * columnCount
            let placeholders = (0..<columnCount).map { column in
                "$\(base + column + 1)" + (typed && offset == 0 ? "::" + columnTypes[column] : "")
            }
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
