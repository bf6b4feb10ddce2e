import GRDB

/// The SQLite schema, as numbered migrations.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-ingest") { db in
            try db.execute(sql: """
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
            try db.execute(sql: """
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
        return migrator
    }
}
