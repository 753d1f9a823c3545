-- Live interviews: consent records, sessions (admissions survive a restart), browsers declined.

CREATE TABLE consent_records (
    id INTEGER PRIMARY KEY,
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    guest_browser_id INTEGER NOT NULL REFERENCES guest_browsers(id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('given', 'changed', 'withdrawn')),
    modality TEXT NOT NULL CHECK (modality IN ('video', 'audio', 'phone', 'none')),
    audio_fallback INTEGER NOT NULL,
    others_present INTEGER NOT NULL,
    language TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX consent_records_appointment ON consent_records(appointment_id, at);

CREATE TABLE interview_sessions (
    id INTEGER PRIMARY KEY,
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    status TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    started_at TEXT NOT NULL,
    ended_at TEXT,
    admitted TEXT NOT NULL DEFAULT '',
    sealed BLOB NOT NULL
);
CREATE INDEX interview_sessions_appointment ON interview_sessions(appointment_id, status);

ALTER TABLE guest_browsers ADD COLUMN declined_at TEXT;
