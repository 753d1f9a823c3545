"""The connection test's echo peer: an aiortc peer on the server that sends the person's media
straight back, so they see and hear themselves as their worker will. What the test page says is
handled by ``server/services/connection_tests.py``; this module only holds the peers.

Cost: aiortc always decodes what it receives and re-encodes what it sends. The test page asks for
320x240 at 15 fps, and aiortc's per-frame audio level (a Python loop over every sample) is replaced
by a numpy one (``server/media/audio_level.py``, installed at start-up). Measured by
``tests/bench/test_peer_capacity.py`` on this 2-core machine:
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
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from server.base.settings import Config
from server.domain import protocol as p
from server.domain.ids import ParticipantId
from server.domain.models import N_
from server.media.turn import ice_servers

log = logging.getLogger("proxima.echo_peer")

TEST_MAX_SECONDS = 45.0
CLOCK_RATES = {"audio": 48_000, "video": 90_000}


@dataclasses.dataclass
class _Peer:
    pc: RTCPeerConnection
    deadline: asyncio.Task[None] | None = None


class EchoPeers:
    """The live test peers of this process, at most ``limit`` at a time."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.limit = config.test_peers_max
        self._peers: dict[ParticipantId, _Peer] = {}

    @property
    def live(self) -> int:
        return len(self._peers)

    async def answer(self, key: ParticipantId, offer_sdp: str) -> str:
        """Answer a browser's offer with a peer that echoes its tracks."""
        await self.close(key)  # a new try replaces the previous one
        if self.live >= self.limit:
            raise p.Refused("busy", N_("Many people are testing right now. "
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
            raise p.Refused("bad_offer",
                            N_("The test could not start. Please try again.")) from None
        return pc.localDescription.sdp

    def running(self, key: ParticipantId) -> bool:
        return key in self._peers

    async def candidate(self, key: ParticipantId, init: dict[str, Any]) -> None:
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
            raise p.Refused("bad_candidate",
                          N_("This connection detail cannot be used.")) from None

    async def measure(self, key: ParticipantId) -> dict[str, Any]:
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

    async def close(self, key: ParticipantId) -> None:
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

    async def _expire(self, key: ParticipantId) -> None:
        await asyncio.sleep(TEST_MAX_SECONDS)
        log.info("test peer %s timed out", key)
        await self.close(key)
