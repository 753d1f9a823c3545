"""The embedded SQLite database: one connection, used from one thread, off the event loop.

Every query runs in a single worker thread, so writes never interleave and the event loop never
blocks on disk. Migrations are numbered SQL files in ``server/migrations`` applied in order at start.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.resources
import sqlite3
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in importlib.resources.files("server.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def connect(path: Path) -> sqlite3.Connection:
    """Open the database and bring its schema up to date."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, sql in _migrations():
        if number > version:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={number}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    return conn


def _split(sql: str) -> list[str]:
    """Split a migration into statements (triggers keep their BEGIN ... END body)."""
    statements, current = [], []
    for line in sql.splitlines():
        if line.strip().startswith("--") and not current:
            continue
        current.append(line)
        text = "\n".join(current).strip()
        if text and sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    return statements


class Database:
    """The connection and the one thread that uses it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        self._conn = self._executor.submit(connect, path).result()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` in the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self._conn)

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` inside one write transaction."""

        def wrapped(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self.run(wrapped)

    def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` from synchronous code (the CLI)."""
        return self._executor.submit(fn, self._conn).result()

    async def writable(self) -> bool:
        """True when a write reaches the disk (used by /readyz)."""

        def probe(conn: sqlite3.Connection) -> bool:
            conn.execute("INSERT OR REPLACE INTO heartbeat (id, at) VALUES (1, datetime('now'))")
            return True

        try:
            return await self.run(probe)
        except sqlite3.Error:
            return False

    def close(self) -> None:
        self._executor.submit(self._conn.close).result()
        self._executor.shutdown()


def row(r: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(r) if r is not None else None
