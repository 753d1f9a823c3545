"""The message types of the signalling protocol (``docs/protocol.md`` documents each one; a
test keeps the two in step). Registered by ``@message``; parsed and validated in ``protocol.py``.
Those of a group session's tools are in ``group_messages.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from server.domain.wire import VERSION, Message, message

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
    ice_servers: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    relay_only: bool = False
    state: str = ""
    session: dict[str, Any] = dataclasses.field(default_factory=dict)
    group: dict[str, Any] = dataclasses.field(default_factory=dict)  # {} in a 1:1 interview


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
    rule_accepted: bool = False  # in a group: the group's rule ("stays in the group")
    others_accepted: bool = False  # in a group: the other participants' presence


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
    waiting: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    admitted: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    people: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # a group's persons


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
    description: dict[str, Any] | None = None
    candidate: dict[str, Any] | None = None
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
    """The worker ends the session (``phone_finished`` when ending the phone part;
    ``postponed`` when the interview is put off to another day)."""
    type = "end"
    direction = "client"
    phone_finished: bool = False
    postponed: bool = False


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
    candidate: dict[str, Any] = dataclasses.field(default_factory=dict)


@message
class TestDone(Message):
    """The browser's own measurements at the end of the test (see docs/protocol.md)."""
    type = "test_done"
    direction = "client"
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)


@message
class TestResult(Message):
    """The result: figures from both ends and the recommendation (video, audio or phone)."""
    type = "test_result"
    direction = "server"
    recommendation: str = ""
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)
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

