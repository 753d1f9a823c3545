"""TURN through a real coturn on loopback: ephemeral credentials in the TURN REST convention,
a relay-only call that connects through it, and an expired credential refused."""

from __future__ import annotations

import asyncio
import time

from aiortc import (RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription)
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.mediastreams import VideoStreamTrack

from server.turn import turn_credentials
from live_helpers import in_call

from conftest import TURN_SECRET as SECRET


def relay_config(ice_servers):
    return RTCConfiguration(iceServers=[RTCIceServer(**s) for s in ice_servers],
                            iceTransportPolicy=RTCIceTransportPolicy.RELAY)


async def test_relay_only_call_through_coturn(make_proxima, coturn):
    proxima = await make_proxima(turn_urls=coturn, turn_secret=SECRET, turn_ttl_seconds=600)
    call = await in_call(proxima)
    person, worker = call["person"], call["worker"]
    to_worker, to_person = call["to_worker"], call["to_person"]
    ice = person.inbox[0]["ice_servers"]
    [server] = ice
    expiry, _ = server["username"].split(":")
    assert 590 <= int(expiry) - time.time() <= 600 and server["urls"] == [coturn]

    offerer = RTCPeerConnection(relay_config(worker.inbox[0]["ice_servers"]))
    answerer = RTCPeerConnection(relay_config(ice))
    got = asyncio.get_running_loop().create_future()

    @answerer.on("track")
    def on_track(track):
        async def first():
            frame = await track.recv()
            if not got.done():
                got.set_result(frame)
        asyncio.ensure_future(first())

    offerer.addTrack(VideoStreamTrack())
    try:
        await offerer.setLocalDescription(await offerer.createOffer())
        assert "typ relay" in offerer.localDescription.sdp
        assert "typ host" not in offerer.localDescription.sdp
        await worker.send(type="signal", to=to_person, description={
            "type": "offer", "sdp": offerer.localDescription.sdp})
        offer = await person.expect("signal")
        await answerer.setRemoteDescription(RTCSessionDescription(**offer["description"]))
        await answerer.setLocalDescription(await answerer.createAnswer())
        await person.send(type="signal", to=to_worker, description={
            "type": "answer", "sdp": answerer.localDescription.sdp})
        answer = await worker.expect("signal")
        await offerer.setRemoteDescription(RTCSessionDescription(**answer["description"]))
        frame = await asyncio.wait_for(got, 20)
        assert frame.width > 0
    finally:
        await offerer.close()
        await answerer.close()


async def test_an_expired_credential_is_refused(coturn):
    username, password = turn_credentials(SECRET, ttl_seconds=600, now=time.time() - 3600)
    expired = RTCPeerConnection(relay_config([{"urls": [coturn], "username": username,
                                               "credential": password}]))
    username, password = turn_credentials(SECRET, ttl_seconds=600)
    fresh = RTCPeerConnection(relay_config([{"urls": [coturn], "username": username,
                                             "credential": password}]))
    try:
        for pc in (expired, fresh):
            pc.addTrack(VideoStreamTrack())
        try:
            await expired.setLocalDescription(await expired.createOffer())
            sdp = expired.localDescription.sdp
        except Exception as exc:  # aiortc may refuse to gather at all
            sdp = str(exc)
        assert "typ relay" not in sdp
        await fresh.setLocalDescription(await fresh.createOffer())
        assert "typ relay" in fresh.localDescription.sdp
    finally:
        await expired.close()
        await fresh.close()
