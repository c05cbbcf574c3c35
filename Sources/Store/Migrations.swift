/// Numbered schema migrations, applied in order at start; `PRAGMA user_version` records the last.
enum Migrations {
    static let all: [(version: Int, sql: String)] = [
        (1, """
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            account_id TEXT REFERENCES accounts(id),
            role TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'operator')),
            token_hash BLOB NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            CHECK ((role = 'operator') = (account_id IS NULL))
        );
        CREATE TABLE xero_connections (
            account_id TEXT PRIMARY KEY REFERENCES accounts(id),
            state TEXT NOT NULL DEFAULT 'inactive'
                CHECK (state IN ('inactive', 'active', 'choosing', 'connected', 'needs_reconnect')),
            tenant_id TEXT UNIQUE,
            tenant_name TEXT,
            connected_at TEXT
        );
        -- Verified webhook bodies, committed before the 200 (R16). Expanded into
        -- webhook_events just after, in id order; inbox_cursor records how far.
        CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY,
            received_at TEXT NOT NULL,
            body BLOB NOT NULL
        );
        CREATE TABLE inbox_cursor (
            name TEXT PRIMARY KEY,
            delivery_id INTEGER NOT NULL
        );
        INSERT INTO inbox_cursor (name, delivery_id) VALUES ('expanded_through', 0);
        CREATE TABLE webhook_events (
            id INTEGER PRIMARY KEY,
            delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id),
            -- 16 bytes of SHA-256 over (tenant, category, resource, event date, type); NULL when quarantined.
            dedup_key BLOB UNIQUE,
            account_id TEXT,
            tenant_id TEXT,
            category TEXT,
            type TEXT,
            resource_id TEXT,
            event_date_utc TEXT,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'applied', 'failed', 'ignored', 'unrouted', 'quarantined')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            received_at TEXT NOT NULL
        );
        CREATE INDEX webhook_events_pending ON webhook_events (account_id, id) WHERE state = 'pending';
        """),
        // 3: connecting to Xero (R1–R4). Self-contained: touches no table another migration makes.
        (3, """
        -- Browser sessions of /admin: only the SHA-256 of the cookie value is kept.
        CREATE TABLE admin_sessions (
            token_hash BLOB PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            expires_at INTEGER NOT NULL,   -- ms since the epoch
            created_at TEXT NOT NULL
        );
        -- OAuth `state`s handed out by /oauth/xero/connect: single use, bound to a session.
        CREATE TABLE oauth_states (
            state_hash BLOB PRIMARY KEY,
            session_hash BLOB NOT NULL,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            expires_at INTEGER NOT NULL    -- ms since the epoch
        );
        -- The organisations one consent offered while the connection is `choosing`.
        CREATE TABLE xero_offered_tenants (
            account_id TEXT NOT NULL REFERENCES accounts(id),
            tenant_id TEXT NOT NULL,
            tenant_name TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (account_id, tenant_id)
        );
        -- Xero tokens, AES-256-GCM sealed (nonce ‖ ciphertext ‖ tag) with the account id as
        -- associated data; never stored in the clear.
        CREATE TABLE xero_tokens (
            account_id TEXT PRIMARY KEY REFERENCES accounts(id),
            access_token BLOB NOT NULL,
            refresh_token BLOB NOT NULL,
            access_expires_at INTEGER NOT NULL, -- ms since the epoch
            updated_at TEXT NOT NULL
        );
        """),
    ]

    static func apply(to c: SQLiteConnection) throws {
        let current = try c.query("PRAGMA user_version").first?.int("user_version") ?? 0
        guard let newest = all.last?.version else { return }
        if current > newest {
            throw StoreError(code: .schemaTooNew,
                             message: "database schema version \(current) is newer than this build knows (\(newest))")
        }
        for m in all where m.version > current {
            try c.execute("BEGIN IMMEDIATE")
            do {
                try c.execute(m.sql)
                try c.execute("PRAGMA user_version = \(m.version)")
                try c.execute("COMMIT")
            } catch {
                try? c.execute("ROLLBACK")
                throw StoreError(code: .migrationFailed, message: "migration \(m.version): \(error)")
            }
        }
    }
}
