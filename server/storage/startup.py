"""Opening Proxima's storage safely: the data directory, the database and the secret key.

Every command that touches the data (``serve``, ``check``, ``create-worker``, ...) goes through
``open_store``, which:

- makes the data directory private (0700) and its files (database, ``-wal``, ``-shm``, secret key)
  readable by Proxima only (0600), fixing an existing directory's modes too;
- proves the directory takes a write before anything else, so a read-only or full disk is one
  plain line naming the path and the cause (``StorageUnavailable``);
- makes a new secret key only while the database holds nothing sealed, and otherwise checks that
  the key opens the data (``KeyProblem``), using the key check: a known value sealed with the key,
  kept in the ``key_check`` table (an older database gets one from its own sealed data).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from pathlib import Path

from server.base import clock, crypto
from server.base.settings import Config
from server.storage.db import Database, StorageUnavailable, files
from server.storage.repositories import Store

__all__ = [
    "KeyProblem",
    "StorageUnavailable",
    "key_problem",
    "open_store",
    "prepare_data_dir",
    "unlock",
]

KEY_CHECK_VALUE = "proxima key check"
PROBE = ".proxima-write-probe"


class KeyProblem(Exception):
    """The secret key is missing or does not open the data: Proxima must not start."""


def open_store(config: Config) -> Store:
    """The repositories over the database, with a secret key that opens its data."""
    prepare_data_dir(config)
    db = Database(config.database_path)
    try:
        sealer = unlock(config, db)
    except BaseException:
        db.close()
        raise
    return Store(db, sealer)


def prepare_data_dir(config: Config) -> None:
    """Create the data directory (0700), fix its files' modes (0600), and prove it is writable."""
    path = config.data_path
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        _chmod(path, 0o700)
        for file in (*files(config.database_path), crypto.key_file(path)):
            if file.exists():
                _chmod(file, 0o600)
        _probe(path / PROBE)
    except OSError as exc:
        cause = exc.strerror or str(exc)
        raise StorageUnavailable(path, cause, "the data directory", "PROXIMA_DATA_DIR") from exc


def _chmod(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) != mode:  # a read-only disk refuses even a no-op chmod
        os.chmod(path, mode)


def _probe(path: Path) -> None:
    """Write, sync and remove a small file: fails at once on a read-only or full disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if os.write(fd, b"\0" * 4096) != 4096:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        os.fsync(fd)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)


def unlock(config: Config, db: Database, first_use: bool = True) -> crypto.Sealer:
    """The sealer for the configured key, once it is known to open the database's data.

    Without a key, a new one is made only when the database holds nothing sealed yet, and the key
    check is recorded. ``first_use=False`` (``proxima check``) makes and records nothing."""
    key_path = crypto.key_file(config.data_path)
    try:
        key = crypto.load_secret_key(config.secret_key, config.data_path)
    except OSError as exc:
        raise KeyProblem(f"the secret key file {key_path} cannot be read: "
                         f"{exc.strerror or exc}") from exc
    if key == b"":
        raise KeyProblem(f"the secret key file {key_path} is empty: restore it from your backup "
                         "(or set PROXIMA_SECRET_KEY)")
    found = db.run_sync(_sealed_sample)
    if key is None:
        if found is not None:
            raise KeyProblem(
                f"no secret key: PROXIMA_SECRET_KEY is empty and {key_path} is missing, but "
                f"{config.database_path} holds data sealed with a key; restore {key_path} from "
                "your backup (or set PROXIMA_SECRET_KEY to that key). No new key was made.")
        if not first_use:
            raise KeyProblem(f"no secret key: set PROXIMA_SECRET_KEY or let `proxima serve` "
                             f"create {key_path}")
        try:
            key = crypto.create_secret_key(config.data_path)
        except OSError as exc:
            raise StorageUnavailable(key_path, exc.strerror or str(exc),
                                     "the secret key file") from exc
    old_key = config.old_secret_key.encode("utf-8")
    sealer = crypto.Sealer(key, (old_key,) if old_key else ())
    if found is not None and not _opens(sealer, found[1]):
        if old_key:
            raise KeyProblem(
                f"neither the secret key nor PROXIMA_OLD_SECRET_KEY opens the data in "
                f"{config.database_path}: set PROXIMA_OLD_SECRET_KEY to the key being replaced "
                "(the one the data was sealed with)")
        if config.secret_key:
            raise KeyProblem(
                f"PROXIMA_SECRET_KEY does not open the data in {config.database_path} (it was "
                "sealed with another key): set PROXIMA_SECRET_KEY to the key it was made with "
                "(while rotating keys: that key in PROXIMA_OLD_SECRET_KEY)")
        raise KeyProblem(
            f"the secret key in {key_path} does not open the data in {config.database_path} (it "
            f"was sealed with another key): restore {key_path} from your backup")
    if first_use and (found is None or not found[0]):
        sealed = sealer.seal(KEY_CHECK_VALUE)
        db.run_sync(lambda c: c.execute(
            "INSERT OR IGNORE INTO key_check (id, sealed, created_at) VALUES (1, ?, ?)",
            (sealed, clock.to_db(clock.now()))))
    return sealer


async def key_problem(store: Store) -> str | None:
    """What is wrong between the running key and the database (for ``/readyz``), or None.

    Catches a database restored from another installation, or a key check that was damaged."""
    try:
        found = await store.db.run(_sealed_sample)
    except StorageUnavailable:
        return "database cannot be read"
    if found is None:
        return None
    if not _opens(store.cases.sealer, found[1]):  # every repository holds the same sealer
        return "secret key does not open the data"
    return None


def _opens(sealer: crypto.Sealer, blob: bytes) -> bool:
    try:
        sealer.open(blob)
    except crypto.SealError:
        return False
    return True


def _sealed_sample(conn: sqlite3.Connection) -> tuple[bool, bytes] | None:
    """The key check (True, value); else any sealed value (False, value); else None (empty)."""
    row = conn.execute("SELECT sealed FROM key_check WHERE id = 1").fetchone()
    if row is not None:
        return True, bytes(row[0])
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        for column in conn.execute(f'PRAGMA table_info("{table}")').fetchall():
            if str(column["type"]).upper() != "BLOB":
                continue
            name = column["name"]
            value = conn.execute(f'SELECT "{name}" FROM "{table}" WHERE substr("{name}", 1, 1) '
                                 f'IN (?, ?) LIMIT 1', crypto.SEALED_FORMATS).fetchone()
            if value is not None:
                return False, bytes(value[0])
    return None
