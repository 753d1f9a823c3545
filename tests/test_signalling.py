"""The signalling WebSocket with raw clients: the waiting-room guard, admission, relaying, the
edge's limits, reconnection as the same participant, and the session log."""

from __future__ import annotations

import json

import aiohttp
import pytest
from conftest import eventually
from live_helpers import FAKE_SDP, connect, consent, guest, planned_soon

from server.edge import signalling
from server.live.limits import SignallingLimits

PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/156.0 Mobile Safari/537.36"
LAPTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"


async def test_nothing_crosses_the_waiting_room_before_admission(proxima):
    anne, _case, created, public_id = await planned_soon(proxima)
    phone = await guest(proxima, created["link"], PHONE_UA)
    person = await connect(proxima, phone, public_id)
    assert person.inbox[-1]["state"] == "consent"
    assert person.inbox[-1]["ice_servers"] == []  # no public STUN or TURN, ever

    # Before consent and before admission, nothing is relayed.
    await person.send(type="signal", to="w:1", description={"type": "offer", "sdp": FAKE_SDP})
    assert (await person.expect("error"))["code"] == "not_admitted"
    await consent(person)
    waiting = await person.expect("waiting")
    assert waiting["worker_present"] is False

    # The worker arrives late: they see who waits, and nobody is let in automatically.
    worker = await connect(proxima, anne, public_id)
    assert worker.inbox[-1]["state"] == "ready"
    lobby = await worker.expect("lobby")
    [entry] = lobby["waiting"]
    assert entry["device"] == "Android phone" and entry["consent"]["modality"] == "video"
    assert (await person.expect("waiting"))["worker_present"] is True

    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
                 "sdpMid": "0", "sdpMLineIndex": 0}
    for msg in ({"type": "signal", "to": "w:1", "description": {"type": "offer", "sdp": FAKE_SDP}},
                {"type": "signal", "to": "w:1", "candidate": candidate},
                {"type": "chat", "text": "hello?"},
                {"type": "media", "audio": False, "video": True},
                {"type": "modality", "mode": "audio"}):
        await person.send(**msg)
        assert (await person.expect("error"))["code"] == "not_admitted"
    heard = await worker.drain()
    assert [m["type"] for m in heard] == []
    assert all(m["type"] not in ("lobby", "admitted", "signal", "chat") for m in person.inbox)

    # Decline: the browser's access ends, for good.
    await worker.send(type="decline", participant=entry["id"])
    declined = await person.expect("declined")
    assert declined["phone"] == "01 23 45 67 89"
    assert (await person.next())["type"] == "_closed"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(proxima, phone, public_id, hello=False)
    assert refused.value.status == 403


async def test_admission_relays_and_reconnects_as_the_same_participant(proxima):
    anne, case, created, public_id = await planned_soon(proxima)
    phone = await guest(proxima, created["link"], PHONE_UA)
    laptop = await guest(proxima, created["link"], LAPTOP_UA)
    on_phone = await connect(proxima, phone, public_id)
    on_laptop = await connect(proxima, laptop, public_id)
    await consent(on_phone)
    await consent(on_laptop, modality="audio")
    worker = await connect(proxima, anne, public_id)
    lobby = await worker.expect("lobby")
    while len(lobby["waiting"]) < 2:
        lobby = await worker.expect("lobby")
    by_device = {w["device"]: w for w in lobby["waiting"]}
    laptop_id = by_device["Windows computer"]["id"]
    await worker.send(type="admit", participant=laptop_id)
    admitted = await on_laptop.expect("admitted")
    assert admitted["polite"] is True and admitted["peer"] == worker.inbox[0]["id"]
    assert admitted["modality"] == "audio"
    mine = await worker.expect("admitted")
    assert mine["polite"] is False and mine["peer"] == laptop_id

    # The admitted browser's messages are relayed, untouched, with who sent them.
    await on_laptop.send(type="signal", to=admitted["peer"],
                         description={"type": "offer", "sdp": FAKE_SDP})
    relayed = await worker.expect("signal")
    assert relayed["from"] == laptop_id and relayed["description"]["sdp"] == FAKE_SDP
    sdes_offer = {"type": "offer", "sdp": FAKE_SDP + "a=crypto:1 AES_CM_128\r\n"}
    await on_laptop.send(type="signal", to=admitted["peer"], description=sdes_offer)
    assert (await on_laptop.expect("error"))["code"] == "insecure_sdp"
    await on_laptop.send(type="chat", text="<img src=x onerror=alert(1)>")
    chat = await worker.expect("chat")
    assert chat["text"] == "<img src=x onerror=alert(1)>" and chat["from"] == laptop_id
    # The phone, still waiting, heard none of it.
    assert all(m["type"] in ("welcome", "waiting") for m in on_phone.inbox + await on_phone.drain())

    # The laptop's signalling drops and comes back: same participant, no waiting room.
    await on_laptop.ws.close()
    assert (await worker.expect("peer_left"))["peer"] == laptop_id
    back = await connect(proxima, laptop, public_id, resume=True)
    assert back.inbox[-1]["state"] == "in_call" and back.inbox[-1]["id"] == laptop_id
    await back.send(type="chat", text="me again")
    assert (await worker.expect("chat"))["text"] == "me again"

    # Switching to sound only: both sides are told; then plan B by phone; then the end.
    await worker.send(type="modality", mode="audio", reason="asked")
    assert (await back.expect("modality"))["mode"] == "audio"
    await back.send(type="fallback", reason="asked")
    phone_for_person = await back.expect("phone")
    assert phone_for_person["person_phone"] == "" and phone_for_person["person_phone_end"] == "78"
    assert phone_for_person["worker_phone"] == "01 23 45 67 89"
    phone_for_worker = await worker.expect("phone")
    assert phone_for_worker["person_phone"] == "06 12 34 56 78"
    await worker.send(type="end", phone_finished=True)
    assert (await back.expect("ended"))["reason"] == "phone_finished"

    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    [log] = [e["data"] for e in record if e["kind"] == "session_log"]
    assert [t["mode"] for t in log["timeline"]] == ["audio", "phone"]
    assert log["end_reason"] == "phone_finished" and log["duration_seconds"] >= 0
    assert "reconnected" in [i["kind"] for i in log["incidents"]]
    assert [c["modality"] for c in log["consents"]] == ["audio"]
    assert set(log["participants"]) == {worker.inbox[0]["id"], laptop_id}
    text = json.dumps(log)
    assert "me again" not in text and "127.0.0.1" not in text


async def test_edge_limits(make_proxima):
    proxima = await make_proxima(limits=SignallingLimits(handshake_seconds=0.3))
    _anne, _case, created, public_id = await planned_soon(proxima)
    browser = await guest(proxima, created["link"])
    url = proxima.url.replace("https://", "wss://") + f"/ws/{public_id}"
    # A foreign Origin, or no invitation cookie: no WebSocket at all.
    for client, origin in ((browser, "https://evil.example"), (proxima.client(), proxima.url)):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.session.ws_connect(url, origin=origin)
        assert refused.value.status == 403
    # No hello in time.
    silent = await connect(proxima, browser, public_id, hello=False)
    assert (await silent.expect("error"))["code"] == "handshake_timeout"
    assert await silent.next() == {"type": "_closed", "code": 4408}
    # A wrong version.
    wrong = await connect(proxima, browser, public_id, hello=False)
    await wrong.send(type="hello", version=99)
    assert (await wrong.expect("error"))["code"] == "bad_handshake"
    # Malformed messages get an error; the connection stays.
    wire = await connect(proxima, browser, public_id)
    for raw in ("{not json", "[]", '{"type": "chat", "text": 5}', '{"type": "welcome"}'):
        await wire.ws.send_str(raw)
        assert (await wire.expect("error"))["code"] in ("malformed", "bad_field", "unknown_type")
    await wire.send(type="ping")
    assert (await wire.expect("pong"))["type"] == "pong"
    # Too large: closed with 1009.
    await wire.ws.send_str(json.dumps({"type": "chat", "text": "x" * 70_000}))
    assert await wire.next() == {"type": "_closed", "code": 1009}


async def test_a_flood_is_rate_limited_and_others_are_unaffected(proxima):
    anne, _case, created, public_id = await planned_soon(proxima)
    browser = await guest(proxima, created["link"])
    person = await connect(proxima, browser, public_id)
    await consent(person)
    worker = await connect(proxima, anne, public_id)
    entry = (await worker.expect("lobby"))["waiting"][0]
    await worker.send(type="admit", participant=entry["id"])
    await person.expect("admitted")

    _other_anne, _, other, other_id = await planned_soon(
        proxima, worker=await proxima.worker(email="flood@example.org"))
    flooder = await connect(proxima, await guest(proxima, other["link"]), other_id)
    for _ in range(400):
        await flooder.send(type="ping")
    got = await flooder.quiet(1.0)
    codes = [m.get("code") for m in got if m["type"] == "error"]
    assert "rate_limited" in codes
    assert got[-1] == {"type": "_closed", "code": 1008}
    # The interview in progress goes on.
    await person.send(type="chat", text="still here")
    assert (await worker.expect("chat"))["text"] == "still here"


async def test_a_session_is_logged_even_without_the_closing_form(make_proxima):
    proxima = await make_proxima(session_end_minutes=0)
    anne, case, created, public_id = await planned_soon(proxima)
    person = await connect(proxima, await guest(proxima, created["link"]), public_id)
    await consent(person)
    worker = await connect(proxima, anne, public_id)
    await worker.send(type="ready", quiet=True, confidential=True, headset=False)
    entry = (await worker.expect("lobby"))["waiting"][0]
    await worker.send(type="admit", participant=entry["id"])
    await person.expect("admitted")
    # The worker closes the tab, the person too; nobody ends the session.
    await worker.ws.close()
    await person.ws.close()
    # Swept as soon as the server has seen both leave (a sweep before that ends nothing).
    assert await eventually(proxima.app[signalling.INTERVIEWS].sweep) == 1
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    [log] = [e["data"] for e in record if e["kind"] == "session_log"]
    assert log["end_reason"] == "abandoned"
    assert log["readiness"]["quiet"] is True
    assert log["consents"][0]["modality"] == "video"
    assert all("left" in stay for p in log["participants"].values() for stay in p["stays"])
    # The closing form then amends it.
    closing_url = f"/api/appointments/{created['appointment']['id']}/session/closing"
    closing = await anne.json("POST", closing_url,
                              {"notes": "Dossier logement à compléter.",
                               "follow_ups": [{"who": "Anne", "what": "Appeler la CAF"}],
                               "next_appointment": {"date": soon_date(7), "time": "10:00",
                                                    "modality": "audio"}})
    assert closing["link"] and closing["closing"]["next_appointment"]["modality"] == "audio"
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    assert "session_closing" in [e["kind"] for e in record]
    assert len([e for e in record if e["kind"] == "appointment_created"]) == 2


def soon_date(days: int) -> str:
    """A date ``days`` ahead of today in Europe/Paris (the service's time zone), as ISO text."""
    import datetime as dt
    from zoneinfo import ZoneInfo
    today = dt.datetime.now(ZoneInfo("Europe/Paris")).date()
    return (today + dt.timedelta(days=days)).isoformat()


async def test_a_phone_interview_uses_the_same_console(proxima):
    anne, case, _created, public_id = await planned_soon(proxima, modality="phone")
    worker = await connect(proxima, anne, public_id)
    await worker.send(type="fallback", reason="planned")
    phone = await worker.expect("phone")
    assert phone["person_phone"] == "06 12 34 56 78"
    await worker.send(type="end", phone_finished=True)
    await worker.expect("ended")
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    [log] = [e["data"] for e in record if e["kind"] == "session_log"]
    assert [t["mode"] for t in log["timeline"]] == ["phone"]
    assert log["end_reason"] == "phone_finished"
    assert list(log["participants"]) == [worker.inbox[0]["id"]]


async def test_a_person_who_chose_the_phone_is_called(proxima):
    anne, _case, created, public_id = await planned_soon(proxima)
    person = await connect(proxima, await guest(proxima, created["link"]), public_id)
    await consent(person, modality="phone")
    worker = await connect(proxima, anne, public_id)
    entry = (await worker.expect("lobby"))["waiting"][0]
    assert entry["consent"]["modality"] == "phone"
    await worker.send(type="admit", participant=entry["id"])
    assert (await worker.expect("phone"))["person_phone"] == "06 12 34 56 78"
    assert (await person.expect("phone"))["person_phone_end"] == "78"
    assert all(m["type"] != "admitted" for m in person.inbox)
