"""Workers' accounts and their login sessions (SQLite)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import TypedDict, Unpack

from server.base import clock
from server.domain.models import Role, Worker
from server.storage.repository import Repository
from server.storage.rows import all_rows, inserted_id, maybe_one, one


def _worker(r: sqlite3.Row) -> Worker:
    return Worker(id=r["id"], email=r["email"], display_name=r["display_name"], phone=r["phone"],
                  role=r["role"], must_change_password=bool(r["must_change_password"]),
                  disabled=bool(r["disabled"]), created_at=clock.from_db(r["created_at"]),
                  language=r["language"])


class WorkerChanges(TypedDict, total=False):
    """What ``WorkerRepository.update`` may change in an account (what is left out is kept)."""

    display_name: str
    phone: str
    role: Role
    disabled: bool
    password_hash: str
    must_change_password: bool
    language: str


class LoginSession(TypedDict):
    """A worker's login session, as kept by the hash of its cookie."""

    worker_id: int
    created_at: dt.datetime
    last_seen_at: dt.datetime


class WorkerRepository(Repository):
    async def create(self, email: str, display_name: str, phone: str, role: str,
                     password_hash: str, must_change_password: bool) -> Worker:
        def q(c: sqlite3.Connection) -> Worker:
            cur = c.execute(
                "INSERT INTO workers (email, display_name, phone, role, password_hash,"
                " must_change_password, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (email, display_name, phone, role, password_hash, int(must_change_password),
                 clock.to_db(clock.now())))
            return _worker(one(c.execute("SELECT * FROM workers WHERE id = ?",
                                         (inserted_id(cur),))))
        return await self.db.run(q)

    async def get(self, worker_id: int) -> Worker | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM workers WHERE id = ?", (worker_id,))))
        return _worker(r) if r else None

    async def by_email(self, email: str) -> tuple[Worker, str] | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM workers WHERE email = ?", (email.strip(),))))
        return (_worker(r), r["password_hash"]) if r else None

    async def all(self) -> list[Worker]:
        rows = await self.db.run(lambda c: all_rows(c.execute(
            "SELECT * FROM workers ORDER BY display_name")))
        return [_worker(r) for r in rows]

    async def count(self) -> int:
        count = await self.db.run(lambda c: one(c.execute("SELECT count(*) FROM workers"))[0])
        return int(count)

    async def update(self, worker_id: int, **changes: Unpack[WorkerChanges]) -> None:
        if not changes:
            return
        sets = ", ".join(f"{k} = ?" for k in changes)
        values = [int(v) if isinstance(v, bool) else v for v in changes.values()]
        await self.db.run(lambda c: c.execute(
            f"UPDATE workers SET {sets} WHERE id = ?", (*values, worker_id)))


class SessionRepository(Repository):
    """Workers' login sessions, kept by the hash of the cookie's value."""

    async def create(self, id_hash: str, worker_id: int) -> None:
        now = clock.to_db(clock.now())
        await self.db.run(lambda c: c.execute(
            "INSERT INTO worker_sessions (id_hash, worker_id, created_at, last_seen_at)"
            " VALUES (?, ?, ?, ?)", (id_hash, worker_id, now, now)))

    async def get(self, id_hash: str) -> LoginSession | None:
        r = await self.db.run(lambda c: maybe_one(c.execute(
            "SELECT * FROM worker_sessions WHERE id_hash = ?", (id_hash,))))
        if r is None:
            return None
        return LoginSession(worker_id=r["worker_id"], created_at=clock.from_db(r["created_at"]),
                            last_seen_at=clock.from_db(r["last_seen_at"]))

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
