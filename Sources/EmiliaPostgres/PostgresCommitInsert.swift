import EmiliaStore
import Foundation
import NIOCore
import PostgresNIO

/// The commit writer's statement, one transaction of its own (one round trip), prepared once per connection: the
/// batch travels as one array per column, so the statement's text is the same for any batch size and PostgreSQL
/// parses and plans it once, not per commit (a 50-row `VALUES` list with 17 parameters a row took a third of
/// PostgreSQL's time in parsing and planning).
///
/// It takes the positions lock, queues the stream's NOTIFY (sent at commit), then inserts the rows, skipping those
/// whose dedup key is taken, and returns the ids inserted. The lock is taken before any row draws its position: every
/// row comes out of a join with the lock's row, and the position default is computed on the join's output, in the
/// arrays' order.
struct PostgresCommitInsert: PostgresPreparedStatement {
    typealias Row = String

    static let name = "emilia_commit_insert"
    static let sql = """
        WITH commit_order AS MATERIALIZED (SELECT pg_advisory_xact_lock($1), pg_notify($2, ''))
        INSERT INTO events (\(PostgresEventRows.columns))
        SELECT v.* FROM commit_order,
          unnest($3::text[], $4::text[], $5::text[], $6::float8[], $7::text[], $8::bool[], $9::text[], $10::bool[],
                 $11::text[], $12::float8[], $13::text[], $14::text[], $15::text[], $16::text[], $17::int8[], $18::text[],
                 $19::bytea[]) AS v(\(PostgresEventRows.columns))
        ON CONFLICT (token_id, env, dedup_key) DO NOTHING RETURNING id
        """

    var lock: Int64
    var channel: String
    var rows: [LogRecords.Event]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2 + PostgresEventRows.columnCount)
        bindings.append(lock)
        bindings.append(channel)
        // Each column's array, in the order of `PostgresEventRows.columns`.
        try bindings.append(column(\.id))
        try bindings.append(column { $0.tokenID.postgresSafe })
        try bindings.append(column(\.environment))
        try bindings.append(column(\.receivedAt))
        try bindings.append(column { $0.eventType.postgresSafe })
        try bindings.append(column(\.isTest))
        try bindings.append(column { $0.orderID?.postgresSafe })
        try bindings.append(column(\.orderIDIsNumber))
        try bindings.append(column { $0.tableNumber?.postgresSafe })
        try bindings.append(column(\.occurredAt))
        try bindings.append(column { $0.deduplicationKey.postgresSafe })
        try bindings.append(column { $0.requestID?.postgresSafe })
        try bindings.append(column { $0.contentType?.postgresSafe })
        try bindings.append(column { $0.contentEncoding?.postgresSafe })
        try bindings.append(column { Int64($0.warningCount) })
        try bindings.append(column(\.warnings))
        try bindings.append(PostgresArrayColumn(rows.map(\.body), arrayType: .byteaArray))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> String { try row.decode(String.self) }

    private func column<Element: PostgresArrayEncodable>(_ value: (LogRecords.Event) -> Element?) -> PostgresArrayColumn<Element> {
        PostgresArrayColumn(rows.map(value))
    }
}

/// One column of a batch as a one-dimensional PostgreSQL array whose elements may be NULL (postgres-nio's own
/// arrays take none), in the binary form `array_recv` reads.
struct PostgresArrayColumn<Element: PostgresEncodable>: PostgresThrowingDynamicTypeEncodable {
    var elements: [Element?]
    /// The array's type (`text[]` for `String` elements, …).
    let psqlType: PostgresDataType
    var psqlFormat: PostgresFormat { .binary }

    init(_ elements: [Element?], arrayType: PostgresDataType) {
        // An array's elements are all in binary; every type bound here (text, numbers, bool, bytea) encodes so.
        precondition(Element.psqlFormat == .binary, "array elements must encode in binary")
        self.elements = elements
        psqlType = arrayType
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) throws {
        buffer.writeInteger(elements.isEmpty ? 0 : 1, as: Int32.self)  // dimensions
        buffer.writeInteger(elements.contains { $0 == nil } ? 1 : 0, as: Int32.self)  // has NULLs
        buffer.writeInteger(Element.psqlType.rawValue)
        guard !elements.isEmpty else { return }
        buffer.writeInteger(Int32(elements.count))
        buffer.writeInteger(1, as: Int32.self)  // lower bound
        for element in elements {
            guard let element else {
                buffer.writeInteger(-1, as: Int32.self)
                continue
            }
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(0, as: Int32.self)
            try element.encode(into: &buffer, context: context)
            buffer.setInteger(Int32(buffer.writerIndex - lengthIndex - 4), at: lengthIndex)
        }
    }
}

extension PostgresArrayColumn where Element: PostgresArrayEncodable {
    init(_ elements: [Element?]) { self.init(elements, arrayType: Element.psqlArrayType) }
}
