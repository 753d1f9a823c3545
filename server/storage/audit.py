"""The audit log (SQLite): append-only, who did what, when, to which case."""

from __future__ import annotations

import contextvars
import sqlite3
from typing import TypedDict

from server.base import clock
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
    """Append-only: who did what, when, to which case. Never the content of notes."""

    async def record(self, actor: str, action: str, outcome: str, case_id: int | None = None,
                     target: str = "") -> None:
        if outcome != "ok":
            _AUDITED.set(True)
        await self.db.run(lambda c: c.execute(
            "INSERT INTO audit_log (at, actor, action, case_id, target, outcome)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (clock.to_db(clock.now()), actor, action, case_id, target, outcome)))

    async def entries(self, case_id: int | None = None, limit: int = 500) -> list[AuditEntry]:
        if case_id is None:
            rows = await self.db.run(lambda c: all_rows(c.execute(
                "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))))
        else:
            rows = await self.db.run(lambda c: all_rows(c.execute(
                "SELECT * FROM audit_log WHERE case_id = ? ORDER BY id DESC LIMIT ?",
                (case_id, limit))))
        return [_entry(r) for r in rows]
