"""What a statement gives back, typed: one row, maybe one row, all rows, the id just inserted.

``sqlite3``'s cursors return ``Any``; these say what the repository expects, so that mypy follows
a row (or its absence) into the domain value made from it.
"""

from __future__ import annotations

import sqlite3


def one(cursor: sqlite3.Cursor) -> sqlite3.Row:
    """The row a statement always gives (a count, a row just inserted or updated)."""
    row: sqlite3.Row | None = cursor.fetchone()
    if row is None:
        raise LookupError("the statement gave no row")
    return row


def maybe_one(cursor: sqlite3.Cursor) -> sqlite3.Row | None:
    """The first row, or None when there is none."""
    row: sqlite3.Row | None = cursor.fetchone()
    return row


def all_rows(cursor: sqlite3.Cursor) -> list[sqlite3.Row]:
    rows: list[sqlite3.Row] = cursor.fetchall()
    return rows


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just made."""
    if cursor.lastrowid is None:
        raise LookupError("the statement inserted no row")
    return cursor.lastrowid


# The tables whose ids leave Proxima (webhooks, exports): an id is never given twice, even after
# the row that had it was erased (migration 012 keeps each table's high-water mark).
FRESH_ID_TABLES = ("cases", "case_entries", "appointments", "group_sessions")


def fresh_id(table: str) -> str:
    """An SQL expression for an INSERT's id in ``table`` (one of FRESH_ID_TABLES): above every id
    the table has and has had. It is evaluated by the INSERT itself, under its write lock."""
    if table not in FRESH_ID_TABLES:
        raise ValueError(f"{table} keeps no high-water mark")
    return (f"(SELECT max(coalesce((SELECT max(id) FROM {table}), 0), coalesce((SELECT last"
            f" FROM id_high_water WHERE name = '{table}'), 0)) + 1)")
