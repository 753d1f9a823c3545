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
