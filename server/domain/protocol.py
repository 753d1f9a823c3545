"""The signalling protocol as data: every message type, parsed and dumped, with no I/O.

Specified in ``docs/protocol.md`` (a test keeps the two in step). A message is one JSON object per
WebSocket text frame with a ``type`` and the fields its type declares; anything else is refused
with a ``ProtocolError`` carrying a stable code. The wire format is in ``wire.py``, the message
types in ``messages.py``; this module parses and validates, and re-exports both.
"""

from __future__ import annotations

import re
from typing import Any

from server.base import json_input
from server.domain.group_messages import (
    AdmitAll,
    Agenda,
    BreakEnd,
    BreakOver,
    BreakStart,
    BreakStarted,
    ByPhone,
    GiveFloor,
    GroupState,
    Hand,
    LowerHand,
    Mute,
    MuteRequest,
    Reminder,
    Remove,
    Round,
    RoundCheck,
)
from server.domain.messages import (
    Admit,
    Admitted,
    Chat,
    Consent,
    Decline,
    Declined,
    End,
    Ended,
    Error,
    Fallback,
    Hello,
    Help,
    HelpAlert,
    Incident,
    Lobby,
    MediaState,
    Modality,
    PeerLeft,
    Phone,
    Ping,
    Pong,
    Ready,
    Signal,
    TestAnswer,
    TestCandidate,
    TestDone,
    TestOffer,
    TestResult,
    Waiting,
    Welcome,
)
from server.domain.wire import (
    MAX_CHAT_CHARS,
    MAX_DEPTH,
    MAX_MESSAGE_BYTES,
    MAX_SDP_CHARS,
    MESSAGES,
    VERSION,
    Message,
    ProtocolError,
    Refused,
    _schema,
    dump,
    dump_relayed,
    message,
)

__all__ = [
    "MAX_CHAT_CHARS",
    "MAX_DEPTH",
    "MAX_MESSAGE_BYTES",
    "MAX_SDP_CHARS",
    "MESSAGES",
    "VERSION",
    "Admit",
    "AdmitAll",
    "Admitted",
    "Agenda",
    "BreakEnd",
    "BreakOver",
    "BreakStart",
    "BreakStarted",
    "ByPhone",
    "Chat",
    "Consent",
    "Decline",
    "Declined",
    "End",
    "Ended",
    "Error",
    "Fallback",
    "GiveFloor",
    "GroupState",
    "Hand",
    "Hello",
    "Help",
    "HelpAlert",
    "Incident",
    "Lobby",
    "LowerHand",
    "MediaState",
    "Message",
    "Modality",
    "Mute",
    "MuteRequest",
    "PeerLeft",
    "Phone",
    "Ping",
    "Pong",
    "ProtocolError",
    "Ready",
    "Refused",
    "Reminder",
    "Remove",
    "Round",
    "RoundCheck",
    "Signal",
    "TestAnswer",
    "TestCandidate",
    "TestDone",
    "TestOffer",
    "TestResult",
    "Waiting",
    "Welcome",
    "dump",
    "dump_relayed",
    "message",
]


def parse(raw: str | bytes) -> Message:
    """One client message from a WebSocket frame's text, validated."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", "message too large")
    try:
        data = json_input.loads(raw, max_depth=MAX_DEPTH)
    except json_input.JsonInputError as exc:  # NaN, lone surrogates, deep nesting, not JSON
        raise ProtocolError("malformed", exc.message) from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("malformed", "a message is a JSON object with a type")
    cls = MESSAGES.get(data["type"])
    if cls is None or cls.direction == "server":
        raise ProtocolError("unknown_type", f"unknown message type {data['type'][:40]!r}")
    schema = _schema(cls)
    values = {}
    for key, value in data.items():
        if key == "type":
            continue
        entry = schema.get(key)
        if entry is None or key == "from":
            raise ProtocolError("bad_field", f"{cls.type} has no field {key[:40]!r}")
        attribute, check, type_name = entry
        if not check(value):
            raise ProtocolError("bad_field", f"{cls.type}.{key} must be of type {type_name}")
        values[attribute] = value
    msg = cls(**values)
    _validate(msg)
    return msg


# An ICE candidate as browsers send it (RTCIceCandidateInit): only these keys, each of its type.
CANDIDATE_KEYS: dict[str, tuple[type, ...]] = {
    "candidate": (str,), "sdpMid": (str, type(None)), "sdpMLineIndex": (int, type(None)),
    "usernameFragment": (str, type(None))}
MAX_CANDIDATE_CHARS = 1000
_CANDIDATE = re.compile(  # foundation component transport priority address port typ type ...
    r"^candidate:[A-Za-z0-9+/]{1,32} [0-9]{1,5} [A-Za-z]{3,4} [0-9]{1,10} [0-9A-Za-z.:%_-]{1,255}"
    r" [0-9]{1,5} typ [a-z]{4,5}( [ -~]*)?$")


def _candidate(init: dict[str, Any], allow_empty: bool) -> None:
    """A trickled ICE candidate: its keys, their types, and a candidate line that parses."""
    for key, value in init.items():
        kinds = CANDIDATE_KEYS.get(key)
        if kinds is None or not isinstance(value, kinds) or isinstance(value, bool):
            raise ProtocolError("bad_candidate", f"candidate.{key[:40]} is not expected")
    text = init.get("candidate")
    if not isinstance(text, str) or len(text) > MAX_CANDIDATE_CHARS:
        raise ProtocolError("bad_candidate", "a candidate has a candidate line")
    if text == "" and allow_empty:  # the end of candidates
        return
    if not _CANDIDATE.match(text):
        raise ProtocolError("bad_candidate", "the candidate line cannot be parsed")
    index = init.get("sdpMLineIndex")
    if init.get("sdpMid") is None and index is None:
        raise ProtocolError("bad_candidate", "a candidate names its sdpMid or sdpMLineIndex")
    if index is not None and not 0 <= index < 64:
        raise ProtocolError("bad_candidate", "sdpMLineIndex out of range")
    mid = init.get("sdpMid")
    if isinstance(mid, str) and len(mid) > 32:
        raise ProtocolError("bad_candidate", "sdpMid too long")


# The browser's test figures: each name, its range; numbers are finite (json_input checks).
FIGURE_RANGES = {
    "rtt_ms": (0, 600_000), "audio_up_kbps": (0, 1e6), "video_up_kbps": (0, 1e6),
    "audio_down_kbps": (0, 1e6), "video_down_kbps": (0, 1e6), "up_kbps": (0, 1e6),
    "down_kbps": (0, 1e6), "loss": (0, 1), "jitter_ms": (0, 600_000), "fps": (0, 1000),
    "width": (0, 100_000), "height": (0, 100_000),
}
PATHS = ("direct", "turn-udp", "turn-tcp", "turn-tls", "unknown")


def _figures(figures: dict[str, Any]) -> None:
    for key, value in figures.items():
        if key == "path":
            if value not in PATHS:
                raise ProtocolError("bad_field", f"figures.path is one of {', '.join(PATHS)}")
            continue
        bounds = FIGURE_RANGES.get(key)
        if bounds is None:
            raise ProtocolError("bad_field", f"figures has no {key[:40]!r}")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProtocolError("bad_field", f"figures.{key} must be a number")
        if not bounds[0] <= value <= bounds[1]:
            raise ProtocolError("bad_field", f"figures.{key} is out of range")


def _validate(msg: Message) -> None:
    if isinstance(msg, Chat):
        if not msg.text.strip() or len(msg.text) > MAX_CHAT_CHARS:
            raise ProtocolError("bad_chat", f"a chat message has 1 to {MAX_CHAT_CHARS} characters")
    elif isinstance(msg, Signal):
        if (msg.description is None) == (msg.candidate is None):
            raise ProtocolError("bad_signal", "a signal carries a description or a candidate")
        if msg.candidate is not None:
            _candidate(msg.candidate, allow_empty=True)
        if msg.description is not None:
            d = msg.description
            if set(d) != {"type", "sdp"} or d["type"] not in ("offer", "answer") \
                    or not isinstance(d["sdp"], str) or len(d["sdp"]) > MAX_SDP_CHARS:
                raise ProtocolError("bad_signal", "a description has a type and an sdp")
            if "a=fingerprint:" not in d["sdp"]:
                raise ProtocolError("insecure_sdp", "a description needs a DTLS fingerprint")
            if "a=crypto:" in d["sdp"]:
                raise ProtocolError("insecure_sdp", "SDES keys (a=crypto) are refused")
    elif isinstance(msg, Consent):
        if msg.modality not in ("video", "audio", "phone", "none"):
            raise ProtocolError("bad_field", "consent.modality is video, audio, phone or none")
        if len(msg.others) > 500 or len(msg.text_hash) > 128:
            raise ProtocolError("bad_field", "consent fields too long")
    elif isinstance(msg, TestOffer):
        if ("a=fingerprint:" not in msg.sdp or "a=crypto:" in msg.sdp
                or len(msg.sdp) > MAX_SDP_CHARS):
            raise ProtocolError("insecure_sdp",
                                "an offer needs a DTLS fingerprint and no SDES keys")
    elif isinstance(msg, TestCandidate):
        _candidate(msg.candidate, allow_empty=False)
    elif isinstance(msg, TestDone):
        _figures(msg.figures)
    elif isinstance(msg, Modality):
        if msg.mode not in ("video", "audio"):
            raise ProtocolError("bad_field", "modality.mode is video or audio")
    elif isinstance(msg, (Admit, Decline, Remove)) and not msg.participant:
        raise ProtocolError("bad_field", "participant is required")
    else:
        _validate_group(msg)
    if len(getattr(msg, "participant", "")) > 64:
        raise ProtocolError("bad_field", "participant too long")
    for name in ("reason", "kind"):
        value = getattr(msg, name, "")
        if isinstance(value, str) and len(value) > 200:
            raise ProtocolError("bad_field", f"{name} too long")


MAX_AGENDA_ITEMS = 12  # as domain/groups.py allows
BREAK_MINUTES = (1, 30)
ROUND_ACTIONS = ("start", "next", "end")


def _validate_group(msg: Message) -> None:
    """The fields of a group session's tools (group_messages.py)."""
    if isinstance(msg, Round) and msg.action not in ROUND_ACTIONS:
        raise ProtocolError("bad_field", "round.action is start, next or end")
    if isinstance(msg, Agenda) and not -1 <= msg.item < MAX_AGENDA_ITEMS:
        raise ProtocolError("bad_field", "agenda.item is -1 or an item's index")
    if isinstance(msg, BreakStart) and not BREAK_MINUTES[0] <= msg.minutes <= BREAK_MINUTES[1]:
        raise ProtocolError("bad_field", "break_start.minutes is 1 to 30")
    if isinstance(msg, ByPhone) and (bool(msg.participant) == bool(msg.appointment)
                                     or msg.appointment < 0):
        raise ProtocolError("bad_field", "by_phone names a participant or an appointment")
