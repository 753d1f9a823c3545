"""The message types of a group session: the facilitator's tools on the wire (admit everyone,
hands and the floor, mute, remove, the sound-and-camera round, the agenda item, breaks, by phone)
and what the call is told of them. Registered by ``@message`` like those of ``messages.py``;
documented in ``docs/protocol.md`` ("A group session"); parsed and validated in ``protocol.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from server.domain.wire import Message, message


@message
class AdmitAll(Message):
    """The host (or the technical helper) lets in everyone waiting."""
    type = "admit_all"
    direction = "client"


@message
class Hand(Message):
    """A member of the call raises (or lowers) their own hand."""
    type = "hand"
    direction = "client"
    raised: bool = True


@message
class LowerHand(Message):
    """The host lowers one participant's hand, or every hand (``participant`` empty)."""
    type = "lower_hand"
    direction = "client"
    participant: str = ""


@message
class GiveFloor(Message):
    """The host gives the floor to a member of the call (empty: takes it back)."""
    type = "give_floor"
    direction = "client"
    participant: str = ""


@message
class Mute(Message):
    """The host (or the technical helper) asks one member (or everyone else) to mute."""
    type = "mute"
    direction = "client"
    participant: str = ""


@message
class MuteRequest(Message):
    """To a member: you are asked to turn your microphone off (unmuting stays yours)."""
    type = "mute_request"
    direction = "server"
    from_: str = ""
    name: str = ""


@message
class Remove(Message):
    """The host removes a person: their link is revoked and their connection closed."""
    type = "remove"
    direction = "client"
    participant: str = ""


@message
class Round(Message):
    """The host's sound-and-camera round: ``start``, ``next`` (to ``participant``, or the next
    one not yet checked) or ``end``."""
    type = "round"
    direction = "client"
    action: str = ""
    participant: str = ""


@message
class RoundCheck(Message):
    """A member of the round says whether they hear and see the others."""
    type = "round_check"
    direction = "client"
    hears: bool = False
    sees: bool = False


@message
class Agenda(Message):
    """The host sets the agenda item in progress (its index; -1: none)."""
    type = "agenda"
    direction = "client"
    item: int = -1


@message
class BreakStart(Message):
    """The host starts a break of ``minutes``: everyone's camera and microphone go off."""
    type = "break_start"
    direction = "client"
    minutes: int = 10


@message
class BreakEnd(Message):
    """The host brings everyone back from the break."""
    type = "break_end"
    direction = "client"


@message
class BreakStarted(Message):
    """To everyone in the call: a break, with its countdown."""
    type = "break_started"
    direction = "server"
    minutes: int = 0
    until: str = ""
    remaining_seconds: int = 0


@message
class BreakOver(Message):
    """To everyone in the call: the break is over; each page turns back on what was on."""
    type = "break_over"
    direction = "server"


@message
class ByPhone(Message):
    """The host marks that a person attends by phone (a browser, or a person's appointment)."""
    type = "by_phone"
    direction = "client"
    participant: str = ""
    appointment: int = 0
    by_phone: bool = True


@message
class Reminder(Message):
    """To the host: 45 minutes without a break, the planned end is near, the break is over."""
    type = "reminder"
    direction = "server"
    kind: str = ""
    minutes: int = 0


@message
class GroupState(Message):
    """To everyone in a group's call: hands, the floor, the agenda item, the round, the break
    and the time elapsed since the session started."""
    type = "group_state"
    direction = "server"
    started_at: str = ""
    elapsed_seconds: int = 0
    hands: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    floor: dict[str, Any] = dataclasses.field(default_factory=dict)
    agenda_item: int = -1
    agenda_since: str = ""
    round: dict[str, Any] = dataclasses.field(default_factory=dict)
    break_until: str = ""
    break_minutes: int = 0
    break_remaining_seconds: int = 0
