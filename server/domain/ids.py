"""Small id types: who is in a room, and who acts in the audit log.

On the wire and in stored session logs a participant id is text: ``w:<worker id>`` for the
appointment's worker, ``g:<guest browser id>`` for a person's browser, ``t:<guest browser id>`` for
that browser's connection-test socket. Code handles ``ParticipantId`` values instead of slicing
strings; ``str()`` gives the wire form back.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal

ParticipantKind = Literal["w", "g", "t"]
_KINDS: dict[str, ParticipantKind] = {"w": "w", "g": "g", "t": "t"}
_MAX_ID = 2**63 - 1


@dataclasses.dataclass(frozen=True, order=True)
class ParticipantId:
    """A participant of a room: the worker (``w``), a person's browser (``g``), or the latter's
    connection-test socket (``t``), with the number of the worker or of the browser."""

    kind: ParticipantKind
    number: int

    def __post_init__(self) -> None:
        if self.kind not in _KINDS or not 0 < self.number <= _MAX_ID:
            raise ValueError(f"not a participant id: {self.kind}:{self.number}")

    @classmethod
    def worker(cls, worker_id: int) -> ParticipantId:
        return cls("w", worker_id)

    @classmethod
    def browser(cls, guest_browser_id: int) -> ParticipantId:
        return cls("g", guest_browser_id)

    @classmethod
    def tester(cls, guest_browser_id: int) -> ParticipantId:
        return cls("t", guest_browser_id)

    @classmethod
    def parse(cls, text: str) -> ParticipantId:
        """The id written ``kind:number``; ``ValueError`` for anything else."""
        return _parse(text)

    @classmethod
    def _from_text(cls, text: str) -> ParticipantId:
        prefix, sep, number = text.partition(":")
        kind = _KINDS.get(prefix)
        if not sep or kind is None or not number.isascii() or not number.isdigit() \
                or len(number) > 19:
            raise ValueError(f"not a participant id: {text[:40]!r}")
        return cls(kind, int(number))

    @property
    def is_worker(self) -> bool:
        return self.kind == "w"

    @property
    def is_browser(self) -> bool:
        return self.kind == "g"

    def __str__(self) -> str:
        return f"{self.kind}:{self.number}"


def actor_of_worker(worker_id: int) -> str:
    """The audit log's name for a worker acting."""
    return f"worker:{worker_id}"


def actor_of_browser(guest_browser_id: int | None) -> str:
    """The audit log's name for a person's browser acting."""
    return f"guest:{guest_browser_id}"


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ParticipantId:
    """Ids come back on every relayed message: parsed once each (an id is immutable)."""
    return ParticipantId._from_text(text)
