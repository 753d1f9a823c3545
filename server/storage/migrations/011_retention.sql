-- Retention, the right of access and erasure (issue 12, item 5; docs/retention.md).

-- A legal hold on a case: while it is set, neither retention nor an erasure deletes the case. The
-- reason is sealed (it may name proceedings or people).
CREATE TABLE legal_holds (
    case_id INTEGER PRIMARY KEY REFERENCES cases(id),
    set_at TEXT NOT NULL,
    set_by TEXT NOT NULL,
    sealed BLOB NOT NULL
);

-- One row per background job and day: the process whose INSERT makes the row runs that day's
-- work; the others find it there (several processes, one run a day).
CREATE TABLE job_runs (
    job TEXT NOT NULL,
    day TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    finished_at TEXT,
    summary TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job, day)
);

-- The audit trail's anchor: after retention deleted its oldest entries, the first entry kept and
-- the hash it chains from (the deleted entry's), so that `proxima audit verify` starts there.
CREATE TABLE audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    first_id INTEGER NOT NULL,
    previous_hash TEXT NOT NULL,
    pruned_at TEXT NOT NULL
);

-- Present only inside the prune's own transaction: the one time the trigger lets entries go, and
-- only those before the anchor.
CREATE TABLE audit_prune (id INTEGER PRIMARY KEY CHECK (id = 1));

DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_prune WHERE id = 1)
  OR OLD.id >= coalesce((SELECT first_id FROM audit_anchor WHERE id = 1), 0)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
