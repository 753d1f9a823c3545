"""What a connection-test page says: its offer to the echo peer, its figures, its call for help.

The test socket (``/ws/<room>?purpose=test``) is its own participant (``t:<browser>``): it never
sees anyone else, nor is seen. Both ends measure; the result and a plain recommendation go on the
appointment, to the case record and, live, to the worker.
"""

from __future__ import annotations

import asyncio

from server.base import clock
from server.base.settings import Config
from server.domain import protocol as p
from server.domain.connection_test import combine, recommend
from server.domain.ids import ParticipantId
from server.domain.models import N_
from server.live.bus import Connection, LiveBus
from server.media.echo_peer import EchoPeers
from server.media.turn import ice_servers, relay_only
from server.services.participants import Participant
from server.storage.repositories import Store

HELP_INTERVAL = 30.0  # one help alert per test page every 30 s


class ConnectionTests:
    """A test page's messages, through the bus, the echo peers and the store."""

    def __init__(self, store: Store, bus: LiveBus, peers: EchoPeers, config: Config) -> None:
        self.store = store
        self.bus = bus
        self.peers = peers
        self.config = config
        self._last_help: dict[ParticipantId, float] = {}

    async def join(self, part: Participant, connection: Connection, resume: bool) -> None:
        """A test page's hello: the ICE servers to use, nothing about anyone else."""
        self.bus.attach(part.room, connection)
        self._send(part, part.id, p.Welcome(
            id=str(part.id), role=part.role, name=part.name, ice_servers=ice_servers(self.config),
            relay_only=relay_only(self.config), state="test"))

    def _send(self, part: Participant, to: ParticipantId, msg: p.Message) -> bool:
        return self.bus.deliver(part.room, to, p.dump(msg))

    async def handle(self, part: Participant, msg: p.Message) -> None:
        if isinstance(msg, p.Ping):
            self._send(part, part.id, p.Pong())
        elif isinstance(msg, p.TestOffer):
            sdp = await self.peers.answer(part.id, msg.sdp)
            self._send(part, part.id, p.TestAnswer(sdp=sdp))
        elif isinstance(msg, p.TestCandidate):
            await self.peers.candidate(part.id, msg.candidate)
        elif isinstance(msg, p.TestDone):
            await self._done(part, msg)
        elif isinstance(msg, p.Help):
            await self._help(part)
        else:
            raise p.Refused("unexpected", N_("This message is not expected during a test."))

    async def _help(self, part: Participant) -> None:
        """The person asks for help: the worker is alerted (once every HELP_INTERVAL)."""
        now = asyncio.get_running_loop().time()
        if now - self._last_help.get(part.id, -HELP_INTERVAL) < HELP_INTERVAL:
            raise p.Refused("too_soon", N_("Help was asked a moment ago."))
        self._last_help[part.id] = now
        assert part.guest is not None
        alert = p.HelpAlert(participant=str(ParticipantId.browser(part.guest.id)), name=part.name,
                            device=f"{part.guest.browser}, {part.guest.device}",
                            worker_present=self.bus.is_present(part.room, part.host_id))
        self._send(part, part.host_id, alert)
        self._send(part, part.id, alert)
        await self.store.entries.add(part.own_case.id, "help_asked", {"during": "test"},
                                     part.own_appointment.id)

    async def _done(self, part: Participant, msg: p.TestDone) -> None:
        assert part.guest is not None
        if not self.peers.running(part.id):
            raise p.Refused("no_test", N_("No test is running."))
        server = await self.peers.measure(part.id)
        await self.peers.close(part.id)
        figures = combine({k: v for k, v in msg.figures.items() if isinstance(v, (int, float, str))
                           or v is None}, server)
        advice = recommend(figures)
        result = p.TestResult(recommendation=advice, figures=figures, at=clock.now().isoformat(),
                              participant=str(ParticipantId.browser(part.guest.id)),
                              device=f"{part.guest.browser}, {part.guest.device}")
        await self.store.interviews.add_test(part.own_appointment.id, part.guest.id, advice,
                                             {"figures": figures, "browser": part.guest.browser,
                                              "device": part.guest.device})
        await self.store.entries.add(part.own_case.id, "test_done", {
            "recommendation": advice, "figures": figures, "browser": part.guest.browser,
            "device": part.guest.device}, part.own_appointment.id)
        self._send(part, part.id, result)
        self._send(part, part.host_id, result)

    async def leave(self, part: Participant, connection: Connection) -> None:
        """The page went away: its test peer goes too."""
        if self.bus.detach(part.room, connection):
            await self.peers.close(part.id)
