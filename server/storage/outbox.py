"""The outbox of emails and SMS (SQLite): claimed atomically, so several processes may send.

The payload (which holds the link) and the other side's reply are sealed; the reason a message
was not sent is a code kept in clear.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from server.base import clock
from server.domain.outbox import OutboxMessage
from server.storage.repository import Repository
from server.storage.rows import all_rows, inserted_id, maybe_one, one


class OutboxRepository(Repository):
    def _message(self, r: sqlite3.Row) -> OutboxMessage:
        return OutboxMessage(
            id=r["id"], channel=r["channel"], kind=r["kind"], appointment_id=r["appointment_id"],
            invitation_id=r["invitation_id"], worker_id=r["worker_id"],
            recipient_hint=r["recipient_hint"], status=r["status"], attempts=r["attempts"],
            last_error=r["last_error"], created_at=clock.from_db(r["created_at"]),
            next_attempt_at=clock.from_db(r["next_attempt_at"]),
            sent_at=clock.from_db_or_none(r["sent_at"]), payload=self.sealer.open(r["payload"]),
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
            return one(c.execute("SELECT * FROM outbox WHERE id = ?", (inserted_id(cur),)))
        return self._message(await self.db.run(q))

    async def claim(self, claimer: str, lease_seconds: float) -> OutboxMessage | None:
        """Take one due message for ``lease_seconds``; safe when several processes claim at once."""
        now = clock.now()
        until = now + dt.timedelta(seconds=lease_seconds)
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ("
            " SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?"
            " AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_attempt_at LIMIT 1)"
            " RETURNING *",
            (claimer, clock.to_db(until), clock.to_db(now), clock.to_db(now)))))
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
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM outbox WHERE id = ?", (message_id,))))
        return self._message(r) if r else None

    async def listing(self, worker_id: int | None, appointment_id: int | None = None,
                      ) -> list[OutboxMessage]:
        """Messages newest first: of the cases now assigned to ``worker_id`` (all when None)."""
        sql = ("SELECT o.* FROM outbox o LEFT JOIN appointments a ON a.id = o.appointment_id"
               " LEFT JOIN cases c ON c.id = a.case_id WHERE 1 = 1")
        args: list[int] = []
        if worker_id is not None:
            sql += " AND c.worker_id = ?"
            args.append(worker_id)
        if appointment_id is not None:
            sql += " AND o.appointment_id = ?"
            args.append(appointment_id)
        rows = await self.db.run(lambda c: all_rows(c.execute(
            sql + " ORDER BY o.id DESC LIMIT 200", args)))
        return [self._message(r) for r in rows]
