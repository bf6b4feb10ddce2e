import EmiliaStore
import GRDB

/// The SQLite schema, as numbered migrations.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-ingest") { db in
            try db.execute(
                sql: """
                    CREATE TABLE tokens (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        time_zone TEXT NOT NULL,
                        status TEXT NOT NULL,
                        prefix TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        table_style TEXT
                    );
                    CREATE TABLE token_secrets (
                        hash TEXT PRIMARY KEY,
                        token_id TEXT NOT NULL REFERENCES tokens(id),
                        created_at REAL NOT NULL,
                        expires_at REAL
                    );
                    CREATE INDEX token_secrets_token ON token_secrets(token_id);
                    CREATE TABLE events (
                        id TEXT NOT NULL PRIMARY KEY,
                        token_id TEXT NOT NULL,
                        env TEXT NOT NULL,
                        received_at REAL NOT NULL,
                        event_type TEXT NOT NULL,
                        is_test INTEGER NOT NULL,
                        order_id TEXT,
                        table_number TEXT,
                        occurred_at REAL,
                        dedup_key TEXT NOT NULL,
                        request_id TEXT,
                        content_type TEXT,
                        warning_count INTEGER NOT NULL,
                        warnings TEXT NOT NULL,
                        body BLOB NOT NULL
                    );
                    CREATE UNIQUE INDEX events_dedup ON events(token_id, env, dedup_key);
                    CREATE TABLE rejections (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        token_id TEXT NOT NULL,
                        env TEXT,
                        at REAL NOT NULL,
                        status INTEGER NOT NULL,
                        reason TEXT NOT NULL,
                        body BLOB,
                        request_id TEXT
                    );
                    CREATE INDEX rejections_token ON rejections(token_id, at);
                    """)
        }
        migrator.registerMigration("v2-sessions") { db in
            try db.execute(
                sql: """
                    CREATE INDEX events_order ON events(token_id, env, order_id);
                    CREATE INDEX events_log ON events(token_id, env, id);
                    CREATE INDEX events_day ON events(token_id, env, COALESCE(occurred_at, received_at));
                    CREATE TABLE sessions (
                        token_id TEXT NOT NULL,
                        env TEXT NOT NULL,
                        order_id TEXT NOT NULL,
                        local_date TEXT,
                        table_number TEXT,
                        status TEXT NOT NULL,
                        opened_at REAL,
                        closed_at REAL,
                        state BLOB NOT NULL,
                        PRIMARY KEY (token_id, env, order_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX sessions_day ON sessions(token_id, env, local_date);
                    """)
        }
        migrator.registerMigration("v3-retention") { db in
            try db.execute(sql: "CREATE INDEX events_received ON events(received_at)")
        }
        // Fewer pages written per event. Sessions move to a rowid table: a ~1 KB state in a WITHOUT ROWID row spilled
        // into an overflow page of its own, so every event rewrote two pages for its session. Retention finds old
        // events by their time-ordered id, so `events_received` goes.
        migrator.registerMigration("v4-lean-writes") { db in
            try db.execute(
                sql: """
                    DROP INDEX events_received;
                    CREATE TABLE sessions_v4 (
                        id INTEGER PRIMARY KEY,
                        token_id TEXT NOT NULL,
                        env TEXT NOT NULL,
                        order_id TEXT NOT NULL,
                        local_date TEXT,
                        table_number TEXT,
                        status TEXT NOT NULL,
                        opened_at REAL,
                        closed_at REAL,
                        state BLOB NOT NULL
                    );
                    INSERT INTO sessions_v4 (token_id, env, order_id, local_date, table_number, status, opened_at, closed_at, state)
                        SELECT token_id, env, order_id, local_date, table_number, status, opened_at, closed_at, state FROM sessions;
                    DROP TABLE sessions;
                    ALTER TABLE sessions_v4 RENAME TO sessions;
                    CREATE UNIQUE INDEX sessions_order ON sessions(token_id, env, order_id);
                    CREATE INDEX sessions_day ON sessions(token_id, env, local_date);
                    """)
        }
        // Sessions are folded in batches after the events' commit: the cursor says how far (see SessionFolder).
        migrator.registerMigration("v5-projection-cursor") { db in
            try db.execute(
                sql: """
                    CREATE TABLE projection_cursor (last_rowid INTEGER NOT NULL);
                    INSERT INTO projection_cursor (last_rowid) SELECT COALESCE(max(rowid), 0) FROM events;
                    """)
        }
        // Events whose session could not be folded, with the reason; rejections of a flood kept as counts.
        migrator.registerMigration("v6-resilience") { db in
            try db.execute(
                sql: """
                    CREATE TABLE fold_failures (
                        event_id TEXT PRIMARY KEY,
                        token_id TEXT NOT NULL,
                        env TEXT NOT NULL,
                        order_id TEXT NOT NULL,
                        at REAL NOT NULL,
                        reason TEXT NOT NULL
                    );
                    CREATE INDEX fold_failures_token ON fold_failures(token_id, env, at);
                    ALTER TABLE rejections ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
                    """)
        }
        // Bodies that came gzip-compressed are stored decompressed, with the encoding they came in.
        migrator.registerMigration("v7-content-encoding") { db in
            try db.execute(sql: "ALTER TABLE events ADD COLUMN content_encoding TEXT")
        }
        // An `order_id` sent as a JSON number comes back as one; the events stored before say so from their bodies.
        migrator.registerMigration("v8-order-id-type") { db in
            try db.execute(
                sql: """
                    ALTER TABLE events ADD COLUMN order_id_is_number INTEGER NOT NULL DEFAULT 0;
                    UPDATE events SET order_id_is_number = 1
                    WHERE order_id IS NOT NULL AND json_valid(CAST(body AS TEXT))
                      AND json_type(CAST(body AS TEXT), '$.order_id') IN ('integer', 'real');
                    """)
        }
        return migrator
    }
}
