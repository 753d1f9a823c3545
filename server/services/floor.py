"""Speaking in a group: raised hands in the order they went up, the floor, muting, and the
sound-and-camera round ("tout le monde dit qui il est, pour tester le son et la caméra").

Each change goes to everyone in the call as ``group_state``. Muting only ever asks a page to turn
its microphone off (``mute_request``); nobody's camera or microphone is switched on by anyone but
its owner.
"""

from __future__ import annotations

from server.domain import protocol as p
from server.domain.ids import ParticipantId
from server.domain.models import N_
from server.services.participants import Participant
from server.services.rooms import Rooms
from server.services.staff import host_only, may_admit_and_mute


class Floor:
    """``hand``, ``lower_hand``, ``give_floor``, ``mute``, ``round`` and ``round_check``."""

    def __init__(self, rooms: Rooms) -> None:
        self.rooms = rooms

    def _in_call(self, part: Participant) -> None:
        if not self.rooms.in_call(part):
            raise p.Refused("not_admitted", N_("You are not in the call."))

    def member(self, part: Participant, text: str) -> ParticipantId:
        """A member of the call, named by the host (``unknown_peer`` otherwise)."""
        try:
            member = ParticipantId.parse(text)
        except ValueError:
            member = None
        if member is None or member not in self.rooms.members(part.room):
            raise p.Refused("unknown_peer", N_("This participant is not in the call."))
        return member

    # -- hands and the floor -------------------------------------------------------------------

    async def on_hand(self, part: Participant, msg: p.Hand) -> None:
        group = self.rooms.group(part)
        self._in_call(part)
        if msg.raised:
            group.raise_hand(part.id)
        else:
            group.lower_hand(part.id)
        self.rooms.tell_group(part.room)

    async def on_lower_hand(self, part: Participant, msg: p.LowerHand) -> None:
        group = self.rooms.group(part)
        host_only(part)
        group.lower_hand(self.member(part, msg.participant) if msg.participant else None)
        self.rooms.tell_group(part.room)

    async def on_give_floor(self, part: Participant, msg: p.GiveFloor) -> None:
        group = self.rooms.group(part)
        host_only(part)
        group.give_floor(self.member(part, msg.participant) if msg.participant else None)
        self.rooms.tell_group(part.room)

    async def on_mute(self, part: Participant, msg: p.Mute) -> None:
        """Ask one member, or everyone else in the call, to turn their microphone off."""
        may_admit_and_mute(self.rooms, part)
        self._in_call(part)
        if msg.participant:
            targets = {self.member(part, msg.participant)}
        else:
            targets = set(self.rooms.members(part.room)) - {part.id}
        self.rooms.send_all(part.room, targets, p.MuteRequest(from_=str(part.id), name=part.name))

    # -- the sound-and-camera round ------------------------------------------------------------

    async def on_round(self, part: Participant, msg: p.Round) -> None:
        group = self.rooms.group(part)
        host_only(part)
        if msg.action == "start":
            if group.started_at is None:
                raise p.Refused("no_session", N_("No interview is in progress."))
            # Everyone but the host, in the topology's order: co-workers first, then persons.
            others = self.rooms.members(part.room) - {part.id}
            group.start_round(sorted(others, key=lambda m: (not m.is_worker, m.number)))
        elif group.round is None:
            raise p.Refused("no_round", N_("No sound-and-camera round is in progress."))
        elif msg.action == "next":
            group.round.next(self.member(part, msg.participant) if msg.participant else None)
        else:
            group.round = None
        self.rooms.tell_group(part.room)

    async def on_round_check(self, part: Participant, msg: p.RoundCheck) -> None:
        group = self.rooms.group(part)
        self._in_call(part)
        if group.round is None:
            raise p.Refused("no_round", N_("No sound-and-camera round is in progress."))
        group.round.check(part.id, msg.hears, msg.sees)
        self.rooms.tell_group(part.room)
