"""The signalling protocol as data: every message type, parsed and dumped, with no I/O.

Specified in ``docs/protocol.md`` (a test keeps the two in step). A message is one JSON object per
WebSocket text frame with a ``type`` and the fields its type declares; anything else is refused
with a ``ProtocolError`` carrying a stable code.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from typing import Any, ClassVar

from server.base import json_input

VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
MAX_CHAT_CHARS = 1000
MAX_SDP_CHARS = 60_000
MAX_DEPTH = 4  # the deepest client message: {"signal": {"description": {...}}} is 2 levels


class ProtocolError(ValueError):
    """A message that cannot be accepted: a stable ``code`` and a plain message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclasses.dataclass
class Message:
    type: ClassVar[str] = ""
    direction: ClassVar[str] = ""  # "client" (to the server), "server" (from it), or "both"

    def to_json(self) -> dict[str, Any]:
        """The wire form: ``from_`` is sent as ``from``; absent optional values are left out."""
        out: dict[str, Any] = {"type": self.type}
        for key, value in dataclasses.asdict(self).items():
            if value is not None:
                out["from" if key == "from_" else key] = value
        return out


MESSAGES: dict[str, type[Message]] = {}


def message(cls: type[Message]) -> type[Message]:
    """Register a message type."""
    MESSAGES[cls.type] = dataclasses.dataclass(cls)  # type: ignore[arg-type]
    return MESSAGES[cls.type]


# -- handshake, liveness, errors ----------------------------------------------------------------

@message
class Hello(Message):
    """Client's first message: the protocol version it speaks; ``resume`` when it reconnects
    with its peer connection still open (no new negotiation is needed)."""
    type = "hello"
    direction = "client"
    version: int = VERSION
    resume: bool = False


@message
class Welcome(Message):
    """Server's answer to hello: who you are, the ICE servers to use (``relay_only``: use only
    the TURN relay), and the state of things."""
    type = "welcome"
    direction = "server"
    version: int = VERSION
    id: str = ""
    role: str = ""
    name: str = ""
    ice_servers: list = dataclasses.field(default_factory=list)
    relay_only: bool = False
    state: str = ""
    session: dict = dataclasses.field(default_factory=dict)


@message
class Ping(Message):
    type = "ping"
    direction = "client"


@message
class Pong(Message):
    type = "pong"
    direction = "server"


@message
class Error(Message):
    """Something was refused: a stable code and a message in the reader's language."""
    type = "error"
    direction = "server"
    code: str = ""
    message: str = ""


# -- the person: consent and waiting room -------------------------------------------------------

@message
class Consent(Message):
    """The person's consent: the modality they agree to, whether others are with them.

    ``modality`` "none" withdraws consent. ``text_hash`` identifies the exact consent text shown.
    """
    type = "consent"
    direction = "client"
    modality: str = ""
    audio_fallback: bool = False
    others_present: bool = False
    others: str = ""
    text_hash: str = ""


@message
class Waiting(Message):
    """To the person: you are in the waiting room; is your worker connected?"""
    type = "waiting"
    direction = "server"
    since: str = ""
    worker_present: bool = False


@message
class Lobby(Message):
    """To the worker: everyone waiting under this appointment's invitation, and who is in."""
    type = "lobby"
    direction = "server"
    waiting: list = dataclasses.field(default_factory=list)
    admitted: list = dataclasses.field(default_factory=list)


@message
class Ready(Message):
    """The worker's readiness checklist before starting (quiet place, confidentiality, headset)."""
    type = "ready"
    direction = "client"
    quiet: bool = False
    confidential: bool = False
    headset: bool = False


@message
class Admit(Message):
    """The worker lets one waiting participant in."""
    type = "admit"
    direction = "client"
    participant: str = ""


@message
class Decline(Message):
    """The worker refuses one waiting participant; its access ends."""
    type = "decline"
    direction = "client"
    participant: str = ""


@message
class Admitted(Message):
    """You are in the call with ``peer``; ``polite`` says your role in perfect negotiation."""
    type = "admitted"
    direction = "server"
    peer: str = ""
    peer_name: str = ""
    polite: bool = False
    modality: str = "video"


@message
class Declined(Message):
    type = "declined"
    direction = "server"
    phone: str = ""


# -- the call -----------------------------------------------------------------------------------

@message
class Signal(Message):
    """Negotiation between two admitted browsers, relayed untouched: a description or a candidate.

    ``description`` is {"type": "offer"|"answer", "sdp": ...}; ``candidate`` is an
    RTCIceCandidateInit. The server adds ``from`` when relaying.
    """
    type = "signal"
    direction = "both"
    to: str = ""
    description: dict | None = None
    candidate: dict | None = None
    from_: str = ""



@message
class PeerLeft(Message):
    """The other side's signalling went away (it may come back)."""
    type = "peer_left"
    direction = "server"
    peer: str = ""


@message
class Chat(Message):
    """A text message to everyone in the call; the server adds ``from``, ``name`` and ``at``."""
    type = "chat"
    direction = "both"
    text: str = ""
    from_: str = ""
    name: str = ""
    at: str = ""


@message
class MediaState(Message):
    """Microphone and camera on or off, shown to the other side."""
    type = "media"
    direction = "both"
    audio: bool = True
    video: bool = True
    from_: str = ""



@message
class Modality(Message):
    """Switch the call to "video" or "audio" (audio only); both sides are told."""
    type = "modality"
    direction = "both"
    mode: str = ""
    reason: str = ""
    from_: str = ""



@message
class Fallback(Message):
    """Continue by phone (plan B), asked by either side or after a lost connection."""
    type = "fallback"
    direction = "client"
    reason: str = ""


@message
class Phone(Message):
    """The call continues by phone: the numbers each side needs."""
    type = "phone"
    direction = "server"
    worker_phone: str = ""
    service_phone: str = ""
    person_phone: str = ""
    person_phone_end: str = ""
    plan_b: str = ""
    reason: str = ""


@message
class Incident(Message):
    """A client reports an incident for the session log (reconnection, ICE restart, quality)."""
    type = "incident"
    direction = "client"
    kind: str = ""


@message
class End(Message):
    """The worker ends the session (``phone_finished`` when ending the phone part)."""
    type = "end"
    direction = "client"
    phone_finished: bool = False


@message
class Ended(Message):
    type = "ended"
    direction = "server"
    reason: str = ""


# -- the connection test (a server-side peer that sends the person's media back) ----------------

@message
class TestOffer(Message):
    """The person's browser offers its camera and microphone to the server's test peer."""
    type = "test_offer"
    direction = "client"
    sdp: str = ""


@message
class TestAnswer(Message):
    type = "test_answer"
    direction = "server"
    sdp: str = ""


@message
class TestCandidate(Message):
    """A trickled ICE candidate (RTCIceCandidateInit) for the test peer."""
    type = "test_candidate"
    direction = "client"
    candidate: dict = dataclasses.field(default_factory=dict)


@message
class TestDone(Message):
    """The browser's own measurements at the end of the test (see docs/protocol.md)."""
    type = "test_done"
    direction = "client"
    figures: dict = dataclasses.field(default_factory=dict)


@message
class TestResult(Message):
    """The result: figures from both ends and the recommendation (video, audio or phone)."""
    type = "test_result"
    direction = "server"
    recommendation: str = ""
    figures: dict = dataclasses.field(default_factory=dict)
    at: str = ""
    participant: str = ""
    device: str = ""


@message
class Help(Message):
    """The person asks for help during the test; the worker is alerted."""
    type = "help"
    direction = "client"


@message
class HelpAlert(Message):
    """To the worker: someone needs help (sound and notice)."""
    type = "help_alert"
    direction = "server"
    participant: str = ""
    name: str = ""
    device: str = ""
    worker_present: bool = False


# -- parse / dump -------------------------------------------------------------------------------

@functools.cache
def _hints(cls: type[Message]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check(cls: type[Message], name: str, value: Any) -> Any:
    expected = _hints(cls)[name]
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        expected = [a for a in typing.get_args(expected) if a is not type(None)][0]
    if expected is bool:
        ok = isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected)
    if not ok:
        raise ProtocolError("bad_field", f"{cls.type}.{name} must be of type {expected.__name__}")
    return value


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
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        if key == "type":
            continue
        name = "from_" if key == "from" else key
        if name not in fields or name == "from_":
            raise ProtocolError("bad_field", f"{cls.type} has no field {key[:40]!r}")
        values[name] = _check(cls, name, value)
    msg = cls(**values)
    _validate(msg)
    return msg


# An ICE candidate as browsers send it (RTCIceCandidateInit): only these keys, each of its type.
CANDIDATE_KEYS = {"candidate": str, "sdpMid": (str, type(None)),
                  "sdpMLineIndex": (int, type(None)), "usernameFragment": (str, type(None))}
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
        if "a=fingerprint:" not in msg.sdp or "a=crypto:" in msg.sdp or len(msg.sdp) > MAX_SDP_CHARS:
            raise ProtocolError("insecure_sdp", "an offer needs a DTLS fingerprint and no SDES keys")
    elif isinstance(msg, TestCandidate):
        _candidate(msg.candidate, allow_empty=False)
    elif isinstance(msg, TestDone):
        _figures(msg.figures)
    elif isinstance(msg, Modality):
        if msg.mode not in ("video", "audio"):
            raise ProtocolError("bad_field", "modality.mode is video or audio")
    elif isinstance(msg, (Admit, Decline)):
        if not msg.participant or len(msg.participant) > 64:
            raise ProtocolError("bad_field", "participant is required")
    for name in ("reason", "kind"):
        value = getattr(msg, name, "")
        if isinstance(value, str) and len(value) > 200:
            raise ProtocolError("bad_field", f"{name} too long")


def dump(msg: Message) -> str:
    """A server message as the text of one WebSocket frame (never NaN or Infinity)."""
    return json_input.dumps(msg.to_json())
