-- Group sessions (4 to 6 people): the group, its members, each person's own appointment in it, and
-- live sessions that belong to an appointment (1:1) or to a group.

CREATE TABLE group_sessions (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    facilitator_id INTEGER NOT NULL REFERENCES workers(id),
    status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'cancelled')),
    starts_at TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    modality TEXT NOT NULL CHECK (modality IN ('video', 'audio', 'phone')),
    sealed BLOB NOT NULL,
    created_at TEXT NOT NULL
);

-- A member is a co-worker (worker_id) or a person, through their own appointment (appointment_id),
-- which carries their invitation, link, consent and test slot as for a 1:1 interview.
CREATE TABLE group_members (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES group_sessions(id),
    worker_id INTEGER REFERENCES workers(id),
    appointment_id INTEGER REFERENCES appointments(id),
    role TEXT NOT NULL CHECK (role IN ('facilitator', 'note_taker', 'technical_helper',
                                       'co_worker', 'person')),
    sealed BLOB NOT NULL,
    CHECK ((worker_id IS NULL) != (appointment_id IS NULL))
);
CREATE INDEX group_members_group ON group_members(group_id);

ALTER TABLE appointments ADD COLUMN group_id INTEGER REFERENCES group_sessions(id);

-- A live session belongs to a 1:1 appointment or to a group (rebuilt: appointment_id may be null).
CREATE TABLE interview_sessions_new (
    id INTEGER PRIMARY KEY,
    appointment_id INTEGER REFERENCES appointments(id),
    group_id INTEGER REFERENCES group_sessions(id),
    status TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    started_at TEXT NOT NULL,
    ended_at TEXT,
    admitted TEXT NOT NULL DEFAULT '',
    sealed BLOB NOT NULL,
    CHECK ((appointment_id IS NULL) != (group_id IS NULL))
);
INSERT INTO interview_sessions_new (id, appointment_id, status, started_at, ended_at, admitted,
                                    sealed)
    SELECT id, appointment_id, status, started_at, ended_at, admitted, sealed
    FROM interview_sessions;
DROP TABLE interview_sessions;
ALTER TABLE interview_sessions_new RENAME TO interview_sessions;
CREATE INDEX interview_sessions_appointment ON interview_sessions(appointment_id, status);
CREATE INDEX interview_sessions_group ON interview_sessions(group_id, status);
