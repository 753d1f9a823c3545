-- Pushing case-record entries to the organisation's software (issue 12, item 1; docs/webhooks.md).
-- An endpoint's signing secret is sealed (a BLOB, so `proxima keys rotate` re-seals it).
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('console', 'settings')),
    paused INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    last_success_at TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    last_error_at TEXT,
    secret BLOB NOT NULL
);

-- One row per entry and endpoint, written in the entry's own transaction. No personal data: the
-- payload is made from the (sealed) entry when it is sent. `webhook_id` is the Standard Webhooks
-- id, the receiver's idempotency key: the same on every try and replay. Erasing an entry (or its
-- case) deletes its rows with it (ON DELETE CASCADE): nothing left to send.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    entry_id INTEGER NOT NULL REFERENCES case_entries(id) ON DELETE CASCADE,
    case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    webhook_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'stopped',
                                           'dropped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    first_failed_at TEXT,
    next_attempt_at TEXT NOT NULL,
    delivered_at TEXT,
    claimed_by TEXT,
    claimed_until TEXT,
    UNIQUE (endpoint_id, entry_id)
);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries(status, endpoint_id, case_id, entry_id);
CREATE INDEX webhook_deliveries_entry ON webhook_deliveries(entry_id);
CREATE INDEX webhook_deliveries_case ON webhook_deliveries(case_id);
