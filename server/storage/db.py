"""The embedded SQLite database: one connection, used from one thread, off the event loop.

Every query runs in a single worker thread, so writes never interleave and the event loop never
blocks on disk. Migrations are numbered SQL files in ``server/storage/migrations`` applied in
order at start.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import importlib.resources
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

from server.domain.audit_chain import ChainedEntry, entry_hash

T = TypeVar("T")
_ACT: contextvars.ContextVar[object | None] = contextvars.ContextVar("proxima_act", default=None)


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in importlib.resources.files("server.storage.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class StorageUnavailable(Exception):
    """The disk refuses the database (full, read-only, failing): the machine's fault, not the
    request's. The edge answers 503 ``storage_unavailable``; the command line prints one line."""

    def __init__(self, path: Path, cause: str, what: str = "the database",
                 setting: str = "") -> None:
        named = f" ({setting})" if setting else ""
        super().__init__(f"{what} {path}{named} cannot be used: {cause}")
        self.path = path
        self.cause = cause


# SQLite's primary result codes that mean "the disk", not "the query".
_STORAGE_FAULTS = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
                             sqlite3.SQLITE_CANTOPEN})


def storage_fault(exc: BaseException) -> bool:
    """True when ``exc`` comes from the disk under the database."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in _STORAGE_FAULTS


def files(path: Path) -> tuple[Path, Path, Path]:
    """The database file and the two files SQLite keeps beside it in WAL mode."""
    return path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open (SQLite ends some by itself, e.g. on a full
    disk)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _commit(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def connect(path: Path) -> sqlite3.Connection:
    """Open the database (made 0600: SQLite gives -wal and -shm the same mode) and bring its
    schema up to date."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    # Deleted rows are overwritten with zeros, not left in free pages (erasure, retention).
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.create_function("proxima_audit_hash", 8, _audit_hash, deterministic=True)
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
                _rollback(conn)
                raise
    return conn


def _audit_hash(previous: str | None, entry_id: int, at: str, actor: str, action: str,
                case_id: int | None, target: str, outcome: str) -> str:
    """The audit chain's hash, for SQL (migration 009 chains the entries kept before it)."""
    return entry_hash(previous, ChainedEntry(entry_id, at, actor, action, case_id, target,
                                             outcome))


def _split(sql: str) -> list[str]:
    """Split a migration into statements (triggers keep their BEGIN ... END body)."""
    statements: list[str] = []
    current: list[str] = []
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
        try:
            self._conn = self._executor.submit(connect, path).result()
        except (sqlite3.Error, OSError) as exc:
            self._executor.shutdown()
            if isinstance(exc, OSError):
                raise StorageUnavailable(path, exc.strerror or str(exc)) from exc
            if storage_fault(exc):
                raise StorageUnavailable(path, str(exc)) from exc
            raise
        self._act: object | None = None  # the business act holding the transaction, if any
        self._acts = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` in the database thread.

        While a business act holds ``atomic()``, other callers wait for it to end, so nothing of
        theirs is written (or rolled back) inside that act's transaction."""
        while self._act is not None and _ACT.get() is not self._act:
            await self._idle.wait()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` in the database thread; the disk's faults become
        StorageUnavailable."""
        try:
            return fn(self._conn)
        except sqlite3.Error as exc:
            if storage_fault(exc):
                raise StorageUnavailable(self.path, str(exc)) from exc
            raise

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` inside one write transaction (or inside the current act's)."""
        if self._act is not None and _ACT.get() is self._act:
            return await self.run(fn)

        def wrapped(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                _rollback(conn)
                raise
            _commit(conn)
            return result

        return await self.run(wrapped)

    @contextlib.asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """One business act: everything written inside commits whole, or not at all.

        Acts are serialised; inside one, ``run`` and ``transaction`` join its transaction. Nested
        ``atomic()`` blocks join the outer act. Keep acts short: other writers wait for them."""
        if self._act is not None and _ACT.get() is self._act:
            yield
            return
        async with self._acts:
            act = object()
            self._act = act
            self._idle.clear()
            token = _ACT.set(act)
            try:
                await self.run(lambda c: c.execute("BEGIN IMMEDIATE"))
                try:
                    yield
                except BaseException:
                    await asyncio.shield(self.run(_rollback))
                    raise
                await self.run(_commit)
            finally:
                _ACT.reset(token)
                self._act = None
                self._idle.set()

    def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` from synchronous code: the secret-key check when the store
        opens (``startup.unlock``, for ``proxima serve`` and the CLI alike)."""
        return self._executor.submit(self._call, fn).result()

    async def writable(self) -> bool:
        """True when a write reaches the disk (used by /readyz)."""

        def probe(conn: sqlite3.Connection) -> bool:
            conn.execute("INSERT OR REPLACE INTO heartbeat (id, at) VALUES (1, datetime('now'))")
            return True

        try:
            return await self.run(probe)
        except (sqlite3.Error, StorageUnavailable):
            return False

    async def checkpoint(self) -> bool:
        """Copy the WAL into the database and empty it (after an erasure: deleted rows leave no
        copy in the WAL); False when a reader elsewhere kept part of it."""
        busy = await self.run(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
        return not busy[0]

    def close(self) -> None:
        self._executor.submit(self._conn.close).result()
        self._executor.shutdown()

