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
        (2, """
        -- SortScape's records (DESIGN §3). Every row belongs to one account; `seq` is the stable
        -- list order (oldest first) and the list cursor; `id` is the public id. Children name
        -- their parent together with the account, so a row can never point into another account.
        CREATE TABLE contacts (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            name TEXT NOT NULL,
            company_name TEXT NOT NULL DEFAULT '',
            email TEXT NOT NULL DEFAULT '',
            phone TEXT NOT NULL DEFAULT '',
            archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
            xero_contact_id TEXT,
            sync_state TEXT NOT NULL DEFAULT 'unlinked'
                CHECK (sync_state IN ('unlinked', 'linked', 'waiting_archive')),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (account_id, id),
            UNIQUE (account_id, xero_contact_id)
        );
        CREATE INDEX contacts_list ON contacts (account_id, archived);
        CREATE TABLE properties (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            contact_id TEXT NOT NULL,
            address_line1 TEXT NOT NULL DEFAULT '',
            address_line2 TEXT NOT NULL DEFAULT '',
            address_line3 TEXT NOT NULL DEFAULT '',
            address_line4 TEXT NOT NULL DEFAULT '',
            city TEXT NOT NULL DEFAULT '',
            region TEXT NOT NULL DEFAULT '',
            postal_code TEXT NOT NULL DEFAULT '',
            country TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT 'manual' CHECK (source IN ('xero_shipping', 'xero_billing', 'manual')),
            archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (account_id, id),
            FOREIGN KEY (account_id, contact_id) REFERENCES contacts (account_id, id)
        );
        CREATE INDEX properties_list ON properties (account_id, archived);
        CREATE INDEX properties_contact ON properties (account_id, contact_id);
        CREATE TABLE materials (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            name TEXT NOT NULL,
            code TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '',
            -- ten-thousandths (12.3456 is 123456)
            unit_price INTEGER NOT NULL DEFAULT 0 CHECK (unit_price >= 0),
            xero_item_id TEXT,
            archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (account_id, xero_item_id)
        );
        CREATE INDEX materials_list ON materials (account_id, archived);
        CREATE TABLE jobs (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            property_id TEXT NOT NULL,
            title TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
            archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            FOREIGN KEY (account_id, property_id) REFERENCES properties (account_id, id)
        );
        CREATE INDEX jobs_list ON jobs (account_id, archived);
        CREATE INDEX jobs_property ON jobs (account_id, property_id);
        CREATE TABLE issues (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            property_id TEXT NOT NULL,
            title TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
            archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            FOREIGN KEY (account_id, property_id) REFERENCES properties (account_id, id)
        );
        CREATE INDEX issues_list ON issues (account_id, archived);
        CREATE INDEX issues_property ON issues (account_id, property_id);
        -- Suspected duplicates (R7): a Xero contact that looks like a SortScape one.
        CREATE TABLE contact_matches (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            contact_id TEXT NOT NULL,
            xero_contact_id TEXT NOT NULL,
            xero_name TEXT NOT NULL DEFAULT '',
            xero_company_name TEXT NOT NULL DEFAULT '',
            xero_email TEXT NOT NULL DEFAULT '',
            xero_phone TEXT NOT NULL DEFAULT '',
            -- a JSON array of strings: name, email, phone
            reasons TEXT NOT NULL DEFAULT '[]',
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'linked', 'dismissed')),
            xero_contact BLOB NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (account_id, xero_contact_id, contact_id),
            FOREIGN KEY (account_id, contact_id) REFERENCES contacts (account_id, id)
        );
        CREATE INDEX contact_matches_list ON contact_matches (account_id, state);
        -- Sync runs (R17); at most one running per account.
        CREATE TABLE sync_runs (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            trigger TEXT NOT NULL CHECK (trigger IN ('initial', 'scheduled', 'manual', 'reconcile')),
            state TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'succeeded', 'failed')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            -- a JSON object of name → count
            counts TEXT NOT NULL DEFAULT '{}',
            xero_calls INTEGER NOT NULL DEFAULT 0,
            -- a JSON array of sentences
            errors TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX sync_runs_list ON sync_runs (account_id);
        CREATE UNIQUE INDEX sync_runs_running ON sync_runs (account_id) WHERE state = 'running';
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
        // 4: a one-row table `/healthz` writes to, to learn whether the store can write at all.
        (4, """
        CREATE TABLE health_probe (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            written_at TEXT NOT NULL
        );
        """),
        // 5: keeping both sides in step (R8–R11, R16, R17): event retries, watermarks, the base of
        // R9's three-way merge, the outbox of SortScape edits, conflicts, and the new run triggers.
        (5, """
        ALTER TABLE webhook_events ADD COLUMN next_attempt_at INTEGER; -- ms since the epoch; a failed event's retry
        CREATE INDEX webhook_events_retry ON webhook_events (account_id, next_attempt_at) WHERE state = 'failed';
        -- sync_runs again, for its trigger list (SQLite cannot alter a CHECK).
        CREATE TABLE sync_runs_5 (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            trigger TEXT NOT NULL CHECK (trigger IN ('initial', 'webhook', 'scheduled', 'manual', 'reconcile', 'link', 'push')),
            state TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'succeeded', 'failed')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            counts TEXT NOT NULL DEFAULT '{}',
            xero_calls INTEGER NOT NULL DEFAULT 0,
            errors TEXT NOT NULL DEFAULT '[]'
        );
        INSERT INTO sync_runs_5 SELECT seq, id, account_id, trigger, state, started_at, finished_at, counts, xero_calls, errors FROM sync_runs;
        DROP TABLE sync_runs;
        ALTER TABLE sync_runs_5 RENAME TO sync_runs;
        CREATE INDEX sync_runs_list ON sync_runs (account_id);
        CREATE UNIQUE INDEX sync_runs_running ON sync_runs (account_id) WHERE state = 'running';
        -- How far each account has read each Xero resource (`contacts`, `items`: Xero's
        -- UpdatedDateUTC in ms) and when it last reconciled everything (`reconcile`).
        CREATE TABLE sync_watermarks (
            account_id TEXT NOT NULL REFERENCES accounts(id),
            resource TEXT NOT NULL,
            value INTEGER NOT NULL,
            PRIMARY KEY (account_id, resource)
        );
        -- R9: for each linked contact, the values last agreed with Xero.
        CREATE TABLE contact_sync_base (
            account_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            name TEXT NOT NULL,
            company_name TEXT NOT NULL,
            email TEXT NOT NULL,
            phone TEXT NOT NULL,
            PRIMARY KEY (account_id, contact_id),
            FOREIGN KEY (account_id, contact_id) REFERENCES contacts (account_id, id)
        );
        INSERT INTO contact_sync_base SELECT account_id, id, name, company_name, email, phone FROM contacts
            WHERE xero_contact_id IS NOT NULL;
        -- R9: linked contacts a person changed, waiting to be pushed to Xero (one row per contact).
        CREATE TABLE contact_outbox (
            account_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            queued_at INTEGER NOT NULL,  -- ms: the first edit not yet pushed
            edited_at INTEGER NOT NULL,  -- ms: the latest
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            PRIMARY KEY (account_id, contact_id),
            FOREIGN KEY (account_id, contact_id) REFERENCES contacts (account_id, id)
        );
        -- R9: a field changed on both sides; recorded once.
        CREATE TABLE contact_conflicts (
            seq INTEGER PRIMARY KEY,
            account_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            field TEXT NOT NULL,
            sortscape TEXT NOT NULL,
            xero TEXT NOT NULL,
            kept TEXT NOT NULL CHECK (kept IN ('sortscape', 'xero')),
            at TEXT NOT NULL,
            UNIQUE (account_id, contact_id, field, sortscape, xero),
            FOREIGN KEY (account_id, contact_id) REFERENCES contacts (account_id, id)
        );
        """),
        (6, """
        -- Records carry a version (the API's ETag; a write with a stale If-Match gets 412). It
        -- starts at 1 and moves with every UPDATE of the row, whoever writes it: a statement that
        -- moves it itself (to read it back with RETURNING) is left alone, any other is moved by the
        -- trigger (recursive triggers are off, and the WHEN stops the trigger's own UPDATE anyway).
        ALTER TABLE contacts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        CREATE TRIGGER contacts_version AFTER UPDATE ON contacts FOR EACH ROW WHEN NEW.version = OLD.version
        BEGIN UPDATE contacts SET version = OLD.version + 1 WHERE seq = NEW.seq; END;
        ALTER TABLE properties ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        CREATE TRIGGER properties_version AFTER UPDATE ON properties FOR EACH ROW WHEN NEW.version = OLD.version
        BEGIN UPDATE properties SET version = OLD.version + 1 WHERE seq = NEW.seq; END;
        ALTER TABLE materials ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        CREATE TRIGGER materials_version AFTER UPDATE ON materials FOR EACH ROW WHEN NEW.version = OLD.version
        BEGIN UPDATE materials SET version = OLD.version + 1 WHERE seq = NEW.seq; END;
        ALTER TABLE jobs ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        CREATE TRIGGER jobs_version AFTER UPDATE ON jobs FOR EACH ROW WHEN NEW.version = OLD.version
        BEGIN UPDATE jobs SET version = OLD.version + 1 WHERE seq = NEW.seq; END;
        ALTER TABLE issues ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        CREATE TRIGGER issues_version AFTER UPDATE ON issues FOR EACH ROW WHEN NEW.version = OLD.version
        BEGIN UPDATE issues SET version = OLD.version + 1 WHERE seq = NEW.seq; END;
        """),
        (7, """
        -- Credentials can be withdrawn: a revoked user's token no longer authenticates (the row
        -- stays, for the list and for what refers to it); sessions are found by user, to end them
        -- all (revoke, rotate, "sign out everywhere") and to cap them per user.
        ALTER TABLE users ADD COLUMN revoked_at TEXT;
        CREATE INDEX admin_sessions_user ON admin_sessions (user_id);
        """),
        // 8: visits and their Xero invoices (R15), the account's invoice settings, and the
        // `invoice` run trigger.
        (8, """
        CREATE TABLE visits (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            contact_id TEXT NOT NULL,
            property_id TEXT,
            status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'completed')),
            completed_at TEXT,
            -- a JSON array of {kind, materialId, description, quantity, unitPrice}, amounts in ten-thousandths
            lines TEXT NOT NULL DEFAULT '[]',
            xero_invoice_id TEXT,
            xero_invoice_number TEXT,
            xero_invoice_status TEXT,
            -- attempts Xero refused: the next attempt's idempotency key names it
            invoice_attempt INTEGER NOT NULL DEFAULT 0 CHECK (invoice_attempt >= 0),
            archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            UNIQUE (account_id, xero_invoice_id),
            FOREIGN KEY (account_id, contact_id) REFERENCES contacts (account_id, id),
            FOREIGN KEY (account_id, property_id) REFERENCES properties (account_id, id)
        );
        CREATE INDEX visits_list ON visits (account_id, archived);
        CREATE INDEX visits_contact ON visits (account_id, contact_id);
        CREATE TRIGGER visits_version AFTER UPDATE ON visits FOR EACH ROW WHEN NEW.version = OLD.version
        BEGIN UPDATE visits SET version = OLD.version + 1 WHERE seq = NEW.seq; END;
        -- R15: how an account's invoices go to Xero (no row: the defaults).
        CREATE TABLE invoice_settings (
            account_id TEXT PRIMARY KEY REFERENCES accounts(id),
            invoice_status TEXT NOT NULL DEFAULT 'DRAFT' CHECK (invoice_status IN ('DRAFT', 'AUTHORISED')),
            labour_account_code TEXT
        );
        -- sync_runs again, for its trigger list (SQLite cannot alter a CHECK).
        CREATE TABLE sync_runs_8 (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            account_id TEXT NOT NULL REFERENCES accounts(id),
            trigger TEXT NOT NULL CHECK (trigger IN ('initial', 'webhook', 'scheduled', 'manual', 'reconcile', 'link', 'push', 'invoice')),
            state TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'succeeded', 'failed')),
            started_at TEXT NOT NULL,
            finished_at TEXT,
            counts TEXT NOT NULL DEFAULT '{}',
            xero_calls INTEGER NOT NULL DEFAULT 0,
            errors TEXT NOT NULL DEFAULT '[]'
        );
        INSERT INTO sync_runs_8 SELECT seq, id, account_id, trigger, state, started_at, finished_at, counts, xero_calls, errors FROM sync_runs;
        DROP TABLE sync_runs;
        ALTER TABLE sync_runs_8 RENAME TO sync_runs;
        CREATE INDEX sync_runs_list ON sync_runs (account_id);
        CREATE UNIQUE INDEX sync_runs_running ON sync_runs (account_id) WHERE state = 'running';
        """),
        // 9: each organisation's time zone as Xero names it (`Organisation.Timezone`), for the
        // screens' times; read from Xero once, after the organisation is connected.
        (9, """
        CREATE TABLE organisation_timezones (
            tenant_id TEXT PRIMARY KEY,
            timezone TEXT NOT NULL
        );
        """),
        (10, """
        -- Who carries a run out (a process: the server or the command line's `sync`) and when it
        -- last showed it is alive (ms): only a run whose heartbeat is stale is abandoned.
        ALTER TABLE sync_runs ADD COLUMN owner TEXT;
        ALTER TABLE sync_runs ADD COLUMN heartbeat_at INTEGER;
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
