"""The relay: negotiation, chat and media state between the members of a call.

This is the hot path (every ICE candidate of every call passes here), so it takes no lock and
touches no storage: who is in the call is read from the room's live state. Before admission
nothing is relayed to or from a browser.
"""

from __future__ import annotations

from server.base import clock
from server.domain import protocol as p
from server.domain.ids import ParticipantId
from server.domain.models import N_
from server.services.participants import Participant, clean_text
from server.services.rooms import Rooms


class Relay:
    """``signal``, ``chat``, ``media`` and ``ping``: read-only on the room."""

    def __init__(self, rooms: Rooms) -> None:
        self.rooms = rooms

    def _members(self, part: Participant) -> frozenset[ParticipantId]:
        members = self.rooms.members(part.room)
        if part.id not in members:
            raise p.Refused("not_admitted", N_("You are not in the call."))
        return members

    async def on_ping(self, part: Participant, msg: p.Ping) -> None:
        self.rooms.send(part.room, part.id, p.Pong())

    async def on_signal(self, part: Participant, msg: p.Signal) -> None:
        members = self._members(part)
        try:
            to = ParticipantId.parse(msg.to)
        except ValueError:
            to = part.id
        if to not in members or to == part.id:
            raise p.Refused("unknown_peer", N_("This participant is not in the call."))
        self.rooms.bus.deliver(part.room, to, p.dump_relayed(msg, str(part.id)))

    async def on_chat(self, part: Participant, msg: p.Chat) -> None:
        members = self._members(part)
        text = clean_text(msg.text)
        if not text:
            raise p.Refused("bad_chat", N_("The message is empty."))
        out = p.Chat(text=text, from_=str(part.id), name=part.name, at=clock.now().isoformat())
        self.rooms.send_all(part.room, members, out)

    async def on_media(self, part: Participant, msg: p.MediaState) -> None:
        members = self._members(part)
        self.rooms.send_all(part.room, members - {part.id},
                            p.MediaState(audio=msg.audio, video=msg.video, from_=str(part.id)))
