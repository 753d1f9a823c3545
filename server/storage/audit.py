"""The audit log (SQLite): append-only and hash-chained, who did what, when, to which case."""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import sqlite3
from typing import TypedDict

from server.base import clock
from server.domain.audit_chain import Anchor, ChainedEntry, ChainWalk, entry_hash
from server.storage.repository import Repository
from server.storage.rows import all_rows

_AUDITED: contextvars.ContextVar[bool] = contextvars.ContextVar("proxima_audited", default=False)


def start_audit_scope() -> None:
    """A request starts: no refusal of it is audited yet (see ``audit_recorded``)."""
    _AUDITED.set(False)


def audit_recorded() -> bool:
    """Whether the current request (its task) has audited a refusal already."""
    return _AUDITED.get()


class AuditEntry(TypedDict):
    """One line of the audit log, as the API gives it (``at`` in the database's UTC text)."""

    id: int
    at: str
    actor: str
    action: str
    case_id: int | None
    target: str
    outcome: str


def _entry(r: sqlite3.Row) -> AuditEntry:
    return AuditEntry(id=r["id"], at=r["at"], actor=r["actor"], action=r["action"],
                      case_id=r["case_id"], target=r["target"], outcome=r["outcome"])


class AuditLog(Repository):
    """Append-only: who did what, when, to which case. Never the content of notes.

    Each entry is chained to the one before it (``server/domain/audit_chain.py``): the last entry
    is read and the new one written in one write transaction, so entries chain in id order even
    when several coroutines or processes audit at once."""

    async def record(self, actor: str, action: str, outcome: str, case_id: int | None = None,
                     target: str = "") -> None:
        if outcome != "ok":
            _AUDITED.set(True)
        at = clock.to_db(clock.now())

        def append(c: sqlite3.Connection) -> None:
            last = c.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
            entry = ChainedEntry(last["id"] + 1 if last else 1, at, actor, action, case_id,
                                 target, outcome)
            c.execute("INSERT INTO audit_log (id, at, actor, action, case_id, target, outcome, "
                      "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      (entry.id, at, actor, action, case_id, target, outcome,
                       entry_hash(last["hash"] if last else None, entry)))

        await self.db.transaction(append)

    async def entries(self, case_id: int | None = None, limit: int = 500) -> list[AuditEntry]:
        if case_id is None:
            rows = await self.db.run(lambda c: all_rows(c.execute(
                "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))))
        else:
            rows = await self.db.run(lambda c: all_rows(c.execute(
                "SELECT * FROM audit_log WHERE case_id = ? ORDER BY id DESC LIMIT ?",
                (case_id, limit))))
        return [_entry(r) for r in rows]

    async def head(self) -> ChainedEntry | None:
        """The chain's last entry (None while the trail is empty)."""
        row = await self.db.run(lambda c: c.execute(
            "SELECT * FROM audit_log ORDER BY id DESC LIMIT 1").fetchone())
        return None if row is None else _chained(row)

    async def walk(self) -> ChainWalk:
        """Every entry checked against the chain, in id order (read in one transaction)."""

        def read(c: sqlite3.Connection) -> ChainWalk:
            walk = ChainWalk(_anchor(c))
            for row in c.execute("SELECT * FROM audit_log ORDER BY id"):
                walk.add(_chained(row))
            return walk

        return await self.db.run(read)

    async def entry(self, entry_id: int) -> ChainedEntry | None:
        """One entry, as the chain covers it."""
        row = await self.db.run(lambda c: c.execute(
            "SELECT * FROM audit_log WHERE id = ?", (entry_id,)).fetchone())
        return None if row is None else _chained(row)

    async def select(self, case_id: int | None = None, actor: str | None = None,
                     since: str | None = None, until: str | None = None) -> list[ChainedEntry]:
        """The entries about a case, by an actor, from ``since`` (included) to ``until``
        (excluded: database times), oldest first; each filter applies only when given."""
        where, args = ["1 = 1"], []
        for clause, value in (("case_id = ?", case_id), ("actor = ?", actor),
                              ("at >= ?", since), ("at < ?", until)):
            if value is not None:
                where.append(clause)
                args.append(value)
        rows = await self.db.run(lambda c: all_rows(c.execute(
            f"SELECT * FROM audit_log WHERE {' AND '.join(where)} ORDER BY id", args)))
        return [_chained(r) for r in rows]


    async def anchor(self) -> Anchor | None:
        """Where the chain starts since retention deleted its oldest entries (None: entry 1)."""
        return await self.db.run(_anchor)

    async def latest(self, action: str) -> ChainedEntry | None:
        """The most recent entry of ``action``."""
        row = await self.db.run(lambda c: c.execute(
            "SELECT * FROM audit_log WHERE action = ? ORDER BY id DESC LIMIT 1",
            (action,)).fetchone())
        return None if row is None else _chained(row)

    async def prune(self, before: str) -> tuple[Anchor, int] | None:
        """Delete the entries older than ``before`` (a database time), never the last one; the
        anchor moves to the first entry kept. Returns the new anchor and how many entries went
        (None: none was old enough). Call it inside an act that then audits the prune with the
        anchor (``Anchor.describe``): ``proxima audit verify`` checks the two agree."""

        def q(c: sqlite3.Connection) -> tuple[Anchor, int] | None:
            oldest, last = c.execute("SELECT min(id), max(id) FROM audit_log").fetchone()
            if last is None:
                return None
            kept = c.execute("SELECT min(id) FROM audit_log WHERE at >= ?", (before,)).fetchone()
            first_kept = min(last, kept[0] if kept[0] is not None else last)
            if first_kept <= oldest:
                return None
            previous = c.execute("SELECT hash FROM audit_log WHERE id < ? ORDER BY id DESC"
                                 " LIMIT 1", (first_kept,)).fetchone()[0]
            anchor = Anchor(first_kept, previous)
            # The flag row lets the trigger allow these deletes, in this transaction only.
            c.execute("INSERT INTO audit_prune (id) VALUES (1)")
            c.execute("INSERT INTO audit_anchor (id, first_id, previous_hash, pruned_at)"
                      " VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                      " first_id = excluded.first_id, previous_hash = excluded.previous_hash,"
                      " pruned_at = excluded.pruned_at",
                      (anchor.first_id, anchor.previous_hash, clock.to_db(clock.now())))
            deleted = c.execute("DELETE FROM audit_log WHERE id < ?", (first_kept,)).rowcount
            c.execute("DELETE FROM audit_prune")
            return anchor, deleted

        return await self.db.transaction(q)

    async def count_before(self, before: str) -> int:
        """How many entries ``prune(before)`` would delete (for a dry run)."""
        return int(await self.db.run(lambda c: c.execute(
            "SELECT count(*) FROM audit_log WHERE id < coalesce((SELECT min(id) FROM audit_log"
            " WHERE at >= ?), (SELECT max(id) FROM audit_log))", (before,)).fetchone()[0]))

    def pseudonym(self, text: str) -> str:
        """A keyed hash of ``text`` (HMAC-SHA-256 under a key derived from the secret key, 16
        hex digits): the same text gives the same pseudonym, which reveals nothing of it. For
        what must not be written in clear to the immutable trail (an email typed at login)."""
        digest = hmac.new(self.sealer.pseudonym_key, text.encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:16]


def _anchor(c: sqlite3.Connection) -> Anchor | None:
    row = c.execute("SELECT first_id, previous_hash FROM audit_anchor WHERE id = 1").fetchone()
    return None if row is None else Anchor(row[0], row[1])


def _chained(r: sqlite3.Row) -> ChainedEntry:
    return ChainedEntry(r["id"], r["at"], r["actor"], r["action"], r["case_id"], r["target"],
                        r["outcome"], r["hash"])
