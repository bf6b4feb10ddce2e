import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL schema, as versioned, append-only migrations, applied under an advisory lock so that nodes
/// starting together never race: the first applies what is missing, the others wait and find it done.
enum PostgresSchema {
    /// Advisory lock keys (one 64-bit space per database; "emilia" in ASCII, then a number).
    enum Lock {
        static let migrations: Int64 = 0x656D_696C_6961_0001
        /// Held by a transaction that assigns log positions: commits that append events run one at a time, so
        /// positions follow commit order.
        static let positions: Int64 = 0x656D_696C_6961_0002
        /// Held by the node folding sessions (and by a rebuild).
        static let folder: Int64 = 0x656D_696C_6961_0003
    }

    struct Migration {
        var version: Int
        var name: String
        var statements: [String]
    }

    /// Never edit a migration that has shipped: add the next one.
    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "v1-log",
            statements: [
                """
                CREATE TABLE tokens (
                    id text PRIMARY KEY,
                    name text NOT NULL,
                    time_zone text NOT NULL,
                    status text NOT NULL,
                    prefix text NOT NULL,
                    created_at double precision NOT NULL,
                    table_style text
                )
                """,
                """
                CREATE TABLE token_secrets (
                    hash text PRIMARY KEY,
                    token_id text NOT NULL REFERENCES tokens(id),
                    created_at double precision NOT NULL,
                    expires_at double precision
                )
                """,
                "CREATE INDEX token_secrets_token ON token_secrets(token_id)",
                // Positions come from this sequence under the positions lock, so they rise in commit order (see
                // docs/decisions.md); gaps are harmless.
                "CREATE SEQUENCE events_position",
                """
                CREATE TABLE events (
                    position bigint PRIMARY KEY DEFAULT nextval('events_position'),
                    id text NOT NULL UNIQUE,
                    token_id text NOT NULL,
                    env text NOT NULL,
                    received_at double precision NOT NULL,
                    event_type text NOT NULL,
                    is_test boolean NOT NULL,
                    order_id text,
                    table_number text,
                    occurred_at double precision,
                    dedup_key text NOT NULL,
                    request_id text,
                    content_type text,
                    warning_count bigint NOT NULL,
                    warnings text NOT NULL,
                    body bytea NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX events_dedup ON events(token_id, env, dedup_key)",
                "CREATE INDEX events_log ON events(token_id, env, position)",
                "CREATE INDEX events_order ON events(token_id, env, order_id)",
                "CREATE INDEX events_day ON events(token_id, env, (COALESCE(occurred_at, received_at)))",
                "CREATE INDEX events_received ON events(received_at)",
                """
                CREATE TABLE rejections (
                    id bigserial PRIMARY KEY,
                    token_id text NOT NULL,
                    env text,
                    at double precision NOT NULL,
                    status bigint NOT NULL,
                    reason text NOT NULL,
                    body bytea,
                    request_id text,
                    count bigint NOT NULL DEFAULT 1
                )
                """,
                "CREATE INDEX rejections_token ON rejections(token_id, at)",
                """
                CREATE TABLE sessions (
                    token_id text NOT NULL,
                    env text NOT NULL,
                    order_id text NOT NULL,
                    local_date text,
                    table_number text,
                    status text NOT NULL,
                    opened_at double precision,
                    closed_at double precision,
                    state bytea NOT NULL,
                    PRIMARY KEY (token_id, env, order_id)
                )
                """,
                "CREATE INDEX sessions_day ON sessions(token_id, env, local_date)",
                "CREATE TABLE projection_cursor (last_position bigint NOT NULL)",
                "INSERT INTO projection_cursor (last_position) VALUES (0)",
                """
                CREATE TABLE fold_failures (
                    event_id text PRIMARY KEY,
                    token_id text NOT NULL,
                    env text NOT NULL,
                    order_id text NOT NULL,
                    at double precision NOT NULL,
                    reason text NOT NULL
                )
                """,
                "CREATE INDEX fold_failures_token ON fold_failures(token_id, env, at)",
            ]),
        // The live nodes, each holding its share of a token's rate limit.
        Migration(
            version: 2, name: "v2-nodes",
            statements: [
                "CREATE TABLE nodes (id text PRIMARY KEY, seen_at double precision NOT NULL)"
            ]),
        // Indexes a fresh, fast-growing table cannot be misled by: the day index no longer starts with the token, so
        // before its statistics exist the planner cannot pick it over the primary key to find one session (it did,
        // filtering thousands of rows per look-up). Retention finds old events by their time-ordered id, like
        // SQLite's, so `events_received` goes: one index less to write per event.
        Migration(
            version: 3, name: "v3-lean-indexes",
            statements: [
                "DROP INDEX sessions_day",
                "CREATE INDEX sessions_day ON sessions(local_date, token_id, env)",
                "DROP INDEX events_received",
            ]),
        // Bodies that came gzip-compressed are stored decompressed, with the encoding they came in.
        Migration(
            version: 4, name: "v4-content-encoding",
            statements: [
                "ALTER TABLE events ADD COLUMN content_encoding text"
            ]),
        // An `order_id` sent as a JSON number comes back as one; the events stored before say so from their bodies (a
        // body PostgreSQL cannot read as JSON, e.g. one with a NUL escape, counts as a string).
        Migration(
            version: 5, name: "v5-order-id-type",
            statements: [
                "ALTER TABLE events ADD COLUMN order_id_is_number boolean NOT NULL DEFAULT false",
                """
                CREATE FUNCTION pg_temp.emilia_order_id_is_number(body bytea) RETURNS boolean LANGUAGE plpgsql AS $$
                BEGIN
                    RETURN jsonb_typeof(convert_from(body, 'UTF8')::jsonb -> 'order_id') = 'number';
                EXCEPTION WHEN others THEN
                    RETURN false;
                END $$
                """,
                "UPDATE events SET order_id_is_number = true WHERE order_id IS NOT NULL AND pg_temp.emilia_order_id_is_number(body)",
            ]),
    ]

    /// Applies the missing migrations, each in its own transaction, holding the migrations lock meanwhile.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Lock.migrations))", logger: logger)
            do {
                try await applyMissing(connection, logger: logger)
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Lock.migrations))", logger: logger)
                throw error
            }
            try await connection.query("SELECT pg_advisory_unlock(\(Lock.migrations))", logger: logger)
        }
    }

    private static func applyMissing(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS emilia_migrations (
                version bigint PRIMARY KEY, name text NOT NULL, applied_at double precision NOT NULL)
            """, logger: logger)
        var applied: Set<Int> = []
        for try await version in try await connection.query("SELECT version FROM emilia_migrations", logger: logger).decode(Int.self) {
            applied.insert(version)
        }
        for migration in migrations where !applied.contains(migration.version) {
            try await connection.withTransaction(logger: logger) { connection in
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    """
                    INSERT INTO emilia_migrations (version, name, applied_at)
                    VALUES (\(migration.version), \(migration.name), \(Date().timeIntervalSince1970))
                    """, logger: logger)
            }
            logger.info("Applied PostgreSQL migration", metadata: ["migration": "\(migration.name)"])
        }
    }

    /// The names of the applied migrations, in order (for tests and `emilia diagnose`).
    static func appliedMigrations(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        var names: [String] = []
        for try await name in try await client.query("SELECT name FROM emilia_migrations ORDER BY version", logger: logger).decode(
            String.self)
        {
            names.append(name)
        }
        return names
    }
}
