"""The session log: what goes to the case record when a live session ends.

Times, the timeline of modalities (video → sound only → phone), who joined and left when (with
their device; in a group, each worker's role there and who attended by phone), consents,
incidents, a group's breaks, the worker's readiness checklist, the connection test's result, and
how it ended. Never media, chat content or IP addresses.

It is kept sealed in the database and written to the case record as JSON: ``to_json`` gives the
same shape as the logs written before it was a typed value (absent optional keys are left out),
and ``from_json`` reads either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

Mode = Literal["video", "audio", "phone"]
MODES: tuple[Mode, ...] = ("video", "audio", "phone")


def _iso(at: dt.datetime) -> str:
    return at.isoformat()


def mode_of(text: str, default: Mode = "video") -> Mode:
    """A modality from text (a consent or a stored log); ``default`` for anything else."""
    for mode in MODES:
        if text == mode:
            return mode
    return default


@dataclasses.dataclass
class ModeChange:
    at: str
    mode: Mode
    by: str  # the role that changed it: "worker" or "person"
    reason: str
    until: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": self.at, "mode": self.mode, "by": self.by,
                               "reason": self.reason}
        if self.until is not None:
            out["until"] = self.until
        return out


@dataclasses.dataclass
class Stay:
    joined: str
    left: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"joined": self.joined} if self.left is None else \
            {"joined": self.joined, "left": self.left}


@dataclasses.dataclass
class ParticipantLog:
    name: str
    role: str
    stays: list[Stay] = dataclasses.field(default_factory=list)
    device: str = ""
    test: str = ""  # in a group: this person's connection test recommendation
    by_phone: bool = False  # in a group: attends by phone

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "role": self.role,
                               "stays": [s.to_json() for s in self.stays]}
        if self.device:
            out["device"] = self.device
        if self.test:
            out["test"] = self.test
        if self.by_phone:
            out["by_phone"] = True
        return out


@dataclasses.dataclass
class Incident:
    at: str
    kind: str
    by: str


@dataclasses.dataclass
class Break:
    """A group's break: when it started, for how many minutes, and when everyone came back."""

    started: str
    minutes: int
    ended: str | None = None


@dataclasses.dataclass
class Readiness:
    """The worker's checklist before starting: a quiet place, nobody can hear, a headset."""

    quiet: bool
    confidential: bool
    headset: bool
    at: str


@dataclasses.dataclass
class SessionLog:
    """One live session, as the case record will read it."""

    started_at: str
    timeline: list[ModeChange] = dataclasses.field(default_factory=list)
    participants: dict[str, ParticipantLog] = dataclasses.field(default_factory=dict)
    consents: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    incidents: list[Incident] = dataclasses.field(default_factory=list)
    breaks: list[Break] = dataclasses.field(default_factory=list)
    readiness: Readiness | None = None
    test_result: dict[str, Any] | None = None
    last_seen: str | None = None
    worker_left: str | None = None
    ended_at: str | None = None
    end_reason: str | None = None
    duration_seconds: int | None = None
    closing: dict[str, Any] | None = None

    # -- what happens during a session ---------------------------------------------------------

    @property
    def mode(self) -> Mode:
        """The modality now (video until the first change)."""
        return self.timeline[-1].mode if self.timeline else "video"

    def switch(self, mode: Mode, by: str, reason: str, at: dt.datetime) -> None:
        """The session goes on in ``mode`` from ``at``."""
        if self.timeline:
            self.timeline[-1].until = _iso(at)
        self.timeline.append(ModeChange(_iso(at), mode, by, reason))

    def joined(self, participant: str, name: str, role: str, at: dt.datetime,
               device: str = "") -> None:
        """``participant`` is in the call from ``at`` (a new stay unless one is open)."""
        entry = self.participants.setdefault(participant, ParticipantLog(name, role))
        if device:
            entry.device = device
        if not entry.stays or entry.stays[-1].left is not None:
            entry.stays.append(Stay(_iso(at)))

    def left(self, participant: str, at: dt.datetime) -> None:
        """``participant``'s open stay ends at ``at``."""
        entry = self.participants.get(participant)
        if entry and entry.stays and entry.stays[-1].left is None:
            entry.stays[-1].left = _iso(at)

    def incident(self, kind: str, by: str, at: dt.datetime) -> None:
        self.incidents.append(Incident(_iso(at), kind, by))

    def break_started(self, minutes: int, at: dt.datetime) -> None:
        """A break starts (a break already going on starts again with its new length)."""
        if self.breaks and self.breaks[-1].ended is None:
            self.breaks[-1].minutes = minutes
            return
        self.breaks.append(Break(_iso(at), minutes))

    def break_ended(self, at: dt.datetime) -> None:
        if self.breaks and self.breaks[-1].ended is None:
            self.breaks[-1].ended = _iso(at)

    def last_break_end(self) -> str | None:
        """When the last break ended (None: no break yet, or one is going on)."""
        return self.breaks[-1].ended if self.breaks else None

    def add_consents(self, records: list[dict[str, Any]]) -> None:
        """Consent records (their public form), each once."""
        known = {c.get("id") for c in self.consents}
        self.consents.extend(r for r in records if r.get("id") not in known)

    def finish(self, at: dt.datetime, reason: str, started: dt.datetime) -> None:
        """The session ended at ``at``: every open stay and the last modality end then too."""
        end = _iso(at)
        for entry in self.participants.values():
            for stay in entry.stays:
                if stay.left is None:
                    stay.left = end
        if self.timeline and self.timeline[-1].until is None:
            self.timeline[-1].until = end
        self.break_ended(at)
        self.ended_at = end
        self.end_reason = reason
        self.duration_seconds = int((at - started).total_seconds())

    # -- JSON, as stored and as the case record reads it ----------------------------------------

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "started_at": self.started_at,
            "timeline": [t.to_json() for t in self.timeline],
            "participants": {pid: p.to_json() for pid, p in self.participants.items()},
            "consents": list(self.consents),
            "incidents": [dataclasses.asdict(i) for i in self.incidents],
            "readiness": dataclasses.asdict(self.readiness) if self.readiness else None,
            "test_result": self.test_result,
        }
        if self.breaks:
            out["breaks"] = [dataclasses.asdict(b) for b in self.breaks]
        for name in ("last_seen", "worker_left", "ended_at", "end_reason", "duration_seconds",
                     "closing"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionLog:
        readiness = data.get("readiness")
        return cls(
            started_at=str(data.get("started_at", "")),
            timeline=[ModeChange(t["at"], mode_of(t["mode"]), t["by"], t["reason"],
                                 t.get("until")) for t in data.get("timeline", [])],
            participants={pid: ParticipantLog(
                p["name"], p["role"], [Stay(s["joined"], s.get("left")) for s in p["stays"]],
                p.get("device", ""), p.get("test", ""), bool(p.get("by_phone")))
                for pid, p in data.get("participants", {}).items()},
            consents=list(data.get("consents", [])),
            incidents=[Incident(i["at"], i["kind"], i["by"]) for i in data.get("incidents", [])],
            breaks=[Break(b["started"], b["minutes"], b.get("ended"))
                    for b in data.get("breaks", [])],
            readiness=Readiness(**readiness) if isinstance(readiness, dict) else None,
            test_result=data.get("test_result"),
            last_seen=data.get("last_seen"), worker_left=data.get("worker_left"),
            ended_at=data.get("ended_at"), end_reason=data.get("end_reason"),
            duration_seconds=data.get("duration_seconds"), closing=data.get("closing"))
