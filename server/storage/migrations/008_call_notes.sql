-- The worker's private notes typed during an interview (issue 11): one draft per appointment,
-- sealed like every note, saved as the worker types and offered in the closing form. Only the
-- appointment's own worker reads them. (The interview outline, prepared with the appointment, is
-- kept in the appointment's own sealed data: no column needed.)
CREATE TABLE call_notes (
    appointment_id INTEGER PRIMARY KEY REFERENCES appointments(id),
    worker_id INTEGER NOT NULL REFERENCES workers(id),
    updated_at TEXT NOT NULL,
    sealed BLOB NOT NULL
);
