"""Two real aiortc peers negotiate through the real app's signalling (the worker offers here,
as aiortc has no negotiationneeded), and media flows between them."""

from __future__ import annotations

import asyncio

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from live_helpers import in_call


async def test_two_aiortc_peers_through_the_app(proxima):
    call = await in_call(proxima)
    person, worker = call["person"], call["worker"]
    to_worker, to_person = call["to_worker"], call["to_person"]

    config = RTCConfiguration(iceServers=[])  # never the public STUN fallback
    offerer, answerer = RTCPeerConnection(config), RTCPeerConnection(config)
    received: dict[str, asyncio.Future] = {"worker": asyncio.Future(), "person": asyncio.Future()}
    readers: list[asyncio.Future] = []  # kept, so that no reading task is collected mid-way

    def on_track(side: str):
        def handler(track):
            async def first_frame():
                frame = await track.recv()
                if not received[side].done():
                    received[side].set_result(frame)
            if track.kind == "video":
                readers.append(asyncio.ensure_future(first_frame()))
        return handler

    offerer.on("track", on_track("worker"))
    answerer.on("track", on_track("person"))
    for pc in (offerer, answerer):
        pc.addTrack(VideoStreamTrack())
        pc.addTrack(AudioStreamTrack())
    try:
        await offerer.setLocalDescription(await offerer.createOffer())
        await worker.send(type="signal", to=to_person, description={
            "type": offerer.localDescription.type, "sdp": offerer.localDescription.sdp})
        offer = await person.expect("signal")
        assert offer["from"] == to_worker
        await answerer.setRemoteDescription(RTCSessionDescription(**offer["description"]))
        await answerer.setLocalDescription(await answerer.createAnswer())
        await person.send(type="signal", to=to_worker, description={
            "type": answerer.localDescription.type, "sdp": answerer.localDescription.sdp})
        answer = await worker.expect("signal")
        assert answer["description"]["sdp"] == answerer.localDescription.sdp  # untouched
        await offerer.setRemoteDescription(RTCSessionDescription(**answer["description"]))
        frames = await asyncio.wait_for(asyncio.gather(received["worker"], received["person"]), 20)
        assert all(f.width > 0 for f in frames)
    finally:
        await offerer.close()
        await answerer.close()
