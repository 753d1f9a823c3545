"""Retention in SQLite: the daily run claimed once, and what has outlived its time.

A day's run is claimed by inserting its row in ``job_runs``: the primary key (job, day) lets one
INSERT succeed, so with several processes exactly one runs the day's work. What each kind of
data's "time" is, is ``domain/retention.py``'s; legal holds keep a case and its test results.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from server.base import clock
from server.storage.repository import Repository
from server.storage.rows import all_rows

NOT_HELD = "NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.case_id = {case})"

# The last contact with the person of a case (docs/retention.md): the latest of the case's
# opening, its record's entries (a session, an appointment planned or moved, a message, a link
# opened...), its appointments' planned starts (one in the future keeps the case) and its
# sessions' starts.
LAST_CONTACT = """
SELECT c.id AS case_id, max(c.created_at,
    coalesce((SELECT max(e.at) FROM case_entries e WHERE e.case_id = c.id), ''),
    coalesce((SELECT max(a.starts_at) FROM appointments a WHERE a.case_id = c.id), ''),
    coalesce((SELECT max(s.started_at) FROM interview_sessions s JOIN appointments a
              ON a.id = s.appointment_id WHERE a.case_id = c.id), '')) AS last_contact
FROM cases c WHERE """ + NOT_HELD.format(case="c.id")

_TESTS_PAST = ("connection_tests", ("at < ? AND appointment_id IN (SELECT a.id FROM appointments"
                                    f" a WHERE {NOT_HELD.format(case='a.case_id')})"))
_TEST_ENTRIES_PAST = ("case_entries", "kind IN ('test_done', 'help_asked') AND at < ? AND "
                      + NOT_HELD.format(case="case_entries.case_id"))


class RetentionRepository(Repository):
    """The daily claim, and the rows past their retention time."""

    async def claim_day(self, job: str, day: dt.date, claimer: str) -> bool:
        """Take ``job`` for ``day``; False when a process (this one or another) took it."""
        now = clock.to_db(clock.now())
        return bool(await self.db.run(lambda c: c.execute(
            "INSERT INTO job_runs (job, day, claimed_by, claimed_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (job, day) DO NOTHING",
            (job, day.isoformat(), claimer, now)).rowcount))

    async def finish_day(self, job: str, day: dt.date, summary: str) -> None:
        now = clock.to_db(clock.now())
        await self.db.run(lambda c: c.execute(
            "UPDATE job_runs SET finished_at = ?, summary = ? WHERE job = ? AND day = ?",
            (now, summary, job, day.isoformat())))

    async def runs(self, job: str) -> list[sqlite3.Row]:
        return await self.db.run(lambda c: all_rows(c.execute(
            "SELECT * FROM job_runs WHERE job = ? ORDER BY day", (job,))))

    async def cases_past(self, cutoff: dt.datetime) -> list[int]:
        """The cases (not under a legal hold) whose last contact is before ``cutoff``."""
        rows = await self.db.run(lambda c: all_rows(c.execute(
            f"SELECT case_id FROM ({LAST_CONTACT}) WHERE last_contact < ? ORDER BY case_id",
            (clock.to_db(cutoff),))))
        return [r[0] for r in rows]

    async def last_contact(self, case_id: int) -> dt.datetime | None:
        """A case's last contact (None: the case is held, or does not exist)."""
        rows = await self.db.run(lambda c: all_rows(c.execute(
            f"SELECT last_contact FROM ({LAST_CONTACT}) WHERE case_id = ?", (case_id,))))
        return clock.from_db(rows[0][0]) if rows else None

    async def tests_past(self, cutoff: dt.datetime, delete: bool) -> tuple[int, int]:
        """Connection-test results older than ``cutoff`` (those of held cases aside): the
        results kept with the appointment and the record's entries that copy them. Deleted
        when ``delete``; how many of each, either way."""
        at = clock.to_db(cutoff)

        def q(c: sqlite3.Connection) -> tuple[int, int]:
            counts = []
            for table, where in (_TESTS_PAST, _TEST_ENTRIES_PAST):
                verb = "DELETE" if delete else "SELECT count(*)"
                cursor = c.execute(f"{verb} FROM {table} WHERE {where}", (at,))
                counts.append(cursor.rowcount if delete else cursor.fetchone()[0])
            return counts[0], counts[1]

        return await self.db.transaction(q)

    async def groups_past(self, cutoff: dt.datetime, delete: bool) -> list[int]:
        """Group sessions planned before ``cutoff`` none of whose persons' cases is left (each
        was deleted, by retention or on request): their title, agenda, members and sessions'
        logs. Deleted when ``delete``; their ids, either way."""
        where = ("starts_at < ? AND NOT EXISTS (SELECT 1 FROM appointments a"
                 " WHERE a.group_id = group_sessions.id)")

        def q(c: sqlite3.Connection) -> list[int]:
            ids = [r[0] for r in c.execute(f"SELECT id FROM group_sessions WHERE {where}"
                                           " ORDER BY id", (clock.to_db(cutoff),))]
            if delete and ids:
                marks = ", ".join("?" * len(ids))
                for table, column in (("interview_sessions", "group_id"),
                                      ("group_members", "group_id"), ("group_sessions", "id")):
                    c.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", ids)
            return ids

        return await self.db.transaction(q)

    async def expired_logins(self, idle_before: dt.datetime, started_before: dt.datetime,
                             delete: bool) -> int:
        """Workers' login sessions that no longer let anyone in (idle or too old)."""
        where = "last_seen_at < ? OR created_at < ?"
        args = (clock.to_db(idle_before), clock.to_db(started_before))
        if delete:
            return int(await self.db.run(lambda c: c.execute(
                f"DELETE FROM worker_sessions WHERE {where}", args).rowcount))
        return int(await self.db.run(lambda c: c.execute(
            f"SELECT count(*) FROM worker_sessions WHERE {where}", args).fetchone()[0]))
