"""Hostile input on real sockets: lone surrogates, deep nesting, non-finite numbers and malformed
candidates, on the call socket, the connection-test socket and the JSON API. Each is refused with
a plain error; the call goes on; its log reaches the case record; nothing answers 500."""

from __future__ import annotations

import json

from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from conftest import new_case
from live_helpers import connect, guest, in_call, planned_soon

from server.domain.ids import ParticipantId
from server.edge.http import BUS

LONE = "\\ud800"  # as a client writes it in JSON text: an escape, valid ASCII on the wire


def strict_json(text: str):
    """Parse as a standards-following client would (no NaN, no Infinity)."""
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


HOSTILE_CALL_FRAMES = [
    '{"type":"modality","mode":"audio","reason":"' + LONE + '"}',
    '{"type":"fallback","reason":"x' + LONE + '"}',
    '{"type":"chat","text":"bonjour ' + LONE + '"}',
    '{"type":"signal","to":"%(peer)s","description":{"type":"offer","sdp":"a=fingerprint:1 '
    + LONE + '"}}',
    '{"type":"signal","to":"%(peer)s","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9'
    ' typ host ' + LONE + '","sdpMid":"0"}}',
    '{"type":"signal","to":"%(peer)s","candidate":{"candidate":"' + LONE + '"}}',
    '{"type":"consent","modality":"video","others":"' + LONE + '","text_hash":"x"}',
    '{"type":"signal","to":"%(peer)s","description":{"type":"offer","sdp":"a=fingerprint:1",'
    '"x":' + "[" * 800 + "]" * 800 + '}}',
    '{"type":"signal","to":"%(peer)s","candidate":' + '{"a":' * 50 + "1" + "}" * 50 + '}',
    '{"type":"signal","to":"%(peer)s","candidate":{"candidate":"candidate:x"}}',
    ('{"type":"signal","to":"%(peer)s","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1'
     ' 9 typ host","sdpMid":"0","sdpMLineIndex":NaN}}'),
    '{"type":"media","audio":true,"video":Infinity}',
]


async def test_hostile_frames_in_a_call_are_refused_and_the_call_goes_on(proxima):
    call = await in_call(proxima)
    person, worker = call["person"], call["worker"]
    for frame in HOSTILE_CALL_FRAMES:
        await person.ws.send_str(frame % {"peer": call["to_worker"]})
        answer = await person.expect("error")
        assert answer["code"] in ("malformed", "bad_candidate", "bad_field"), (frame[:80], answer)
    # Nothing reached the worker, and both writers still work: chat both ways.
    await person.send(type="chat", text="toujours là")
    assert (await worker.expect("chat"))["text"] == "toujours là"
    await worker.send(type="chat", text="moi aussi")
    while (await person.expect("chat"))["text"] != "moi aussi":  # its own chat comes back first
        pass
    assert not [m for m in worker.inbox if m["type"] in ("modality", "phone", "signal")]
    # The worker ends: the log reaches the case record, as valid JSON.
    await worker.send(type="end")
    await person.expect("ended")
    case = await call["anne"].request("GET", f"/api/cases/{call['case']['id']}")
    record = strict_json(await case.text())["record"]
    assert "session_log" in [e["kind"] for e in record]


async def test_a_writer_that_fails_ends_only_its_own_socket(proxima, caplog):
    """Whatever breaks one participant's writer, the other stays and hears that they left."""
    call = await in_call(proxima)
    # A frame this socket cannot send (what a relayed lone surrogate was).
    person = ParticipantId.parse(call["to_person"])
    assert proxima.app[BUS].deliver(call["public_id"], person, "\ud800")
    while (await call["person"].next())["type"] != "_closed":
        pass
    assert (await call["worker"].expect("peer_left"))["peer"] == call["to_person"]
    await call["worker"].send(type="ping")
    assert (await call["worker"].expect("pong"))["type"] == "pong"
    assert "writer of g:" in caplog.text  # logged once, as the failure it is


async def _running_test(proxima):
    """A person's connection-test socket with a real aiortc offer answered by the test peer."""
    anne, case, created, public_id = await planned_soon(proxima)
    wire = await connect(proxima, await guest(proxima, created["link"]),
                         f"{public_id}?purpose=test")
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    await wire.send(type="test_offer", sdp=pc.localDescription.sdp)
    await wire.expect("test_answer")
    return anne, case, wire, pc


async def test_hostile_frames_on_the_test_socket_are_refused(proxima):
    anne, case, wire, pc = await _running_test(proxima)
    try:
        for frame, code in [
                ('{"type":"test_done","figures":{"audio_up_kbps":"abc"}}', "bad_field"),
                ('{"type":"test_done","figures":{"rtt_ms":NaN}}', "malformed"),
                ('{"type":"test_done","figures":{"loss":Infinity}}', "malformed"),
                ('{"type":"test_done","figures":{"video_up_kbps":1e999}}', "malformed"),
                ('{"type":"test_done","figures":{"loss":-0.5}}', "bad_field"),
                ('{"type":"test_done","figures":{"path":"' + LONE + '"}}', "malformed"),
                ('{"type":"test_done","figures":{"nested":' + "[" * 800 + "]" * 800 + "}}",
                 "malformed"),
                ('{"type":"test_candidate","candidate":{"candidate":"candidate:x"}}',
                 "bad_candidate"),
                (('{"type":"test_candidate","candidate":{"candidate":"candidate:1 1 udp 1'
                  ' 127.0.0.1 9 typ host","sdpMLineIndex":640}}'), "bad_candidate"),
                (('{"type":"test_candidate","candidate":{"candidate":"candidate:1 1 udp 1'
                  ' 127.0.0.1 9 typ host","sdpMLineIndex":"0"}}'), "bad_candidate")]:
            await wire.ws.send_str(frame)
            answer = await wire.expect("error")
            assert answer["code"] == code, (frame[:70], answer)
        # Still running: good figures give a result, and the case reads back as valid JSON.
        await wire.send(type="test_done", figures={"rtt_ms": 3, "audio_up_kbps": 30, "loss": 0,
                                                   "path": "direct"})
        result = await wire.expect("test_result")
        assert result["recommendation"] in ("video", "audio", "phone")
        response = await anne.request("GET", f"/api/cases/{case['id']}")
        assert response.status == 200
        assert "test_done" in [e["kind"] for e in strict_json(await response.text())["record"]]
    finally:
        await pc.close()


async def test_the_json_api_refuses_bad_text_and_numbers_with_400(proxima):
    anne = await proxima.worker()
    case = await new_case(anne)
    for body in ('{"reference":"R1","person_name":"A' + LONE + 'B"}',
                 '{"reference":"R1","person_name":"' + LONE + '"}',
                 '{"reference":"R1","person_name":"Ana","x":NaN}',
                 '{"reference":"R1","person_name":"Ana","x":' + "[" * 100 + "]" * 100 + "}"):
        response = await anne.request("POST", "/api/cases", data=body,
                                      headers={"Content-Type": "application/json"})
        assert response.status == 400, (body[:60], response.status)
        assert (await response.json())["error"] == "malformed_json"
    response = await anne.request(
        "POST", f"/api/cases/{case['id']}/appointments",
        data='{"date":"2030-01-01","time":"10:00","duration_minutes":Infinity}',
        headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert [c["person_name"] for c in (await anne.json("GET", "/api/cases"))["cases"]] == \
        ["Fatou Diallo"]
