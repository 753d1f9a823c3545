"""Issue 10's acceptance: a group session of five, with media on every link (issue 10, items 2-5).

The facilitator and two persons are Chromium pages (the persons at 360 px, through their own
links); two more persons are aiortc peers speaking the protocol over a raw WebSocket, sending
video and sound (aiortc's VideoStreamTrack and AudioStreamTrack): five participants on two cores.
The group is planned through the API; each person consents with the group's rule and waits; the
facilitator lets everyone in with one click. Then: each of the ten links carries media both ways
(frames decoded at the receiving end: getStats in Chromium, decoded frames in aiortc; the two
ends of a link paired by their DTLS fingerprints); three hands keep the order they went up in,
for the facilitator and the others; "mute" (one, then all) turns the persons' microphones off and
turns nobody's on; "remove" refuses the person's link and cookie on HTTP and at the WebSocket;
the break turns every camera and microphone off, counts down, and brings everyone back; the
attendance CSV has the right rows and times (the server's wall clock is moved by the test); each
person's case record holds the session and no other person's name. The budget check (getStats
per link as the room grows) is tests/test_group_pages.py's.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import fractions
import io
import itertools
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import av
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import (
    VIDEO_CLOCK_RATE,
    VIDEO_TIME_BASE,
    AudioStreamTrack,
    MediaStreamError,
    VideoStreamTrack,
)
from aiortc.sdp import candidate_from_sdp
from conftest import eventually, login_in_browser, new_case
from live_helpers import RECORD_PEER_CONNECTIONS, Wire, connect, consent, guest, to_consent
from playwright.async_api import expect

from server.base import clock

PARIS = ZoneInfo("Europe/Paris")
RULE = "Ce qui est dit dans le groupe reste dans le groupe."
# The first two in Chromium, the other two as aiortc peers.
PEOPLE = [("GA-101", "Fatou Diallo"), ("GA-102", "Karim Benali"),
          ("GA-103", "Sophie Lefèvre"), ("GA-104", "Yasmine Haddad")]
FACILITATOR = "Anne Martin"

# Each peer connection's ends (the DTLS fingerprints of its local and remote descriptions: a
# browser keeps one of the several an aiortc description gives) and the video frames it decoded.
LINK_ENDS = """async () => Promise.all((window.__pcs || []).map(async pc => {
    const fingerprints = d => d ? Array.from(
        d.sdp.matchAll(/a=fingerprint:(\\S+) (\\S+)/g),
        m => m[1].toLowerCase() + ' ' + m[2].toUpperCase()) : [];
    let frames = 0;
    try {
        (await pc.getStats()).forEach(s => {
            if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
        });
    } catch (e) { /* closed */ }
    return {local: fingerprints(pc.localDescription), remote: fingerprints(pc.remoteDescription),
            frames};
}))"""

MIC_ON = ("() => document.getElementById('local-video').srcObject"
          ".getAudioTracks().every(t => t.enabled)")
CAM_ON = ("() => document.getElementById('local-video').srcObject"
          ".getVideoTracks().every(t => t.enabled)")


@pytest.fixture(autouse=True)
def patient_expect() -> Any:
    """Five participants on two cores, two of them aiortc peers on the server's own event loop:
    a page's answer may take longer than Playwright's 5 s. Each check still polls, and passes
    as soon as its condition holds."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=None)


@dataclass(frozen=True)
class End:
    """One end of a link: its own fingerprints, the other end's, and the video frames it
    decoded."""

    local: frozenset[str]
    remote: frozenset[str]
    frames: int

    @classmethod
    def of(cls, local: Any, remote: Any, frames: int) -> End:
        return cls(frozenset(local), frozenset(remote), frames)


def fingerprints(sdp: str) -> list[str]:
    return [f"{alg.lower()} {value.upper()}"
            for alg, value in re.findall(r"a=fingerprint:(\S+) (\S+)", sdp)]


def links(ends: dict[str, list[End]]) -> dict[tuple[str, str], tuple[int, int]]:
    """For each pair of participants, the frames each end of their link decoded from the other
    ((0, 0) when they have no link): two peer connections are the ends of one link when each
    one's remote fingerprint is one of the other's own."""
    found = {}
    for a, b in itertools.combinations(ends, 2):
        pairs = [(x.frames, y.frames) for x in ends[a] for y in ends[b]
                 if x.remote & y.local and y.remote & x.local]
        found[(a, b)] = max(pairs, key=min, default=(0, 0))
    return found


def ice_restart(pc: RTCPeerConnection, offer: dict[str, str]) -> bool:
    """Whether an offer restarts ICE: other ICE credentials than the connection's."""
    def ufrag(sdp: str) -> str:
        found = re.search(r"a=ice-ufrag:(\S+)", sdp)
        return found.group(1) if found else ""
    return pc.remoteDescription is not None and ufrag(offer["sdp"]) != ufrag(
        pc.remoteDescription.sdp)


class SmallVideo(VideoStreamTrack):
    """aiortc's test track at 320x240 and 15 frames a second (its own is 640x480 at 30), what a
    page sends from three links on: the two aiortc persons encode and decode in the test's own
    process, on the event loop the server shares, so they must leave it time to answer."""

    FRAME_TICKS = VIDEO_CLOCK_RATE // 15

    async def next_timestamp(self) -> tuple[int, fractions.Fraction]:
        if self.readyState != "live":
            raise MediaStreamError
        if hasattr(self, "_timestamp"):
            self._timestamp += self.FRAME_TICKS
            # Media pacing (the track's frame rate), as aiortc's own tracks do; not a test wait.
            await asyncio.sleep(self._start + self._timestamp / VIDEO_CLOCK_RATE - time.time())
        else:
            self._start = time.time()
            self._timestamp = 0
        return self._timestamp, VIDEO_TIME_BASE

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=320, height=240)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.pts, frame.time_base = pts, time_base
        return frame


class AiortcPerson:
    """A person's browser played by aiortc over a raw WebSocket: one peer connection per member
    of the call, each sending video and sound and decoding what it receives. Negotiation as
    the pages do it: the impolite end offers first, the polite one waits; an impolite end
    making its own offer ignores an incoming one."""

    def __init__(self, name: str, client: Any, wire: Wire, public_id: str,
                 invitation: str) -> None:
        self.name, self.client, self.wire, self.public_id = name, client, wire, public_id
        self.invitation = invitation  # the link in their invitation
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.polite: dict[str, bool] = {}
        self.pending: dict[str, list[Any]] = {}
        self.frames: dict[RTCPeerConnection, int] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.restarts = 0
        self.reader = asyncio.ensure_future(self.run())

    def received(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.wire.inbox if m["type"] == kind]

    def ends(self) -> list[End]:
        return [End.of(fingerprints(pc.localDescription.sdp if pc.localDescription else ""),
                       fingerprints(pc.remoteDescription.sdp if pc.remoteDescription else ""),
                       self.frames.get(pc, 0)) for pc in self.pcs.values()]

    async def run(self) -> None:
        while (msg := await self.wire.next(timeout=600))["type"] != "_closed":
            if msg["type"] == "admitted":
                await self.link(msg["peer"], msg["polite"])
            elif msg["type"] == "signal" and msg["from"] in self.pcs:
                await self.signal(msg["from"], self.pcs[msg["from"]], msg)

    async def link(self, peer: str, polite: bool) -> None:
        pc = await self.new_connection(peer, polite)
        if not polite:
            await pc.setLocalDescription(await pc.createOffer())
            await self.send_description(peer, pc)

    async def new_connection(self, peer: str, polite: bool) -> RTCPeerConnection:
        if peer in self.pcs:
            await self.pcs.pop(peer).close()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # never a public STUN server
        self.pcs[peer], self.polite[peer], self.pending[peer] = pc, polite, []
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(SmallVideo())
        pc.on("track", lambda track: self.consume(pc, track))
        return pc

    def consume(self, pc: RTCPeerConnection, track: Any) -> None:
        async def count() -> None:
            while True:
                await track.recv()
                if track.kind == "video":
                    self.frames[pc] = self.frames.get(pc, 0) + 1
        task = asyncio.ensure_future(count())
        self.tasks.add(task)

    async def send_description(self, peer: str, pc: RTCPeerConnection) -> None:
        d = pc.localDescription
        await self.wire.send(type="signal", to=peer, description={"type": d.type, "sdp": d.sdp})

    async def signal(self, peer: str, pc: RTCPeerConnection, msg: dict[str, Any]) -> None:
        if msg.get("description"):
            offer = msg["description"]["type"] == "offer"
            if offer and pc.signalingState != "stable" and not self.polite[peer]:
                return  # a collision: the impolite end keeps its own offer
            if offer and (pc.signalingState == "closed" or ice_restart(pc, msg["description"])):
                # aiortc cannot restart ICE (a page asks when nothing arrived for a few
                # seconds): a new connection answers the restart's offer.
                self.restarts += 1
                pc = await self.new_connection(peer, self.polite[peer])
            await pc.setRemoteDescription(RTCSessionDescription(**msg["description"]))
            for candidate in self.pending.pop(peer, []):
                await pc.addIceCandidate(candidate)
            if offer:
                await pc.setLocalDescription(await pc.createAnswer())
                await self.send_description(peer, pc)
        elif (msg.get("candidate") or {}).get("candidate"):
            c = msg["candidate"]
            candidate = candidate_from_sdp(c["candidate"].split(":", 1)[1])
            candidate.sdpMid, candidate.sdpMLineIndex = c.get("sdpMid"), c.get("sdpMLineIndex")
            if pc.remoteDescription is None:
                self.pending[peer].append(candidate)
            else:
                await pc.addIceCandidate(candidate)

    async def close(self) -> None:
        self.reader.cancel()
        for task in self.tasks:
            task.cancel()
        for pc in self.pcs.values():
            await pc.close()


class Wall:
    """The server's wall clock (clock.now), moved by the test, so the sheet's times are exact."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.start = self.at = clock.now()
        monkeypatch.setattr(clock, "now", lambda: self.at)

    def to(self, minutes: int) -> None:
        self.at = self.start + dt.timedelta(minutes=minutes)

    def local(self, minutes: int) -> str:
        return (self.start + dt.timedelta(minutes=minutes)).astimezone(PARIS).strftime(
            "%Y-%m-%d %H:%M")


async def plan(proxima: Any) -> dict[str, Any]:
    """The facilitator, four persons of four cases, and their group starting in five minutes."""
    anne = await proxima.worker("anne@example.org", FACILITATOR, role="facilitator")
    cases = [await new_case(anne, reference=ref, person_name=name, email="")
             for ref, name in PEOPLE]
    start = dt.datetime.now(PARIS) + dt.timedelta(minutes=5)
    created = await anne.json("POST", "/api/groups", {
        "title": "Atelier emploi", "date": start.strftime("%Y-%m-%d"),
        "time": start.strftime("%H:%M"), "modality": "video", "duration_minutes": 90,
        "agenda": [{"title": "Tour de table", "minutes": 15},
                   {"title": "Chercher un emploi", "minutes": 45}],
        "rule": RULE, "speaking_rules": "Levez la main pour parler.",
        "incident_phone": "01 23 45 67 89",
        "people": [{"case_id": c["id"]} for c in cases], "workers": []}, status=201)
    by_appointment = {x["appointment_id"]: x["link"] for x in created["links"]}
    people = []
    for case in cases:
        [appointment] = [a for a in [await proxima.store.appointments.get(i)
                                     for i in by_appointment] if a.case_id == case["id"]]
        people.append({"case": case, "appointment": appointment,
                       "link": by_appointment[appointment.id]})
    return {"anne": anne, "group": created["group"], "people": people}


async def facilitator_page(proxima: Any, new_context: Any, group_id: int) -> Any:
    """The facilitator's room at laptop size, logged in, the readiness checklist ticked."""
    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1280, "height": 900})
    await context.add_init_script(RECORD_PEER_CONNECTIONS)
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Remove X from the session?"
    await login_in_browser(page, proxima.url)
    await page.goto(proxima.url + f"/groups/{group_id}/live")
    await page.get_by_label("Je suis dans un endroit calme").check()
    await page.get_by_label(re.compile("Personne ne peut entendre")).check()
    await page.get_by_role("button", name="Je suis prêt·e").click()
    return page


async def person_page(new_context: Any, link: str) -> Any:
    """A person's phone (360 px) on their own link, consenting with the group's rule."""
    context = await new_context(ignore_https_errors=True, locale="fr-FR", is_mobile=True,
                                viewport={"width": 360, "height": 740})
    await context.add_init_script(RECORD_PEER_CONNECTIONS)
    page = await context.new_page()
    await page.goto(link)
    await to_consent(page)  # one step per screen: from the arrival to the consent
    await expect(page.get_by_text(RULE)).to_be_visible()
    await page.get_by_label("J'accepte la règle du groupe").check()
    await page.get_by_label(re.compile("J'accepte d'être avec les autres")).check()
    # Video all along: on two shared cores a link can look weak enough for the page to go
    # sound only by itself (the person's choice, ticked by default).
    await page.get_by_label("Si la vidéo marche mal, passer au son seulement").uncheck()
    await page.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
    await expect(page.get_by_role("heading", name="Salle d'attente")).to_be_visible()
    return page


async def aiortc_person(proxima: Any, name: str, link: str, public_id: str) -> AiortcPerson:
    """A person who opened their link, consented with the rule and the others' presence, and
    waits."""
    client = await guest(proxima, link)
    wire = await connect(proxima, client, public_id)
    await consent(wire, rule_accepted=True, others_accepted=True)
    await wire.expect("waiting")
    return AiortcPerson(name, client, wire, public_id, link)


@dataclass
class Room:
    anne: Any  # the facilitator's page
    pages: dict[str, Any]  # the persons' Chromium pages, by name
    peers: dict[str, AiortcPerson]  # the aiortc persons, by name

    async def links(self) -> dict[tuple[str, str], tuple[int, int]]:
        ends = {FACILITATOR: [End.of(**e) for e in await self.anne.evaluate(LINK_ENDS)]}
        for name, page in self.pages.items():
            ends[name] = [End.of(**e) for e in await page.evaluate(LINK_ENDS)]
        for name, peer in self.peers.items():
            if peer.reader.done() and not peer.reader.cancelled() and peer.reader.exception():
                raise AssertionError(f"{name}'s aiortc peer stopped") from peer.reader.exception()
            ends[name] = peer.ends()
        return links(ends)


async def test_five_participants_with_media_on_every_link(make_proxima, new_context,
                                                          monkeypatch):
    proxima = await make_proxima(session_idle_minutes=600)
    planned = await plan(proxima)
    wall = Wall(monkeypatch)
    people = planned["people"]
    anne = await facilitator_page(proxima, new_context, planned["group"]["id"])
    pages = {p["case"]["person_name"]: await person_page(new_context, p["link"])
             for p in people[:2]}
    peers: dict[str, AiortcPerson] = {}
    try:
        for p in people[2:]:
            name = p["case"]["person_name"]
            peers[name] = await aiortc_person(proxima, name, p["link"],
                                              p["appointment"].public_id)
        room = Room(anne, pages, peers)
        await everyone_in_with_media(room, wall)
        await hands_keep_their_order(room)
        await mute_one_then_all(room)
        await a_break_and_everyone_back(room)
        await remove_a_person(proxima, room, wall)
        wall.to(47)
        await anne.get_by_role("button", name="Terminer la séance").click()
        for page in pages.values():
            await expect(page.get_by_role("heading", name=re.compile("terminé", re.I))
                         ).to_be_visible(timeout=20000)
        await attendance_sheet(planned, wall)
        await records(planned)
    finally:
        for peer in peers.values():
            await peer.close()


async def everyone_in_with_media(room: Room, wall: Wall) -> None:
    """Four persons wait; one click lets them all in; each of the ten links carries video both
    ways."""
    await expect(room.anne.locator("#lobby-list li")).to_have_count(4, timeout=20000)
    wall.to(1)
    await room.anne.get_by_role("button", name="Faire entrer tout le monde").click()
    await expect(room.anne.locator("#lobby-empty")).to_be_visible()

    async def all_links_flow() -> dict[tuple[str, str], tuple[int, int]] | None:
        found = await room.links()
        return found if all(min(frames) >= 10 for frames in found.values()) else None

    try:
        flowing = await eventually(all_links_flow, timeout=90, interval=0.5)
    except AssertionError:
        raise AssertionError(f"links not all carrying video: {await room.links()}") from None
    assert len(flowing) == 10
    for page in (room.anne, *room.pages.values()):
        await expect(page.locator("#grid .tile")).to_have_count(5)


def hands_seen(peer: AiortcPerson) -> list[str]:
    return [h["name"] for h in peer.received("group_state")[-1]["hands"]]


async def hands_keep_their_order(room: Room) -> None:
    """Karim (Chromium), Sophie (aiortc), then Fatou (Chromium) raise their hands, each after
    the previous one is in the queue: the facilitator and the others see that order, and it
    holds when the first is given the floor."""
    fatou, karim = room.pages["Fatou Diallo"], room.pages["Karim Benali"]
    sophie, yasmine = room.peers["Sophie Lefèvre"], room.peers["Yasmine Haddad"]
    hands = room.anne.locator("#hands-list li")
    await karim.get_by_role("button", name="Lever la main").click()
    await expect(hands).to_have_count(1)
    await sophie.wire.send(type="hand", raised=True)
    await expect(hands).to_have_count(2)
    await fatou.get_by_role("button", name="Lever la main").click()
    await expect(hands).to_have_count(3)
    order = ["Karim Benali", "Sophie Lefèvre", "Fatou Diallo"]
    assert await hands.locator(".who").all_inner_texts() == order
    await eventually(lambda: hands_seen(yasmine) == order)
    await eventually(lambda: hands_seen(sophie) == order)
    await expect(karim.locator("#floor-status")).to_contain_text("numéro 1")
    await expect(fatou.locator("#floor-status")).to_contain_text("numéro 3")
    await room.anne.get_by_role("button", name="Donner la parole à Karim Benali").click()
    await expect(hands).to_have_count(2)
    assert await hands.locator(".who").all_inner_texts() == order[1:]
    await eventually(lambda: hands_seen(yasmine) == order[1:])
    await expect(fatou.locator("#floor-status")).to_contain_text("Karim Benali a la parole")
    await expect(fatou.locator("#floor-status")).to_contain_text("numéro 2")


async def mute_one_then_all(room: Room) -> None:
    """Fatou is asked to mute: her microphone turns off, nobody else's; then everyone is asked:
    Karim's turns off, the aiortc persons are asked, the facilitator's own stays on; Fatou's
    stays off, and Karim turns his back on himself. No message turns someone else's on."""
    fatou, karim = room.pages["Fatou Diallo"], room.pages["Karim Benali"]
    await room.anne.get_by_role("button", name="Fatou Diallo : Demander de couper le micro").click()
    await expect(fatou.locator("#mute-notice")).to_contain_text("Anne Martin vous a demandé")
    await eventually(lambda: _off(fatou, MIC_ON))
    assert await karim.evaluate(MIC_ON) is True
    assert await room.anne.evaluate(MIC_ON) is True
    assert all(not p.received("mute_request") for p in room.peers.values())

    await room.anne.get_by_role("button", name="Demander à tous de couper leur micro").click()
    await eventually(lambda: _off(karim, MIC_ON))
    for peer in room.peers.values():
        await eventually(lambda p=peer: p.received("mute_request"))
        assert peer.received("mute_request") == [
            {"type": "mute_request", "from": room_host(peer), "name": FACILITATOR}]
    assert await room.anne.evaluate(MIC_ON) is True
    assert await fatou.evaluate(MIC_ON) is False
    await karim.get_by_role("button", name=re.compile("(Rallumer|Allumer) le micro")).click()
    assert await karim.evaluate(MIC_ON) is True
    # There is no message by which anyone turns another's microphone on.
    sophie = room.peers["Sophie Lefèvre"]
    await sophie.wire.send(type="unmute", participant="")
    await eventually(lambda: any(e["code"] == "unknown_type" for e in sophie.received("error")))


def room_host(peer: AiortcPerson) -> str:
    """The facilitator's participant id, as the person's socket saw it admitted."""
    [host] = {m["peer"] for m in peer.received("admitted") if m["peer"].startswith("w:")}
    return host


async def _off(page: Any, script: str) -> bool:
    return await page.evaluate(script) is False


async def a_break_and_everyone_back(room: Room) -> None:
    """A two-minute break: every camera and microphone off, a countdown that counts; then
    everyone back with only what they had on (Fatou's microphone stays off)."""
    chromium = {FACILITATOR: room.anne, **room.pages}
    await room.anne.get_by_label("Durée de la pause (minutes)").fill("2")
    await room.anne.get_by_role("button", name="Commencer la pause").click()
    for page in chromium.values():
        await expect(page.locator("#break-screen")).to_be_visible()
        await expect(page.locator("#break-countdown")).to_contain_text(
            re.compile(r"Reprise dans [12]:\d\d"))
        await eventually(lambda p=page: _off(p, MIC_ON))
        await eventually(lambda p=page: _off(p, CAM_ON))
    for peer in room.peers.values():
        await eventually(lambda p=peer: p.received("break_started"))
        started = peer.received("break_started")[0]
        assert started["minutes"] == 2 and 0 < started["remaining_seconds"] <= 120
    countdown = room.pages["Karim Benali"].locator("#break-countdown")
    first = int(await countdown.get_attribute("data-seconds") or 0)
    await eventually(lambda: _below(countdown, first))

    await room.anne.get_by_role("button", name="Reprendre : tout le monde revient").click()
    for page in chromium.values():
        await expect(page.locator("#break-screen")).to_be_hidden()
    for peer in room.peers.values():
        await eventually(lambda p=peer: p.received("break_over"))
    on = {name: (await page.evaluate(MIC_ON), await page.evaluate(CAM_ON))
          for name, page in chromium.items()}
    assert on == {FACILITATOR: (True, True), "Fatou Diallo": (False, True),
                  "Karim Benali": (True, True)}


async def _below(countdown: Any, seconds: int) -> bool:
    return int(await countdown.get_attribute("data-seconds") or seconds) < seconds


async def remove_a_person(proxima: Any, room: Room, wall: Wall) -> None:
    """Yasmine is removed at minute 20: her socket is told and closed; her link and her
    cookie are refused on HTTP (the revoked page) and at the WebSocket's upgrade."""
    yasmine = room.peers.pop("Yasmine Haddad")
    try:
        gone = yasmine.wire.inbox[0]["id"]  # her welcome
        wall.to(20)
        await room.anne.get_by_role("button", name="Yasmine Haddad : Retirer de la séance").click()
        await eventually(lambda: yasmine.reader.done())
        assert yasmine.received("ended")[-1]["reason"] == "removed"
        assert yasmine.wire.ws.close_code == 4403
    finally:
        await yasmine.close()
    sophie = room.peers["Sophie Lefèvre"]
    await eventually(lambda: any(m["peer"] == gone for m in sophie.received("peer_left")))
    row = room.anne.locator("#attendance-rows tr", has_text="Yasmine Haddad")
    await expect(row.locator(".departure")).to_have_text(re.compile(r"\d\d:\d\d"))

    for path in (yasmine.invitation.replace(proxima.url, ""), f"/rdv/{yasmine.public_id}"):
        response = await yasmine.client.request("GET", path, headers={"Accept": "text/html"})
        assert response.status == 410, path
        assert "Ce lien ne marche plus" in await response.text(), path
    url = proxima.url.replace("https://", "wss://") + f"/ws/{yasmine.public_id}"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await yasmine.client.session.ws_connect(url, origin=proxima.url)
    assert refused.value.status == 403


async def attendance_sheet(planned: dict[str, Any], wall: Wall) -> None:
    """One row per stay: everyone from minute 1 (one click let them in) to the end at 47,
    Yasmine until her removal at 20."""
    response = await planned["anne"].request(
        "GET", f"/api/groups/{planned['group']['id']}/attendance.csv",
        headers={"Accept": "text/csv"})
    assert response.status == 200
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig")),
                           delimiter=";"))
    assert rows[0] == ["Nom", "Rôle", "Arrivée", "Départ", "Minutes", "Par téléphone"]
    whole = [wall.local(1), wall.local(47), "46", "non"]
    assert rows[1:] == [
        [FACILITATOR, "Animateur·rice", *whole],
        ["Fatou Diallo", "Participant·e", *whole],
        ["Karim Benali", "Participant·e", *whole],
        ["Sophie Lefèvre", "Participant·e", *whole],
        ["Yasmine Haddad", "Participant·e", wall.local(1), wall.local(20), "19", "non"]]


async def records(planned: dict[str, Any]) -> None:
    """Each person's case record holds the session, their own stay, and nobody else of the
    group: no other person's name (nor a word of it) or case reference, in the whole JSON of
    the case and in its page."""
    anne = planned["anne"]
    for i, person in enumerate(planned["people"]):
        case_id = person["case"]["id"]
        body = await anne.json("GET", f"/api/cases/{case_id}")
        [part] = [e["data"] for e in body["record"] if e["kind"] == "group_session"]
        assert part["attended"] is True and part["participants"] == 5
        assert part["duration_seconds"] == 46 * 60
        assert len(part["attendance"]["stays"]) == 1
        page = await anne.request("GET", f"/cases/{case_id}", headers={"Accept": "text/html"})
        assert page.status == 200
        html = await page.text()
        assert "Séance de groupe" in html
        texts = [json.dumps(body, ensure_ascii=False), json.dumps(body), html]
        for j, (reference, name) in enumerate(PEOPLE):
            if j == i:
                continue
            for word in (reference, name, *name.split()):
                for text in texts:
                    assert word.casefold() not in text.casefold(), (PEOPLE[i][1], "holds", word)
