"""Appointments, their invitation links and the browsers that opened them (SQLite)."""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3

from server.base import clock
from server.domain.models import Appointment, Attendee, GuestBrowser, Invitation
from server.storage.repository import Repository
from server.storage.rows import all_rows, fresh_id, inserted_id, maybe_one, one


class AppointmentRepository(Repository):
    def _appointment(self, r: sqlite3.Row) -> Appointment:
        s = self.sealer.open(r["sealed"])
        return Appointment(
            id=r["id"], public_id=r["public_id"], case_id=r["case_id"], worker_id=r["worker_id"],
            starts_at=clock.from_db(r["starts_at"]), duration_minutes=r["duration_minutes"],
            modality=r["modality"], test_minutes=r["test_minutes"], plan_b=r["plan_b"],
            sms_reminder=bool(r["sms_reminder"]), status=r["status"], sequence=r["sequence"],
            topic=s["topic"], incident_phone=s["incident_phone"], documents=s["documents"],
            attendees=[Attendee(**a) for a in s["attendees"]],
            created_at=clock.from_db(r["created_at"]), group_id=r["group_id"],
            objectives=s.get("objectives", ""), questions=s.get("questions", ""))

    async def create(self, a: Appointment) -> Appointment:
        a.public_id = secrets.token_urlsafe(12)
        sealed = self.sealer.seal(a.sealed())

        def q(c: sqlite3.Connection) -> int:
            return inserted_id(c.execute(
                "INSERT INTO appointments (id, public_id, case_id, worker_id, starts_at,"
                " duration_minutes, modality, test_minutes, plan_b, sms_reminder, status,"
                " sequence, sealed, created_at, group_id)"
                f" VALUES ({fresh_id('appointments')}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (a.public_id, a.case_id, a.worker_id, clock.to_db(a.starts_at),
                 a.duration_minutes, a.modality, a.test_minutes, a.plan_b, int(a.sms_reminder),
                 a.status, a.sequence, sealed, clock.to_db(a.created_at), a.group_id)))
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
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM appointments WHERE id = ?", (appointment_id,))))
        return self._appointment(r) if r else None

    async def by_public_id(self, public_id: str) -> Appointment | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM appointments WHERE public_id = ?", (public_id,))))
        return self._appointment(r) if r else None

    async def for_case(self, case_id: int) -> list[Appointment]:
        rows = await self.db.run(lambda c: all_rows(c.execute(
            "SELECT * FROM appointments WHERE case_id = ? ORDER BY starts_at",
            (case_id,))))
        return [self._appointment(r) for r in rows]


def _invitation(r: sqlite3.Row) -> Invitation:
    return Invitation(id=r["id"], appointment_id=r["appointment_id"],
                      issued_at=clock.from_db(r["issued_at"]),
                      expires_at=clock.from_db(r["expires_at"]),
                      revoked_at=clock.from_db_or_none(r["revoked_at"]))


def _browser(r: sqlite3.Row) -> GuestBrowser:
    return GuestBrowser(id=r["id"], invitation_id=r["invitation_id"], browser=r["browser"],
                        device=r["device"], first_seen_at=clock.from_db(r["first_seen_at"]),
                        last_seen_at=clock.from_db(r["last_seen_at"]))


class InvitationRepository(Repository):
    async def create(self, appointment_id: int, token_hash: str, expires_at: dt.datetime,
                     ) -> Invitation:
        def q(c: sqlite3.Connection) -> Invitation:
            cur = c.execute(
                "INSERT INTO invitations (appointment_id, token_hash, issued_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (appointment_id, token_hash, clock.to_db(clock.now()), clock.to_db(expires_at)))
            return _invitation(one(c.execute("SELECT * FROM invitations WHERE id = ?",
                                             (inserted_id(cur),))))
        return await self.db.run(q)

    async def by_token_hash(self, token_hash: str) -> Invitation | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM invitations WHERE token_hash = ?", (token_hash,))))
        return _invitation(r) if r else None

    async def get(self, invitation_id: int) -> Invitation | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM invitations WHERE id = ?", (invitation_id,))))
        return _invitation(r) if r else None

    async def current(self, appointment_id: int) -> Invitation | None:
        """The most recent invitation of an appointment."""
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM invitations WHERE appointment_id = ? ORDER BY id DESC LIMIT 1",
            (appointment_id,))))
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
            if at_most is not None and one(c.execute(
                    "SELECT count(*) FROM guest_browsers WHERE invitation_id = ?",
                    (invitation_id,)))[0] >= at_most:
                return None
            cur = c.execute(
                "INSERT INTO guest_browsers (invitation_id, cookie_hash, browser, device,"
                " first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
                (invitation_id, cookie_hash, browser, device, now, now))
            return _browser(one(c.execute("SELECT * FROM guest_browsers WHERE id = ?",
                                          (inserted_id(cur),))))
        return await self.db.transaction(q)

    async def browser_by_cookie(self, cookie_hash: str) -> GuestBrowser | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM guest_browsers WHERE cookie_hash = ?", (cookie_hash,))))
        return _browser(r) if r else None

    async def browser(self, browser_id: int) -> GuestBrowser | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM guest_browsers WHERE id = ?", (browser_id,))))
        return _browser(r) if r else None

    async def browser_access(self, browser_id: int) -> tuple[Invitation, bool] | None:
        """A browser's invitation and whether the browser was declined, in one query (the live
        access check asks this for every connected browser)."""
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT i.*, b.declined_at AS browser_declined_at FROM guest_browsers b"
            " JOIN invitations i ON i.id = b.invitation_id WHERE b.id = ?", (browser_id,))))
        return (_invitation(r), r["browser_declined_at"] is not None) if r else None

    async def touch_browser(self, browser_id: int) -> None:
        await self.db.run(lambda c: c.execute(
            "UPDATE guest_browsers SET last_seen_at = ? WHERE id = ?",
            (clock.to_db(clock.now()), browser_id)))

    async def browsers(self, appointment_id: int) -> list[GuestBrowser]:
        rows = await self.db.run(lambda c: all_rows(c.execute(
            "SELECT b.* FROM guest_browsers b JOIN invitations i ON i.id = b.invitation_id"
            " WHERE i.appointment_id = ? ORDER BY b.first_seen_at, b.id",
            (appointment_id,))))
        return [_browser(r) for r in rows]
