"""The webhook queue (SQLite): endpoints, and one delivery row per entry and endpoint.

Rows are written in the entry's own transaction (``enqueue``, called by
``CaseEntryRepository.add``), so no entry exists without its deliveries. They are claimed
atomically with a lease (``BEGIN IMMEDIATE``: safe with several processes), in order per case and
endpoint: a case's oldest pending entry blocks its later ones, other cases go on. Only the
endpoint's secret is personal-data-grade, and it is sealed; the payload is made when sent.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from server.base import clock
from server.base.webhook_targets import ConfiguredEndpoint
from server.domain.webhooks import Delivery, Endpoint
from server.storage.repository import Repository
from server.storage.rows import all_rows, inserted_id, maybe_one, one

NEW_ID = "'msg_' || lower(hex(randomblob(12)))"


def enqueue(conn: sqlite3.Connection, entry_id: int, case_id: int, at: str) -> None:
    """Queue a new entry for every endpoint (paused ones too: they keep a backlog)."""
    conn.execute(
        "INSERT INTO webhook_deliveries (endpoint_id, entry_id, case_id, webhook_id, status,"
        f" created_at, next_attempt_at) SELECT id, ?, ?, {NEW_ID}, 'pending', ?, ?"
        " FROM webhook_endpoints", (entry_id, case_id, at, at))


def _moment(text: str | None) -> dt.datetime | None:
    return clock.from_db_or_none(text)


class WebhookRepository(Repository):
    def _endpoint(self, r: sqlite3.Row) -> Endpoint:
        return Endpoint(id=r["id"], name=r["name"], url=r["url"], source=r["source"],
                        paused=bool(r["paused"]), created_at=clock.from_db(r["created_at"]),
                        last_success_at=_moment(r["last_success_at"]),
                        last_error=r["last_error"], last_error_at=_moment(r["last_error_at"]),
                        secret=self.sealer.open(r["secret"]))

    @staticmethod
    def _delivery(r: sqlite3.Row) -> Delivery:
        return Delivery(id=r["id"], endpoint_id=r["endpoint_id"], entry_id=r["entry_id"],
                        case_id=r["case_id"], webhook_id=r["webhook_id"], status=r["status"],
                        attempts=r["attempts"], last_error=r["last_error"],
                        created_at=clock.from_db(r["created_at"]),
                        first_failed_at=_moment(r["first_failed_at"]),
                        next_attempt_at=clock.from_db(r["next_attempt_at"]),
                        kind=r["kind"] if "kind" in r.keys() else "")  # noqa: SIM118

    async def add_endpoint(self, name: str, url: str, secret: str, source: str) -> Endpoint:
        sealed = self.sealer.seal(secret)

        def q(c: sqlite3.Connection) -> sqlite3.Row:
            cur = c.execute(
                "INSERT INTO webhook_endpoints (name, url, source, created_at, secret)"
                " VALUES (?, ?, ?, ?, ?)", (name, url, source, clock.to_db(clock.now()), sealed))
            return one(c.execute("SELECT * FROM webhook_endpoints WHERE id = ?",
                                 (inserted_id(cur),)))
        return self._endpoint(await self.db.transaction(q))

    async def endpoints(self) -> list[Endpoint]:
        rows = await self.db.run(lambda c: all_rows(c.execute(
            "SELECT * FROM webhook_endpoints ORDER BY name")))
        return [self._endpoint(r) for r in rows]

    async def endpoint(self, endpoint_id: int) -> Endpoint | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM webhook_endpoints WHERE id = ?", (endpoint_id,))))
        return self._endpoint(r) if r else None

    async def set_paused(self, endpoint_id: int, paused: bool) -> None:
        await self.db.run(lambda c: c.execute(
            "UPDATE webhook_endpoints SET paused = ? WHERE id = ?", (int(paused), endpoint_id)))

    async def remove(self, endpoint_id: int) -> None:
        """Remove an endpoint and its queue (its undelivered entries are not sent)."""
        await self.db.run(lambda c: c.execute(
            "DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,)))

    async def sync_configured(self, wanted: list[ConfiguredEndpoint]) -> None:
        """Make the endpoints named in the settings those of the table (a console endpoint of
        the same name becomes the settings' one; one no longer named is removed)."""
        sealed = [(e.name, e.url, self.sealer.seal(e.secret)) for e in wanted]
        now = clock.to_db(clock.now())

        def q(c: sqlite3.Connection) -> None:
            names = [e.name for e in wanted]
            c.execute("DELETE FROM webhook_endpoints WHERE source = 'settings' AND name NOT IN"
                      f" ({','.join('?' * len(names))})", names)
            for name, url, secret in sealed:
                c.execute(
                    "INSERT INTO webhook_endpoints (name, url, source, created_at, secret)"
                    " VALUES (?, ?, 'settings', ?, ?) ON CONFLICT (name) DO UPDATE SET"
                    " url = excluded.url, source = 'settings', secret = excluded.secret",
                    (name, url, now, secret))
        await self.db.transaction(q)

    async def claim(self, claimer: str, lease_seconds: float) -> Delivery | None:
        """Take the next due delivery for ``lease_seconds``: of an endpoint not paused, and the
        oldest pending one of its case for that endpoint."""
        now = clock.now()
        until = clock.to_db(now + dt.timedelta(seconds=lease_seconds))
        r = await self.db.transaction(lambda c: maybe_one(c.execute(
            "UPDATE webhook_deliveries SET claimed_by = :me, claimed_until = :until WHERE id = ("
            " SELECT d.id FROM webhook_deliveries d"
            " JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.paused = 0"
            " WHERE d.status = 'pending' AND d.next_attempt_at <= :now"
            " AND (d.claimed_until IS NULL OR d.claimed_until <= :now)"
            " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.status = 'pending'"
            "  AND p.endpoint_id = d.endpoint_id AND p.case_id = d.case_id"
            "  AND p.entry_id < d.entry_id)"
            " ORDER BY d.next_attempt_at, d.entry_id LIMIT 1) RETURNING *",
            {"me": claimer, "until": until, "now": clock.to_db(now)})))
        return self._delivery(r) if r else None

    async def delivered(self, delivery: Delivery) -> None:
        now = clock.to_db(clock.now())

        def q(c: sqlite3.Connection) -> None:
            c.execute("UPDATE webhook_deliveries SET status = 'delivered', delivered_at = ?,"
                      " attempts = attempts + 1, last_error = '', claimed_by = NULL,"
                      " claimed_until = NULL WHERE id = ?", (now, delivery.id))
            c.execute("UPDATE webhook_endpoints SET last_success_at = ? WHERE id = ?",
                      (now, delivery.endpoint_id))
        await self.db.transaction(q)

    async def failed_try(self, delivery: Delivery, reason: str,
                         status: str, retry_at: dt.datetime | None) -> None:
        """A try that did not deliver: ``status`` 'pending' (again at ``retry_at``), 'failed'
        (gave up) or 'stopped' (refused); the endpoint's last error is ``reason``."""
        now = clock.now()
        first = delivery.first_failed_at or now

        def q(c: sqlite3.Connection) -> None:
            c.execute("UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1,"
                      " last_error = ?, first_failed_at = ?,"
                      " next_attempt_at = COALESCE(?, next_attempt_at), claimed_by = NULL,"
                      " claimed_until = NULL WHERE id = ?",
                      (status, reason, clock.to_db(first),
                       clock.to_db(retry_at) if retry_at else None, delivery.id))
            c.execute("UPDATE webhook_endpoints SET last_error = ?, last_error_at = ?"
                      " WHERE id = ?", (reason, clock.to_db(now), delivery.endpoint_id))
        await self.db.transaction(q)

    async def drop(self, delivery: Delivery, reason: str) -> None:
        """Never send this one (its entry is gone): no try is counted."""
        await self.db.run(lambda c: c.execute(
            "UPDATE webhook_deliveries SET status = 'dropped', last_error = ?, claimed_by = NULL,"
            " claimed_until = NULL WHERE id = ?", (reason, delivery.id)))

    async def queue_state(self) -> dict[int, dict[str, Any]]:
        """Per endpoint: how many entries wait, since when, and those failed or stopped."""
        def q(c: sqlite3.Connection) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
            counts = all_rows(c.execute(
                "SELECT endpoint_id, count(*) AS backlog, min(created_at) AS oldest"
                " FROM webhook_deliveries WHERE status = 'pending' GROUP BY endpoint_id"))
            stuck = all_rows(c.execute(
                "SELECT d.*, e.kind FROM webhook_deliveries d JOIN case_entries e"
                " ON e.id = d.entry_id WHERE d.status IN ('failed', 'stopped')"
                " ORDER BY d.entry_id DESC LIMIT 200"))
            return counts, stuck
        counts, stuck = await self.db.run(q)
        state: dict[int, dict[str, Any]] = {}
        for r in counts:
            state[r["endpoint_id"]] = {"backlog": r["backlog"],
                                       "oldest_pending": clock.from_db(r["oldest"])}
        for r in stuck:
            state.setdefault(r["endpoint_id"], {}).setdefault("stuck", []).append(
                self._delivery(r))
        return state

    async def replay(self, since: dt.datetime, until: dt.datetime,
                     endpoint_id: int | None) -> int:
        """Queue again the entries written in [since, until] (for one endpoint or all): the same
        webhook ids for entries already queued, new ones for entries the endpoint never had."""
        now = clock.to_db(clock.now())

        def q(c: sqlite3.Connection) -> int:
            cur = c.execute(
                "INSERT INTO webhook_deliveries (endpoint_id, entry_id, case_id, webhook_id,"
                f" status, created_at, next_attempt_at) SELECT p.id, e.id, e.case_id, {NEW_ID},"
                " 'pending', :now, :now FROM case_entries e JOIN webhook_endpoints p"
                " WHERE e.at >= :since AND e.at <= :until AND (:ep IS NULL OR p.id = :ep)"
                " ON CONFLICT (endpoint_id, entry_id) DO UPDATE SET status = 'pending',"
                " attempts = 0, last_error = '', first_failed_at = NULL,"
                " next_attempt_at = excluded.next_attempt_at, delivered_at = NULL",
                {"now": now, "since": clock.to_db(since), "until": clock.to_db(until),
                 "ep": endpoint_id})
            return cur.rowcount
        return await self.db.transaction(q)
