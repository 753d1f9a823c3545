"""Re-sealing every protected field under the current secret key (``proxima keys rotate``).

Every ``BLOB`` column holds sealed values (``server/base/crypto.py``); a value sealed with the
current key starts with its prefix (format byte and key id), so what is left to re-seal is found
by that prefix alone. Values are re-sealed in batches, each batch one transaction: a rotation
that stops or crashes between (or inside) batches leaves every value sealed with one key or the
other, both readable while the old key is configured, and running it again finishes the work.
Each value is written back only if it did not change meanwhile, so a server that runs during the
rotation never has its newer value overwritten.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from server.base import crypto
from server.storage.db import Database


class RotationProblem(Exception):
    """A value cannot be opened with any configured key: the rotation stops, changing nothing
    more."""


@dataclass(frozen=True)
class SealedColumn:
    """A table's column of sealed values."""

    table: str
    column: str


def sealed_columns(conn: sqlite3.Connection) -> list[SealedColumn]:
    """Every ``BLOB`` column of every table (each holds sealed values only), the key check
    last: while it is sealed with the old key, a start without the old key is refused, so the
    old key cannot be dropped before everything else is re-sealed."""
    found = []
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name = 'key_check', name")]
    for table in tables:
        for column in conn.execute(f'PRAGMA table_info("{table}")').fetchall():
            if str(column[2]).upper() == "BLOB":
                found.append(SealedColumn(table, str(column[1])))
    return found


def _stale(column: SealedColumn, prefix: bytes) -> str:
    """The rows of ``column`` holding a sealed value that is not sealed with ``prefix``'s key."""
    col = f'"{column.column}"'
    return (f'FROM "{column.table}" WHERE {col} IS NOT NULL AND substr({col}, 1, 1) IN (?, ?) '
            f'AND substr({col}, 1, {len(prefix)}) != ?')


def reseal_batch(conn: sqlite3.Connection, sealer: crypto.Sealer, limit: int) -> int:
    """Re-seal up to ``limit`` values not sealed with the current key; how many were."""
    done = 0
    for column in sealed_columns(conn):
        if done >= limit:
            break
        rows = conn.execute(f"SELECT rowid, \"{column.column}\" {_stale(column, sealer.prefix)} "
                            "LIMIT ?", (*crypto.SEALED_FORMATS, sealer.prefix, limit - done))
        for rowid, blob in rows.fetchall():
            try:
                value = sealer.open(bytes(blob))
            except crypto.SealError:
                raise RotationProblem(
                    f"a value in {column.table}.{column.column} (row {rowid}) cannot be opened "
                    "with the secret key nor with PROXIMA_OLD_SECRET_KEY: set "
                    "PROXIMA_OLD_SECRET_KEY to the key being replaced") from None
            conn.execute(f'UPDATE "{column.table}" SET "{column.column}" = ? '
                         f'WHERE rowid = ? AND "{column.column}" = ?',
                         (sealer.seal(value), rowid, blob))
            done += 1
    return done


def left_to_reseal(conn: sqlite3.Connection, prefix: bytes) -> int:
    """How many sealed values are not sealed with the key of ``prefix``."""
    return sum(conn.execute(f"SELECT count(*) {_stale(column, prefix)}",
                            (*crypto.SEALED_FORMATS, prefix)).fetchone()[0]
               for column in sealed_columns(conn))


async def rotate(db: Database, sealer: crypto.Sealer, batch: int, batches: int | None = None,
                 on_batch: Callable[[int], None] = lambda total: None) -> tuple[int, int]:
    """Re-seal in batches of ``batch`` values (at most ``batches`` of them if given), calling
    ``on_batch(total so far)`` after each; the number re-sealed and the number still left."""
    total, rounds = 0, 0
    while batches is None or rounds < batches:
        done = await db.transaction(lambda c: reseal_batch(c, sealer, batch))
        if done == 0:
            break
        total += done
        rounds += 1
        on_batch(total)
    left = await db.run(lambda c: left_to_reseal(c, sealer.prefix))
    return total, left
