-- The key check: a known value sealed with the secret key, so that a missing or wrong key is
-- noticed when Proxima starts (server/storage.py), by `proxima check` and by /readyz, instead of
-- as errors on every read. One row at most.
CREATE TABLE key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed BLOB NOT NULL,
    created_at TEXT NOT NULL
);
