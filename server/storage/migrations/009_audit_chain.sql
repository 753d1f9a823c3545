-- The tamper-evident audit trail (issue 12): each entry carries the hash of the one before it
-- (server/domain/audit_chain.py). The entries already kept are chained in id order here, with the
-- same function the server uses (proxima_audit_hash, registered on the connection).
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';
DROP TRIGGER audit_log_no_update;
CREATE TABLE audit_chain_009 (id INTEGER PRIMARY KEY, hash TEXT NOT NULL);
INSERT INTO audit_chain_009 (id, hash)
WITH RECURSIVE chain(id, hash) AS (
    SELECT a.id, proxima_audit_hash(NULL, a.id, a.at, a.actor, a.action, a.case_id, a.target,
                                    a.outcome)
    FROM audit_log a WHERE a.id = (SELECT min(id) FROM audit_log)
    UNION ALL
    SELECT a.id, proxima_audit_hash(chain.hash, a.id, a.at, a.actor, a.action, a.case_id,
                                    a.target, a.outcome)
    FROM chain JOIN audit_log a ON a.id = (SELECT min(id) FROM audit_log WHERE id > chain.id)
)
SELECT id, hash FROM chain;
UPDATE audit_log SET hash = (SELECT hash FROM audit_chain_009 c WHERE c.id = audit_log.id);
DROP TABLE audit_chain_009;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE INDEX audit_log_case ON audit_log(case_id);
CREATE INDEX audit_log_actor ON audit_log(actor);
CREATE INDEX audit_log_at ON audit_log(at);
