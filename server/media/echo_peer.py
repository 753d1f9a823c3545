"""The connection test: an aiortc peer on the server that sends the person's media straight back.

The browser offers its camera and microphone; the server answers and returns what it receives, so
the person sees and hears themselves as their worker will. Both ends measure; the result and a
plain recommendation go on the appointment, to the case record and, live, to the worker.

Cost: aiortc always decodes what it receives and re-encodes what it sends. The test page asks for
320x240 at 15 fps, and aiortc's per-frame audio level (a Python loop over every sample) is replaced
by a numpy one below. Measured by ``tests/bench/test_peer_capacity.py`` on this 2-core machine:
about 20 % of a core for one test, 12.6 % per test with 8 at once, all 8 echoed at full rate
(15 fps, 50 audio frames/s, no loss) by one process using one core. Beyond that one process is
limited by Python's GIL; the cap is the ``test_peers_max`` setting (8). Media never touches the
disk.
Peers are closed when a test ends, fails, times out, when the page goes away, and on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from typing import Any

import aiortc.rtp
import numpy as np
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from server.base import clock
from server.base.settings import Config
from server.domain import protocol as p
from server.domain.connection_test import combine, recommend
from server.domain.models import N_
from server.live.bus import Connection, LiveBus
from server.media.turn import ice_servers, relay_only
from server.services.interview import Participant, Refused
from server.storage.repositories import Store

log = logging.getLogger("proxima.test_peer")


def audio_level_dbov(frame: Any) -> int:
    """RFC 6465 audio level of a frame, as aiortc computes it, with numpy instead of a Python loop.

    aiortc computes this for every audio frame it sends, sample by sample in Python; profiled at
    about a fifth of a core per echoed test (tests/bench/test_peer_capacity.py). Same result
    (tests/test_connection_test.py checks it against aiortc's own function).
    """
    # int64 squares and a plain sum: no BLAS call (OpenBLAS threads would spin for a dot product).
    samples = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16).astype(np.int64)
    rms = (int(np.square(samples).sum()) / (frame.samples * 32767 * 32767)) ** 0.5
    if rms <= 0:
        return -127
    return round(min(max(20 * math.log10(rms), -127), 0))


_aiortc_audio_level = aiortc.rtp.compute_audio_level_dbov
aiortc.rtp.compute_audio_level_dbov = audio_level_dbov  # used by RTCRtpSender for each frame

TEST_MAX_SECONDS = 45.0
HELP_INTERVAL = 30.0  # one help alert per test page every 30 s
CLOCK_RATES = {"audio": 48_000, "video": 90_000}


@dataclasses.dataclass
class _Peer:
    pc: RTCPeerConnection
    deadline: asyncio.Task | None = None


class TestPeers:
    """The live test peers of this process, at most ``limit`` at a time."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.limit = config.test_peers_max
        self._peers: dict[str, _Peer] = {}

    @property
    def live(self) -> int:
        return len(self._peers)

    async def answer(self, key: str, offer_sdp: str) -> str:
        """Answer a browser's offer with a peer that echoes its tracks."""
        await self.close(key)  # a new try replaces the previous one
        if self.live >= self.limit:
            raise Refused("busy", N_("Many people are testing right now. "
                                     "Please try again in a minute."))
        servers = [RTCIceServer(**s) for s in ice_servers(self.config)]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))  # never the public default
        peer = _Peer(pc)
        self._peers[key] = peer

        @pc.on("track")
        def on_track(track: Any) -> None:
            pc.addTrack(track)  # straight back, on the same transceiver

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close(key)

        peer.deadline = asyncio.create_task(self._expire(key))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # noqa: BLE001 - a bad offer ends this test, nothing else
            await self.close(key)
            log.info("test offer not answered: %s", type(exc).__name__)
            raise Refused("bad_offer", N_("The test could not start. Please try again."))
        return pc.localDescription.sdp

    def running(self, key: str) -> bool:
        return key in self._peers

    async def candidate(self, key: str, init: dict[str, Any]) -> None:
        peer = self._peers.get(key)
        text = str(init.get("candidate", ""))
        if peer is None or not text.startswith("candidate:"):
            return
        try:
            candidate = candidate_from_sdp(text.split(":", 1)[1])
            candidate.sdpMid = init.get("sdpMid")
            candidate.sdpMLineIndex = init.get("sdpMLineIndex")
            await peer.pc.addIceCandidate(candidate)
        except Exception:  # noqa: BLE001 - aiortc asserts on some (e.g. an unknown sdpMid)
            raise Refused("bad_candidate",
                          N_("This connection detail cannot be used.")) from None

    async def measure(self, key: str) -> dict[str, Any]:
        """What the server received: upstream loss and jitter."""
        peer = self._peers.get(key)
        if peer is None:
            return {}
        received = lost = 0
        jitter_ms = 0.0
        for stats in (await peer.pc.getStats()).values():
            if getattr(stats, "type", "") == "inbound-rtp":
                received += stats.packetsReceived
                lost += max(0, stats.packetsLost)
                rate = CLOCK_RATES.get(stats.kind, 90_000)
                jitter_ms = max(jitter_ms, stats.jitter * 1000 / rate)
        total = received + lost
        return {"loss": round(lost / total, 4) if total else None,
                "jitter_ms": round(jitter_ms, 1), "packets": received}

    async def close(self, key: str) -> None:
        peer = self._peers.pop(key, None)
        if peer is None:
            return
        if peer.deadline is not None and peer.deadline is not asyncio.current_task():
            peer.deadline.cancel()
        with contextlib.suppress(Exception):
            await peer.pc.close()

    async def close_all(self) -> None:
        for key in list(self._peers):
            await self.close(key)

    async def _expire(self, key: str) -> None:
        await asyncio.sleep(TEST_MAX_SECONDS)
        log.info("test peer %s timed out", key)
        await self.close(key)


class ConnectionTests:
    """What a test page says, through the bus and the store."""

    def __init__(self, store: Store, bus: LiveBus, peers: TestPeers) -> None:
        self.store = store
        self.bus = bus
        self.peers = peers
        self.config = peers.config
        self._last_help: dict[str, float] = {}

    async def join(self, part: Participant, connection: Connection, resume: bool) -> None:
        """A test page's hello: the ICE servers to use, nothing about anyone else."""
        self.bus.attach(part.room, connection)
        self._send(part, part.id, p.Welcome(
            id=part.id, role=part.role, name=part.name, ice_servers=ice_servers(self.config),
            relay_only=relay_only(self.config), state="test"))

    def _send(self, part: Participant, to: str, msg: p.Message) -> bool:
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
            now = asyncio.get_running_loop().time()
            if now - self._last_help.get(part.id, -HELP_INTERVAL) < HELP_INTERVAL:
                raise Refused("too_soon", N_("Help was asked a moment ago."))
            self._last_help[part.id] = now
            worker = f"w:{part.host.id}"
            present = worker in self.bus.present(part.room)
            assert part.guest is not None
            alert = p.HelpAlert(participant=f"g:{part.guest.id}", name=part.name,
                                device=f"{part.guest.browser}, {part.guest.device}",
                                worker_present=present)
            self._send(part, worker, alert)
            self._send(part, part.id, alert)
            await self.store.entries.add(part.case.id, "help_asked", {"during": "test"},
                                         part.appointment.id)
        else:
            raise Refused("unexpected",
                          N_("This message is not expected during a test."))

    async def _done(self, part: Participant, msg: p.TestDone) -> None:
        assert part.guest is not None
        if not self.peers.running(part.id):
            raise Refused("no_test", N_("No test is running."))
        server = await self.peers.measure(part.id)
        await self.peers.close(part.id)
        figures = combine({k: v for k, v in msg.figures.items() if isinstance(v, (int, float, str))
                           or v is None}, server)
        advice = recommend(figures)
        result = p.TestResult(recommendation=advice, figures=figures, at=clock.now().isoformat(),
                              participant=f"g:{part.guest.id}",
                              device=f"{part.guest.browser}, {part.guest.device}")
        await self.store.interviews.add_test(part.appointment.id, part.guest.id, advice,
                                             {"figures": figures, "browser": part.guest.browser,
                                              "device": part.guest.device})
        await self.store.entries.add(part.case.id, "test_done", {
            "recommendation": advice, "figures": figures, "browser": part.guest.browser,
            "device": part.guest.device}, part.appointment.id)
        self._send(part, part.id, result)
        self._send(part, f"w:{part.host.id}", result)

    async def leave(self, part: Participant, connection: Connection) -> None:
        """The page went away: its test peer goes too."""
        if self.bus.detach(part.room, connection):
            await self.peers.close(part.id)
