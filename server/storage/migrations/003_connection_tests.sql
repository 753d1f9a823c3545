-- Connection test results, on the appointment (never an IP address).
CREATE TABLE connection_tests (
    id INTEGER PRIMARY KEY,
    appointment_id INTEGER NOT NULL REFERENCES appointments(id),
    guest_browser_id INTEGER NOT NULL REFERENCES guest_browsers(id),
    at TEXT NOT NULL,
    recommendation TEXT NOT NULL CHECK (recommendation IN ('video', 'audio', 'phone')),
    sealed BLOB NOT NULL
);
CREATE INDEX connection_tests_appointment ON connection_tests(appointment_id, at);
