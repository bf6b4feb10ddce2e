import EmiliaModel
package import EmiliaStore
import Foundation
import PostgresNIO

// Rows copied in from another backend (`emilia copy`), exactly as they were stored there. Every insert skips rows
// already present, so a copy that stopped can run again.
extension PostgresEventStore {
    package func importTokens(_ tokens: [LogRecords.Token]) async throws {
        let logger = logger
        try await call { client in
            try await client.withTransaction(logger: logger) { connection in
                for token in tokens {
                    let record = token.record
                    try await connection.query(
                        """
                        INSERT INTO tokens (id, name, time_zone, status, prefix, created_at, table_style)
                        VALUES (\(record.id), \(record.name.postgresSafe), \(record.timeZone), \(record.status.rawValue), \(record.prefix),
                                \(record.createdAt.timeIntervalSince1970), \(record.tableStyle?.postgresSafe))
                        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, time_zone = EXCLUDED.time_zone, status = EXCLUDED.status,
                            prefix = EXCLUDED.prefix, table_style = EXCLUDED.table_style
                        """, logger: logger)
                    for secret in token.secrets {
                        try await connection.query(
                            """
                            INSERT INTO token_secrets (hash, token_id, created_at, expires_at)
                            VALUES (\(secret.hash), \(record.id), \(secret.createdAt), \(secret.expiresAt))
                            ON CONFLICT (hash) DO UPDATE SET expires_at = EXCLUDED.expires_at
                            """, logger: logger)
                    }
                }
            }
        }
    }

    /// Appends copied events in the given order (positions follow it), in one transaction; answers how many were
    /// new (a row whose id or dedup key is already there is skipped).
    package func importEvents(_ events: [LogRecords.Event]) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        let logger = logger
        return try await call { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.Lock.positions))", logger: logger)
                var inserted = 0
                for start in stride(from: 0, to: events.count, by: PostgresCommitWriter.rowsPerStatement) {
                    let slice = events[start..<min(start + PostgresCommitWriter.rowsPerStatement, events.count)]
                    for try await _ in try await connection.query(
                        try PostgresEventRows.insert(slice, onConflict: Self.copiedRowConflict), logger: logger)
                    { inserted += 1 }
                }
                return inserted
            }
        }
    }

    package func importRejections(_ rejections: [LogRecords.Rejection]) async throws {
        guard !rejections.isEmpty else { return }
        let logger = logger
        try await call { client in
            try await client.withTransaction(logger: logger) { connection in
                for copied in rejections {
                    let rejection = copied.rejection
                    try await connection.query(
                        """
                        INSERT INTO rejections (id, token_id, env, at, status, reason, body, request_id, count)
                        VALUES (\(copied.id), \(rejection.tokenID), \(rejection.environment?.rawValue), \(rejection.at.timeIntervalSince1970),
                                \(rejection.status), \(rejection.reason.postgresSafe), \(rejection.bodyPrefix), \(rejection.requestID?.postgresSafe),
                                \(rejection.count))
                        ON CONFLICT (id) DO NOTHING
                        """, logger: logger)
                }
                // New rejections get ids past the copied ones.
                try await connection.query(
                    "SELECT setval('rejections_id_seq', GREATEST((SELECT max(id) FROM rejections), 1))", logger: logger)
            }
        }
    }

    /// The id of the newest event in the log, and how many events it holds.
    package func logSummary() async throws -> (newestEventID: String?, count: Int, newestRejectionID: Int64?) {
        try await call { client in
            var summary: (String?, Int, Int64?) = (nil, 0, nil)
            for try await (newest, count, rejection) in try await client.query(
                """
                SELECT (SELECT id FROM events ORDER BY position DESC LIMIT 1), (SELECT count(*) FROM events),
                       (SELECT max(id) FROM rejections)
                """
            ).decode((String?, Int, Int64?).self) {
                summary = (newest, count, rejection)
            }
            return summary
        }
    }

    /// Either unique index (id, or the dedup key) makes a row already copied a no-op.
    private static let copiedRowConflict = "ON CONFLICT DO NOTHING RETURNING 1"
}
