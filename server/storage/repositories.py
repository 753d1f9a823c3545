"""Storage behind repositories: the domain asks ``store.cases.get(id)``, never for SQL.

This is the SQLite implementation. Personal data goes through the ``Sealer`` on its way in and out,
so the database file holds it only encrypted. Jobs that may run in several processes claim their
work atomically (``OutboxRepository.claim``).
"""

from __future__ import annotations

import contextlib

from server.base.crypto import Sealer
from server.storage.accounts import SessionRepository, WorkerRepository
from server.storage.appointments import AppointmentRepository, InvitationRepository
from server.storage.audit import AuditLog
from server.storage.call_notes import CallNotesRepository
from server.storage.cases import CaseEntryRepository, CaseRepository
from server.storage.db import Database
from server.storage.groups import GroupRepository
from server.storage.interviews import InterviewRepository
from server.storage.outbox import OutboxRepository
from server.storage.personal_data import PersonalDataRepository
from server.storage.retention import RetentionRepository
from server.storage.webhooks import WebhookRepository


class Store:
    """All repositories over one database; ``atomic()`` makes one business act of their writes."""

    def __init__(self, db: Database, sealer: Sealer) -> None:
        self.db = db
        self.workers = WorkerRepository(db, sealer)
        self.sessions = SessionRepository(db, sealer)
        self.cases = CaseRepository(db, sealer)
        self.entries = CaseEntryRepository(db, sealer)
        self.appointments = AppointmentRepository(db, sealer)
        self.invitations = InvitationRepository(db, sealer)
        self.outbox = OutboxRepository(db, sealer)
        self.audit = AuditLog(db, sealer)
        self.interviews = InterviewRepository(db, sealer)
        self.groups = GroupRepository(db, sealer)
        self.call_notes = CallNotesRepository(db, sealer)
        self.personal_data = PersonalDataRepository(db, sealer)
        self.retention = RetentionRepository(db, sealer)
        self.webhooks = WebhookRepository(db, sealer)

    def atomic(self) -> contextlib.AbstractAsyncContextManager[None]:
        """One business act: what is written inside commits whole, or not at all."""
        return self.db.atomic()
