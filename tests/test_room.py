"""A room, not a pair: three participants (the worker and two browsers of one invitation) in full
mesh — each link announced to both ends with one polite side, negotiation relayed on every link,
chat to all, a departure told to all; and the room's live state read back after a restart."""

from __future__ import annotations

from live_helpers import FAKE_SDP, connect, consent, guest, planned_soon

from server.domain.ids import ParticipantId
from server.domain.topology import Mesh

PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/156.0 Mobile Safari/537.36"
LAPTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"


def test_the_mesh_decides_who_offers_once_for_every_pair():
    w, g1, g2 = ParticipantId.worker(3), ParticipantId.browser(7), ParticipantId.browser(9)
    links = Mesh().links_for(g2, [w, g1, g2])
    assert {(str(link.impolite), str(link.polite)) for link in links} == {("w:3", "g:9"),
                                                                          ("g:7", "g:9")}
    assert Mesh.link(g1, g2) == Mesh.link(g2, g1)
    assert ParticipantId.parse("g:7") == g1 and str(g1) == "g:7"


async def admitted(wire, count):
    """The next ``count`` admitted messages, by peer."""
    got = {}
    while len(got) < count:
        msg = await wire.expect("admitted")
        got[msg["peer"]] = msg
    return got


async def three_in_a_room(proxima):
    anne, _case, created, public_id = await planned_soon(proxima)
    browsers = {"Android phone": await guest(proxima, created["link"], PHONE_UA),
                "Windows computer": await guest(proxima, created["link"], LAPTOP_UA)}
    phone = await connect(proxima, browsers["Android phone"], public_id)
    laptop = await connect(proxima, browsers["Windows computer"], public_id)
    await consent(phone)
    await consent(laptop)
    worker = await connect(proxima, anne, public_id)
    lobby = await worker.expect("lobby")
    while len(lobby["waiting"]) < 2:
        lobby = await worker.expect("lobby")
    by_device = {w["device"]: w["id"] for w in lobby["waiting"]}
    g1, g2 = sorted(by_device.values(), key=lambda pid: int(pid[2:]))
    wires = {g1: phone if by_device["Android phone"] == g1 else laptop,
             g2: laptop if by_device["Android phone"] == g1 else phone}
    for device, pid in by_device.items():
        wires[pid].client = browsers[device]  # type: ignore[attr-defined]  # to come back
    w = worker.inbox[0]["id"]
    return anne, created, public_id, worker, w, g1, g2, wires


async def test_three_participants_connect_in_full_mesh(proxima):
    _anne, created, _public_id, worker, w, g1, g2, wires = await three_in_a_room(proxima)
    await worker.send(type="admit", participant=g1)
    assert (await admitted(wires[g1], 1))[w]["polite"] is True
    assert (await admitted(worker, 1))[g1]["polite"] is False
    await worker.send(type="admit", participant=g2)
    # The newcomer links with both; each of the others links with the newcomer.
    to_g2 = await admitted(wires[g2], 2)
    assert to_g2[w]["polite"] is True and to_g2[g1]["polite"] is True
    assert (await admitted(wires[g1], 1))[g2]["polite"] is False
    assert (await admitted(worker, 1))[g2]["polite"] is False
    lobby = await worker.expect("lobby")
    assert sorted(a["id"] for a in lobby["admitted"]) == [g1, g2]

    # Negotiation is relayed on the browser-to-browser link too, with its sender.
    await wires[g1].send(type="signal", to=g2, description={"type": "offer", "sdp": FAKE_SDP})
    relayed = await wires[g2].expect("signal")
    assert relayed["from"] == g1 and relayed["description"]["type"] == "offer"
    # Chat reaches all three; media state reaches the two others.
    await wires[g2].send(type="chat", text="Bonjour à tous")
    for wire in (worker, wires[g1], wires[g2]):
        assert (await wire.expect("chat"))["from"] == g2
    await worker.send(type="media", audio=False, video=True)
    for pid in (g1, g2):
        assert (await wires[pid].expect("media"))["from"] == w
    # One leaves: both others are told.
    await wires[g1].ws.close()
    assert (await worker.expect("peer_left"))["peer"] == g1
    assert (await wires[g2].expect("peer_left"))["peer"] == g1
    # The log names all three.
    await worker.send(type="end")
    await wires[g2].expect("ended")
    session = await proxima.store.interviews.latest(created["appointment"]["id"])
    assert set(session.log.participants) == {w, g1, g2}


async def test_a_room_is_read_back_after_a_restart(proxima):
    anne, _created, public_id, worker, w, g1, g2, wires = await three_in_a_room(proxima)
    await worker.send(type="admit", participant=g1)
    await admitted(worker, 1)
    await proxima.restart()
    # Every page reconnects as the same participant and resumes; the call is still the call.
    back = await connect(proxima, anne, public_id, resume=True)
    assert back.inbox[0]["state"] == "in_call"
    phone = await connect(proxima, wires[g1].client, public_id, resume=True)
    assert phone.inbox[0]["state"] == "in_call"
    await phone.send(type="signal", to=w, description={"type": "offer", "sdp": FAKE_SDP})
    assert (await back.expect("signal"))["from"] == g1
    # The browser never let in stays out.
    other = await connect(proxima, wires[g2].client, public_id)
    assert other.inbox[0]["state"] == "waiting"
    await other.send(type="signal", to=w, description={"type": "offer", "sdp": FAKE_SDP})
    assert (await other.expect("error"))["code"] == "not_admitted"
