"""The audit trail's hash chain: each entry carries the hash of the one before it.

An entry's hash is SHA-256 over a canonical serialisation of its fields and the previous entry's
hash (the first entry chains from ``GENESIS``). Editing, deleting or reordering an entry breaks
the chain from that entry on; rewriting the whole chain is seen against the heads written to the
log output (see docs/audit.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

GENESIS = hashlib.sha256(b"proxima audit trail v1").hexdigest()


@dataclass(frozen=True)
class ChainedEntry:
    """An audit entry as the chain covers it: every stored field, and its stored hash."""

    id: int
    at: str
    actor: str
    action: str
    case_id: int | None
    target: str
    outcome: str
    hash: str = ""


def entry_hash(previous: str | None, entry: ChainedEntry) -> str:
    """The hash of ``entry`` after the entry whose hash is ``previous`` (None: the first)."""
    canonical = json.dumps(
        [previous or GENESIS, entry.id, entry.at, entry.actor, entry.action, entry.case_id,
         entry.target, entry.outcome], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first entry at which the chain does not hold, and why, in a plain sentence."""

    entry_id: int
    reason: str


@dataclass(frozen=True)
class Anchor:
    """Where the chain starts after retention deleted its oldest entries: the first entry kept
    and the hash of the entry before it (which is gone). See docs/audit.md."""

    first_id: int
    previous_hash: str

    def describe(self) -> str:
        """The anchor as the prune's own audit entry names it (its target)."""
        return f"anchor:{self.first_id}:{self.previous_hash}"


class ChainWalk:
    """Checks entries given in id order, one by one; remembers the first break and the head.

    Without an anchor the chain starts at entry 1 from ``GENESIS``; with one, at the anchor's
    first entry, from the anchor's hash."""

    def __init__(self, anchor: Anchor | None = None) -> None:
        self.count = 0
        self.anchor = anchor
        self.head: ChainedEntry | None = None
        self.broken: ChainBreak | None = None

    def add(self, entry: ChainedEntry) -> None:
        """Check the next entry (after a break, the rest is only counted)."""
        self.count += 1
        if self.broken is None:
            self.broken = self._check(entry)
        self.head = entry

    def _check(self, entry: ChainedEntry) -> ChainBreak | None:
        first = self.anchor.first_id if self.anchor else 1
        expected = first if self.head is None else self.head.id + 1
        if entry.id != expected:
            after = f"after entry {self.head.id}" if self.head else "at the start"
            return ChainBreak(expected, f"entry {expected} is missing ({after}, the next entry "
                                        f"is {entry.id}): it was deleted or renumbered")
        start = self.anchor.previous_hash if self.anchor else None
        previous = self.head.hash if self.head else start
        if entry_hash(previous, entry) != entry.hash:
            return ChainBreak(entry.id, f"entry {entry.id} does not match its hash: it was "
                                        "changed, moved, or the entry before it was replaced")
        return None
