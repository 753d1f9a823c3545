-- Ids that leave Proxima (in webhooks, exports, the organisation's software) are never given
-- twice. Without AUTOINCREMENT, SQLite gives a new row the largest id plus one, so the id of the
-- newest row erased (erasure, retention) would come back for another person. Rebuilding these
-- tables with AUTOINCREMENT would cascade through their foreign keys; instead each deletion
-- raises its table's high-water mark, and an insert takes an id above both (storage/rows.py).
CREATE TABLE id_high_water (name TEXT PRIMARY KEY, last INTEGER NOT NULL);
INSERT INTO id_high_water (name, last) SELECT 'cases', coalesce(max(id), 0) FROM cases;
INSERT INTO id_high_water (name, last) SELECT 'case_entries', coalesce(max(id), 0) FROM case_entries;
INSERT INTO id_high_water (name, last) SELECT 'appointments', coalesce(max(id), 0) FROM appointments;
INSERT INTO id_high_water (name, last) SELECT 'group_sessions', coalesce(max(id), 0) FROM group_sessions;

CREATE TRIGGER cases_high_water AFTER DELETE ON cases
BEGIN UPDATE id_high_water SET last = max(last, OLD.id) WHERE name = 'cases'; END;
CREATE TRIGGER case_entries_high_water AFTER DELETE ON case_entries
BEGIN UPDATE id_high_water SET last = max(last, OLD.id) WHERE name = 'case_entries'; END;
CREATE TRIGGER appointments_high_water AFTER DELETE ON appointments
BEGIN UPDATE id_high_water SET last = max(last, OLD.id) WHERE name = 'appointments'; END;
CREATE TRIGGER group_sessions_high_water AFTER DELETE ON group_sessions
BEGIN UPDATE id_high_water SET last = max(last, OLD.id) WHERE name = 'group_sessions'; END;
