-- Proxima's first schema. Personal data lives in the `sealed` columns, encrypted by server/crypto.py.

CREATE TABLE workers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    phone TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL CHECK (role IN ('worker', 'facilitator', 'admin')),
    password_hash TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE worker_sessions (
    id_hash TEXT PRIMARY KEY,
    worker_id INTEGER NOT NULL REFERENCES workers(id),
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    worker_id INTEGER REFERENCES workers(id),
    language TEXT NOT NULL CHECK (language IN ('fr', 'en')),
    modality TEXT NOT NULL CHECK (modality IN ('video', 'audio', 'phone')),
    sealed BLOB NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE case_entries (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    appointment_id INTEGER,
    sealed BLOB NOT NULL
);
CREATE INDEX case_entries_case ON case_entries(case_id, at);

CREATE TABLE appointments (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    worker_id INTEGER NOT NULL REFERENCES workers(id),
    starts_at TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    modality TEXT NOT NULL CHECK (modality IN ('video', 'audio', 'phone')),
    test_minutes INTEGER NOT NULL,
    plan_b TEXT NOT NULL CHECK (plan_b IN ('worker_calls', 'person_calls')),
    sms_reminder INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'cancelled')),
    sequence INTEGER NOT NULL DEFAULT 0,
    sealed BLOB NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    token_hash TEXT NOT NULL UNIQUE,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE guest_browsers (
    id INTEGER PRIMARY KEY,
    invitation_id INTEGER NOT NULL REFERENCES invitations(id),
    cookie_hash TEXT NOT NULL UNIQUE,
    browser TEXT NOT NULL,
    device TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    kind TEXT NOT NULL,
    appointment_id INTEGER REFERENCES appointments(id),
    invitation_id INTEGER REFERENCES invitations(id),
    worker_id INTEGER REFERENCES workers(id),
    recipient_hint TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'manual', 'sent', 'failed', 'dropped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    claimed_by TEXT,
    claimed_until TEXT,
    sent_at TEXT,
    payload BLOB
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    case_id INTEGER,
    target TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE heartbeat (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
