"""Storage behind repositories: the domain asks ``store.cases.get(id)``, never for SQL.

This is the SQLite implementation. Personal data goes through the ``Sealer`` on its way in and out,
so the database file holds it only encrypted. Jobs that may run in several processes claim their
work atomically (``OutboxRepository.claim``).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import secrets
import sqlite3
from typing import Any

from server.base import clock
from server.base.crypto import Sealer
from server.domain.models import (
    Appointment,
    Attendee,
    Case,
    CaseEntry,
    GuestBrowser,
    Invitation,
    OutboxMessage,
    Worker,
)
from server.storage.db import Database


class _Repo:
    def __init__(self, db: Database, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer


def _worker(r: sqlite3.Row) -> Worker:
    return Worker(id=r["id"], email=r["email"], display_name=r["display_name"], phone=r["phone"],
                  role=r["role"], must_change_password=bool(r["must_change_password"]),
                  disabled=bool(r["disabled"]), created_at=clock.from_db(r["created_at"]),
                  language=r["language"])


class WorkerRepository(_Repo):
    async def create(self, email: str, display_name: str, phone: str, role: str,
                     password_hash: str, must_change_password: bool) -> Worker:
        def q(c: sqlite3.Connection) -> Worker:
            cur = c.execute(
                "INSERT INTO workers (email, display_name, phone, role, password_hash,"
                " must_change_password, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (email, display_name, phone, role, password_hash, int(must_change_password),
                 clock.to_db(clock.now())))
            return _worker(c.execute("SELECT * FROM workers WHERE id = ?",
                                     (cur.lastrowid,)).fetchone())
        return await self.db.run(q)

    async def get(self, worker_id: int) -> Worker | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM workers WHERE id = ?", (worker_id,)).fetchone())
        return _worker(r) if r else None

    async def by_email(self, email: str) -> tuple[Worker, str] | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM workers WHERE email = ?", (email.strip(),)).fetchone())
        return (_worker(r), r["password_hash"]) if r else None

    async def all(self) -> list[Worker]:
        rows = await self.db.run(lambda c: c.execute(
            "SELECT * FROM workers ORDER BY display_name").fetchall())
        return [_worker(r) for r in rows]

    async def count(self) -> int:
        return await self.db.run(lambda c: c.execute("SELECT count(*) FROM workers").fetchone()[0])

    async def update(self, worker_id: int, **fields: Any) -> None:
        allowed = {"display_name", "phone", "role", "disabled", "password_hash",
                   "must_change_password", "language"}
        assert set(fields) <= allowed, fields
        if not fields:
            return
        sets = ", ".join(f"{k} = ?" for k in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        await self.db.run(lambda c: c.execute(
            f"UPDATE workers SET {sets} WHERE id = ?", (*values, worker_id)))


class SessionRepository(_Repo):
    """Workers' login sessions, kept by the hash of the cookie's value."""

    async def create(self, id_hash: str, worker_id: int) -> None:
        now = clock.to_db(clock.now())
        await self.db.run(lambda c: c.execute(
            "INSERT INTO worker_sessions (id_hash, worker_id, created_at, last_seen_at)"
            " VALUES (?, ?, ?, ?)", (id_hash, worker_id, now, now)))

    async def get(self, id_hash: str) -> dict[str, Any] | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM worker_sessions WHERE id_hash = ?", (id_hash,)).fetchone())
        if r is None:
            return None
        return {"worker_id": r["worker_id"], "created_at": clock.from_db(r["created_at"]),
                "last_seen_at": clock.from_db(r["last_seen_at"])}

    async def touch(self, id_hash: str) -> None:
        await self.db.run(lambda c: c.execute(
            "UPDATE worker_sessions SET last_seen_at = ? WHERE id_hash = ?",
            (clock.to_db(clock.now()), id_hash)))

    async def delete(self, id_hash: str) -> None:
        await self.db.run(lambda c: c.execute(
            "DELETE FROM worker_sessions WHERE id_hash = ?", (id_hash,)))

    async def delete_for_worker(self, worker_id: int) -> None:
        await self.db.run(lambda c: c.execute(
            "DELETE FROM worker_sessions WHERE worker_id = ?", (worker_id,)))


class CaseRepository(_Repo):
    def _case(self, r: sqlite3.Row) -> Case:
        s = self.sealer.open(r["sealed"])
        return Case(id=r["id"], worker_id=r["worker_id"], language=r["language"],
                    modality=r["modality"], created_at=clock.from_db(r["created_at"]), **s)

    async def create(self, case: Case) -> Case:
        sealed = self.sealer.seal(case.sealed())

        def q(c: sqlite3.Connection) -> int:
            return c.execute(
                "INSERT INTO cases (worker_id, language, modality, sealed, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (case.worker_id, case.language, case.modality, sealed,
                 clock.to_db(case.created_at))).lastrowid
        case.id = await self.db.run(q)
        return case

    async def save(self, case: Case) -> None:
        sealed = self.sealer.seal(case.sealed())
        await self.db.run(lambda c: c.execute(
            "UPDATE cases SET worker_id = ?, language = ?, modality = ?, sealed = ? WHERE id = ?",
            (case.worker_id, case.language, case.modality, sealed, case.id)))

    async def get(self, case_id: int) -> Case | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone())
        return self._case(r) if r else None

    async def for_worker(self, worker_id: int | None) -> list[Case]:
        """The cases assigned to a worker (all cases when ``worker_id`` is None)."""
        if worker_id is None:
            rows = await self.db.run(lambda c: c.execute("SELECT * FROM cases").fetchall())
        else:
            rows = await self.db.run(lambda c: c.execute(
                "SELECT * FROM cases WHERE worker_id = ?", (worker_id,)).fetchall())
        return sorted((self._case(r) for r in rows), key=lambda k: k.person_name.lower())


class CaseEntryRepository(_Repo):
    async def add(self, case_id: int, kind: str, data: dict[str, Any],
                  appointment_id: int | None = None) -> None:
        sealed = self.sealer.seal(data)
        await self.db.run(lambda c: c.execute(
            "INSERT INTO case_entries (case_id, at, kind, appointment_id, sealed)"
            " VALUES (?, ?, ?, ?, ?)",
            (case_id, clock.to_db(clock.now()), kind, appointment_id, sealed)))

    async def for_case(self, case_id: int) -> list[CaseEntry]:
        rows = await self.db.run(lambda c: c.execute(
            "SELECT * FROM case_entries WHERE case_id = ? ORDER BY at, id", (case_id,)).fetchall())
        return [CaseEntry(id=r["id"], case_id=r["case_id"], at=clock.from_db(r["at"]),
                          kind=r["kind"], appointment_id=r["appointment_id"],
                          data=self.sealer.open(r["sealed"])) for r in rows]


class AppointmentRepository(_Repo):
    def _appointment(self, r: sqlite3.Row) -> Appointment:
        s = self.sealer.open(r["sealed"])
        return Appointment(
            id=r["id"], public_id=r["public_id"], case_id=r["case_id"], worker_id=r["worker_id"],
            starts_at=clock.from_db(r["starts_at"]), duration_minutes=r["duration_minutes"],
            modality=r["modality"], test_minutes=r["test_minutes"], plan_b=r["plan_b"],
            sms_reminder=bool(r["sms_reminder"]), status=r["status"], sequence=r["sequence"],
            topic=s["topic"], incident_phone=s["incident_phone"], documents=s["documents"],
            attendees=[Attendee(**a) for a in s["attendees"]],
            created_at=clock.from_db(r["created_at"]))

    async def create(self, a: Appointment) -> Appointment:
        a.public_id = secrets.token_urlsafe(12)
        sealed = self.sealer.seal(a.sealed())

        def q(c: sqlite3.Connection) -> int:
            return c.execute(
                "INSERT INTO appointments (public_id, case_id, worker_id, starts_at,"
                " duration_minutes, modality, test_minutes, plan_b, sms_reminder, status,"
                " sequence, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (a.public_id, a.case_id, a.worker_id, clock.to_db(a.starts_at),
                 a.duration_minutes, a.modality, a.test_minutes, a.plan_b, int(a.sms_reminder),
                 a.status, a.sequence, sealed, clock.to_db(a.created_at))).lastrowid
        a.id = await self.db.run(q)
        return a

    async def save(self, a: Appointment) -> None:
        sealed = self.sealer.seal(a.sealed())
        await self.db.run(lambda c: c.execute(
            "UPDATE appointments SET starts_at = ?, duration_minutes = ?, modality = ?,"
            " test_minutes = ?, plan_b = ?, sms_reminder = ?, status = ?, sequence = ?,"
            " sealed = ? WHERE id = ?",
            (clock.to_db(a.starts_at), a.duration_minutes, a.modality, a.test_minutes, a.plan_b,
             int(a.sms_reminder), a.status, a.sequence, sealed, a.id)))

    async def get(self, appointment_id: int) -> Appointment | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM appointments WHERE id = ?", (appointment_id,)).fetchone())
        return self._appointment(r) if r else None

    async def by_public_id(self, public_id: str) -> Appointment | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM appointments WHERE public_id = ?", (public_id,)).fetchone())
        return self._appointment(r) if r else None

    async def for_case(self, case_id: int) -> list[Appointment]:
        rows = await self.db.run(lambda c: c.execute(
            "SELECT * FROM appointments WHERE case_id = ? ORDER BY starts_at",
            (case_id,)).fetchall())
        return [self._appointment(r) for r in rows]


def _invitation(r: sqlite3.Row) -> Invitation:
    return Invitation(id=r["id"], appointment_id=r["appointment_id"],
                      issued_at=clock.from_db(r["issued_at"]),
                      expires_at=clock.from_db(r["expires_at"]),
                      revoked_at=clock.from_db(r["revoked_at"]))


def _browser(r: sqlite3.Row) -> GuestBrowser:
    return GuestBrowser(id=r["id"], invitation_id=r["invitation_id"], browser=r["browser"],
                        device=r["device"], first_seen_at=clock.from_db(r["first_seen_at"]),
                        last_seen_at=clock.from_db(r["last_seen_at"]))


class InvitationRepository(_Repo):
    async def create(self, appointment_id: int, token_hash: str, expires_at: dt.datetime,
                     ) -> Invitation:
        def q(c: sqlite3.Connection) -> Invitation:
            cur = c.execute(
                "INSERT INTO invitations (appointment_id, token_hash, issued_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (appointment_id, token_hash, clock.to_db(clock.now()), clock.to_db(expires_at)))
            return _invitation(c.execute("SELECT * FROM invitations WHERE id = ?",
                                         (cur.lastrowid,)).fetchone())
        return await self.db.run(q)

    async def by_token_hash(self, token_hash: str) -> Invitation | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM invitations WHERE token_hash = ?", (token_hash,)).fetchone())
        return _invitation(r) if r else None

    async def get(self, invitation_id: int) -> Invitation | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM invitations WHERE id = ?", (invitation_id,)).fetchone())
        return _invitation(r) if r else None

    async def current(self, appointment_id: int) -> Invitation | None:
        """The most recent invitation of an appointment."""
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM invitations WHERE appointment_id = ? ORDER BY id DESC LIMIT 1",
            (appointment_id,)).fetchone())
        return _invitation(r) if r else None

    async def revoke_all(self, appointment_id: int) -> int:
        now = clock.to_db(clock.now())
        return await self.db.run(lambda c: c.execute(
            "UPDATE invitations SET revoked_at = ? WHERE appointment_id = ?"
            " AND revoked_at IS NULL", (now, appointment_id)).rowcount)

    async def set_expiry(self, appointment_id: int, expires_at: dt.datetime) -> None:
        await self.db.run(lambda c: c.execute(
            "UPDATE invitations SET expires_at = ? WHERE appointment_id = ? AND revoked_at IS NULL",
            (clock.to_db(expires_at), appointment_id)))

    async def add_browser(self, invitation_id: int, cookie_hash: str, browser: str,
                          device: str, at_most: int | None = None) -> GuestBrowser | None:
        """Record a browser that opened the link; None when ``at_most`` browsers already did."""
        now = clock.to_db(clock.now())

        def q(c: sqlite3.Connection) -> GuestBrowser | None:
            if at_most is not None and c.execute(
                    "SELECT count(*) FROM guest_browsers WHERE invitation_id = ?",
                    (invitation_id,)).fetchone()[0] >= at_most:
                return None
            cur = c.execute(
                "INSERT INTO guest_browsers (invitation_id, cookie_hash, browser, device,"
                " first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
                (invitation_id, cookie_hash, browser, device, now, now))
            return _browser(c.execute("SELECT * FROM guest_browsers WHERE id = ?",
                                      (cur.lastrowid,)).fetchone())
        return await self.db.transaction(q)

    async def browser_by_cookie(self, cookie_hash: str) -> GuestBrowser | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM guest_browsers WHERE cookie_hash = ?", (cookie_hash,)).fetchone())
        return _browser(r) if r else None

    async def browser(self, browser_id: int) -> GuestBrowser | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM guest_browsers WHERE id = ?", (browser_id,)).fetchone())
        return _browser(r) if r else None

    async def touch_browser(self, browser_id: int) -> None:
        await self.db.run(lambda c: c.execute(
            "UPDATE guest_browsers SET last_seen_at = ? WHERE id = ?",
            (clock.to_db(clock.now()), browser_id)))

    async def browsers(self, appointment_id: int) -> list[GuestBrowser]:
        rows = await self.db.run(lambda c: c.execute(
            "SELECT b.* FROM guest_browsers b JOIN invitations i ON i.id = b.invitation_id"
            " WHERE i.appointment_id = ? ORDER BY b.first_seen_at, b.id",
            (appointment_id,)).fetchall())
        return [_browser(r) for r in rows]


class OutboxRepository(_Repo):
    def _message(self, r: sqlite3.Row) -> OutboxMessage:
        return OutboxMessage(
            id=r["id"], channel=r["channel"], kind=r["kind"], appointment_id=r["appointment_id"],
            invitation_id=r["invitation_id"], worker_id=r["worker_id"],
            recipient_hint=r["recipient_hint"], status=r["status"], attempts=r["attempts"],
            last_error=r["last_error"], created_at=clock.from_db(r["created_at"]),
            next_attempt_at=clock.from_db(r["next_attempt_at"]),
            sent_at=clock.from_db(r["sent_at"]), payload=self.sealer.open(r["payload"]),
            error_reply=self.sealer.open(r["error_reply"]) or "")

    async def add(self, channel: str, kind: str, status: str, recipient_hint: str,
                  payload: dict[str, Any], appointment_id: int | None, invitation_id: int | None,
                  worker_id: int | None, not_before: dt.datetime | None = None) -> OutboxMessage:
        sealed = self.sealer.seal(payload)
        now = clock.now()

        def q(c: sqlite3.Connection) -> sqlite3.Row:
            cur = c.execute(
                "INSERT INTO outbox (channel, kind, appointment_id, invitation_id, worker_id,"
                " recipient_hint, status, created_at, next_attempt_at, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (channel, kind, appointment_id, invitation_id, worker_id, recipient_hint, status,
                 clock.to_db(now), clock.to_db(not_before or now), sealed))
            return c.execute("SELECT * FROM outbox WHERE id = ?", (cur.lastrowid,)).fetchone()
        return self._message(await self.db.run(q))

    async def claim(self, claimer: str, lease_seconds: float) -> OutboxMessage | None:
        """Take one due message for ``lease_seconds``; safe when several processes claim at once."""
        now = clock.now()
        until = now + dt.timedelta(seconds=lease_seconds)
        r = await self.db.run(lambda c: c.execute(
            "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ("
            " SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?"
            " AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_attempt_at LIMIT 1)"
            " RETURNING *",
            (claimer, clock.to_db(until), clock.to_db(now), clock.to_db(now))).fetchone())
        return self._message(r) if r else None

    async def delivered(self, message_id: int, keep_payload: bool = False) -> None:
        """Mark sent; the payload (which holds the link) is wiped unless asked to keep it."""
        now = clock.to_db(clock.now())
        await self.db.run(lambda c: c.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
            " last_error = '', error_reply = NULL, claimed_by = NULL, claimed_until = NULL,"
            " payload = CASE WHEN ? THEN payload ELSE NULL END WHERE id = ?",
            (now, int(keep_payload), message_id)))

    async def attempt_failed(self, message_id: int, reason: str, reply: str,
                             retry_at: dt.datetime | None) -> None:
        """Record a failed attempt; retried at ``retry_at``, or marked failed (kept) when None.

        ``reason`` is a stable code kept in clear; ``reply``, the other side's own words (which may
        quote the address or the number), is sealed.
        """
        status = "pending" if retry_at is not None else "failed"
        sealed = self.sealer.seal(reply[:1000]) if reply else None
        await self.db.run(lambda c: c.execute(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?,"
            " error_reply = ?, next_attempt_at = COALESCE(?, next_attempt_at), claimed_by = NULL,"
            " claimed_until = NULL WHERE id = ?",
            (status, reason, sealed, clock.to_db(retry_at) if retry_at else None, message_id)))

    async def set_status(self, message_id: int, status: str, wipe_payload: bool) -> None:
        await self.db.run(lambda c: c.execute(
            "UPDATE outbox SET status = ?, payload = CASE WHEN ? THEN NULL ELSE payload END,"
            " error_reply = CASE WHEN ? THEN NULL ELSE error_reply END"
            " WHERE id = ?", (status, int(wipe_payload), int(wipe_payload), message_id)))

    async def drop_for_invitation(self, invitation_id: int) -> None:
        """Messages carrying a revoked link are not sent any more, and their link is wiped."""
        await self.db.run(lambda c: c.execute(
            "UPDATE outbox SET status = 'dropped', payload = NULL, error_reply = NULL"
            " WHERE invitation_id = ?"
            " AND status IN ('pending', 'manual', 'failed')", (invitation_id,)))

    async def get(self, message_id: int) -> OutboxMessage | None:
        r = await self.db.run(lambda c: c.execute(
            "SELECT * FROM outbox WHERE id = ?", (message_id,)).fetchone())
        return self._message(r) if r else None

    async def listing(self, worker_id: int | None, appointment_id: int | None = None,
                      ) -> list[OutboxMessage]:
        """Messages newest first: of the cases now assigned to ``worker_id`` (all when None)."""
        sql, args = ("SELECT o.* FROM outbox o LEFT JOIN appointments a ON a.id = o.appointment_id"
                     " LEFT JOIN cases c ON c.id = a.case_id WHERE 1 = 1", [])
        if worker_id is not None:
            sql += " AND c.worker_id = ?"
            args.append(worker_id)
        if appointment_id is not None:
            sql += " AND o.appointment_id = ?"
            args.append(appointment_id)
        rows = await self.db.run(lambda c: c.execute(
            sql + " ORDER BY o.id DESC LIMIT 200", args).fetchall())
        return [self._message(r) for r in rows]


_AUDITED: contextvars.ContextVar[bool] = contextvars.ContextVar("proxima_audited", default=False)


def start_audit_scope() -> None:
    """A request starts: no refusal of it is audited yet (see ``audit_recorded``)."""
    _AUDITED.set(False)


def audit_recorded() -> bool:
    """Whether the current request (its task) has audited a refusal already."""
    return _AUDITED.get()


class AuditLog(_Repo):
    """Append-only: who did what, when, to which case. Never the content of notes."""

    async def record(self, actor: str, action: str, outcome: str, case_id: int | None = None,
                     target: str = "") -> None:
        if outcome != "ok":
            _AUDITED.set(True)
        await self.db.run(lambda c: c.execute(
            "INSERT INTO audit_log (at, actor, action, case_id, target, outcome)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (clock.to_db(clock.now()), actor, action, case_id, target, outcome)))

    async def entries(self, case_id: int | None = None, limit: int = 500) -> list[dict[str, Any]]:
        if case_id is None:
            rows = await self.db.run(lambda c: c.execute(
                "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)).fetchall())
        else:
            rows = await self.db.run(lambda c: c.execute(
                "SELECT * FROM audit_log WHERE case_id = ? ORDER BY id DESC LIMIT ?",
                (case_id, limit)).fetchall())
        return [dict(r) for r in rows]


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
        from server.storage.interviews import InterviewRepository
        self.interviews = InterviewRepository(db, sealer)

    def atomic(self) -> contextlib.AbstractAsyncContextManager[None]:
        """One business act: what is written inside commits whole, or not at all."""
        return self.db.atomic()

