"""A group session's live pages in Chromium (issue 10, items 3, 4 and 6): the facilitator's room
(/groups/{id}/live) and the persons' pages, each through their own link.

The persons consent with the group's rule, the facilitator lets everyone in, and each person's
page shows every participant in a grid that fits a 360 px screen; raised hands reach the
facilitator in order, a mute request turns a microphone off and says so, a break shows its
countdown and everyone comes back; the pages pass axe. The media budget is measured with
getStats: a sender's per-link video bitrate goes down as the room grows, and its whole upstream
stays within upstream_kbps.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from conftest import axe_violations, eventually, login_in_browser, new_case
from live_helpers import RECORD_PEER_CONNECTIONS, connect, consent, guest, to_consent
from playwright.async_api import expect

from server.domain.room import RoomRef
from server.live.timers import ManualRoomClock

PEOPLE = [("GRP-11", "Fatou Diallo"), ("GRP-12", "Karim Benali"), ("GRP-13", "Sophie Lefèvre"),
          ("GRP-14", "Lucas Girard"), ("GRP-15", "Awa Sow")]
RULE = "Ce qui est dit dans le groupe reste dans le groupe."
CONSENT = "J'accepte : aller dans la salle d'attente"


async def group_soon(proxima: Any, people: int) -> dict[str, Any]:
    """A facilitator and a group session starting in a few minutes, with ``people`` persons from
    the facilitator's cases; each person's link."""
    anne = await proxima.worker("anne@example.org", "Anne Martin", role="facilitator")
    cases = [await new_case(anne, reference=ref, person_name=name, email="")
             for ref, name in PEOPLE[:people]]
    start = dt.datetime.now(ZoneInfo("Europe/Paris")) + dt.timedelta(minutes=5)
    form = {"title": "Atelier logement", "date": start.strftime("%Y-%m-%d"),
            "time": start.strftime("%H:%M"), "modality": "video", "duration_minutes": 90,
            "agenda": [{"title": "Tour de table", "minutes": 15},
                       {"title": "Vos droits au logement", "minutes": 40},
                       {"title": "Questions", "minutes": 20}],
            "rule": RULE, "speaking_rules": "Levez la main pour parler.",
            "incident_phone": "01 23 45 67 89",
            "people": [{"case_id": c["id"]} for c in cases], "workers": []}
    created = await anne.json("POST", "/api/groups", form, status=201)
    return {"anne": anne, "group": created["group"], "links": created["links"]}


async def facilitator_page(proxima: Any, new_context: Any, group_id: int) -> Any:
    """The facilitator's room, logged in, readiness checklist ticked (laptop size)."""
    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                timezone_id="Europe/Paris",
                                viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Remove X from the session?"
    await login_in_browser(page, proxima.url)
    await page.goto(proxima.url + f"/groups/{group_id}/live")
    await page.get_by_label("Je suis dans un endroit calme").check()
    await page.get_by_label(re.compile("Personne ne peut entendre")).check()
    await page.get_by_role("button", name="Je suis prêt·e").click()
    return page


async def person_page(new_context: Any, link: str, init_script: str = "") -> Any:
    """A person's phone (360 px), through their own link, consenting with the group's rule."""
    context = await new_context(ignore_https_errors=True, locale="fr-FR", is_mobile=True,
                                viewport={"width": 360, "height": 740})
    if init_script:
        await context.add_init_script(init_script)
    page = await context.new_page()
    await page.goto(link)
    await to_consent(page)  # one step per screen: from the arrival to the consent
    await expect(page.get_by_text(RULE)).to_be_visible()
    # Not "switch to sound only if the video works badly": on a busy test machine a link may
    # look weak, and this test is about what the pages show.
    await page.get_by_label("Si la vidéo marche mal, passer au son seulement").uncheck()
    await page.get_by_label("J'accepte la règle du groupe").check()
    await page.get_by_label(re.compile("J'accepte d'être avec les autres")).check()
    await page.get_by_role("button", name=CONSENT).click()
    await expect(page.get_by_role("heading", name="Salle d'attente")).to_be_visible()
    return page


TILES_PLAYING = """() => Array.from(document.querySelectorAll('#grid .tile video'))
    .filter(v => v.videoWidth > 0).length"""


async def tiles_playing(page: Any, count: int) -> bool:
    """Every one of ``count`` tiles shows video (frames decoded)."""
    return await page.evaluate(TILES_PLAYING) == count


async def test_a_group_session_in_the_browser(make_proxima, new_context, screenshots):
    proxima = await make_proxima()
    g = await group_soon(proxima, 5)  # a group of 6, the facilitator included
    facilitator = await facilitator_page(proxima, new_context, g["group"]["id"])
    persons = [await person_page(new_context, x["link"]) for x in g["links"][:2]]
    # Three more persons with sound only, who receive no video either (aiortc: two cores
    # cannot run six Chromiums).
    others = [await aiortc_person(proxima, x["link"], x["appointment_id"], receive_video=False)
              for x in g["links"][2:]]
    for other in others:
        other.skip = {o.id for o in others}
    try:
        await room_in_the_browser(facilitator, persons, screenshots)
    finally:
        for other in others:
            await other.close()


async def room_in_the_browser(facilitator: Any, persons: list[Any], screenshots: Any) -> None:
    fatou, karim = persons
    # Everyone waits: one click lets them all in; the attendance sheet fills as they arrive.
    let_all = facilitator.get_by_role("button", name="Faire entrer tout le monde")
    await expect(let_all).to_be_visible()
    await let_all.click()
    await expect(facilitator.locator("#lobby-empty")).to_be_visible()
    sheet = facilitator.locator("#attendance-rows tr")
    await expect(sheet).to_have_count(6)  # the facilitator and the five persons
    for name in ("Anne Martin", *PEOPLE_NAMES):
        row = sheet.filter(has_text=name)
        await expect(row.locator(".arrival")).to_have_text(re.compile(r"\d\d:\d\d"))
    # Every page shows all six, with video from the Chromium pages; the sound-only members'
    # tiles say so. At 360 px the grid fits without scrolling sideways.
    for page in (facilitator, *persons):
        await expect(page.locator("#grid .tile")).to_have_count(6)
        await eventually(lambda: tiles_playing(page, 3), timeout=30)  # noqa: B023
        await expect(page.locator("#grid [data-mark=sound]")).to_have_count(3)
    for name in ("Anne Martin", *PEOPLE_NAMES[1:]):
        await expect(fatou.locator("#grid figcaption").filter(has_text=name)).to_have_count(1)
    for page in persons:
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert await page.evaluate("""() => Array.from(document.querySelectorAll('#grid .tile'))
            .every(t => t.getBoundingClientRect().right <= window.innerWidth)""")
    await fatou.locator("#call-step").screenshot(path=str(screenshots / "group-person-grid.png"))

    # Hands: Karim, then Fatou; the facilitator sees them in that order and gives the floor.
    await karim.get_by_role("button", name="Lever la main").click()
    await expect(karim.get_by_role("button", name="Baisser ma main")).to_be_visible()
    await fatou.get_by_role("button", name="Lever la main").click()
    hands = facilitator.locator("#hands-list li")
    await expect(hands).to_have_count(2)
    await expect(hands.nth(0)).to_contain_text(PEOPLE_NAMES[1])
    await expect(hands.nth(1)).to_contain_text(PEOPLE_NAMES[0])
    await expect(fatou.locator("#floor-status")).to_contain_text("numéro 2")
    await facilitator.get_by_role("button", name=f"Donner la parole à {PEOPLE_NAMES[1]}").click()
    await expect(karim.locator("#floor-status")).to_contain_text("Vous avez la parole")
    await expect(fatou.locator("#floor-status")).to_contain_text(
        f"{PEOPLE_NAMES[1]} a la parole")
    await expect(hands).to_have_count(1)
    await facilitator.screenshot(path=str(screenshots / "group-facilitator.png"), full_page=True)

    # Mute: Fatou is asked; her microphone goes off and her page says who asked.
    await facilitator.get_by_role(
        "button", name=f"{PEOPLE_NAMES[0]} : Demander de couper le micro").click()
    await expect(fatou.locator("#mute-notice")).to_contain_text("Anne Martin vous a demandé")
    await expect(fatou.get_by_role("button", name="Allumer le micro")).to_be_visible()
    assert await fatou.evaluate(MIC_ENABLED) is False

    # The break: a countdown on every page, camera and microphone off; then everyone back,
    # with only what was on before (Fatou's microphone stays off).
    await facilitator.get_by_label("Durée de la pause (minutes)").fill("2")
    await facilitator.get_by_role("button", name="Commencer la pause").click()
    for page in persons:
        await expect(page.locator("#break-screen")).to_be_visible()
        await expect(page.locator("#break-countdown")).to_contain_text(
            re.compile(r"Reprise dans [12]:"))
    assert await karim.evaluate(MIC_ENABLED) is False
    assert await karim.evaluate(CAM_ENABLED) is False
    await karim.locator("#call-step").screenshot(path=str(screenshots / "group-person-break.png"))
    await facilitator.get_by_role("button", name="Reprendre : tout le monde revient").click()
    for page in persons:
        await expect(page.locator("#break-screen")).to_be_hidden()
    assert await karim.evaluate(MIC_ENABLED) is True
    assert await karim.evaluate(CAM_ENABLED) is True
    assert await fatou.evaluate(MIC_ENABLED) is False
    assert await fatou.evaluate(CAM_ENABLED) is True

    for page in (facilitator, *persons):
        assert await axe_violations(page) == []

    # Remove Karim (confirmed): his page is cut off and says so; his link no longer works.
    await facilitator.get_by_role(
        "button", name=f"{PEOPLE_NAMES[1]} : Retirer de la séance").click()
    await expect(karim.locator("#ended-text")).to_have_text(
        "La personne qui anime a mis fin à votre participation à cette séance.")
    await karim.reload()
    await expect(karim.get_by_role("heading", name="Ce lien ne marche plus")).to_be_visible()
    await expect(facilitator.locator("#grid .tile")).to_have_count(5, timeout=40000)


PEOPLE_NAMES = [name for _, name in PEOPLE]
MIC_ENABLED = ("() => document.getElementById('local-video').srcObject"
               ".getAudioTracks().every(t => t.enabled)")
CAM_ENABLED = ("() => document.getElementById('local-video').srcObject"
               ".getVideoTracks().every(t => t.enabled)")


async def test_the_facilitators_tools(make_proxima, new_context, screenshots):
    """The agenda, the round, "by phone", "don't receive video", the reminders (on the room's
    manual clock: 45 minutes without a break, 10 minutes before the end) and the end."""
    room_clock = ManualRoomClock()
    proxima = await make_proxima(room_clock=room_clock)
    g = await group_soon(proxima, 2)
    facilitator = await facilitator_page(proxima, new_context, g["group"]["id"])
    fatou = await person_page(new_context, g["links"][0]["link"])
    let_in = facilitator.get_by_role("button", name=re.compile(r"^Faire entrer \("))
    await let_in.click()
    for page in (facilitator, fatou):
        await eventually(lambda: tiles_playing(page, 2), timeout=30)  # noqa: B023

    # The agenda item in progress, on both pages.
    await facilitator.get_by_role("button", name="Commencer : Vos droits au logement").click()
    await expect(facilitator.locator("#agenda-now")).to_contain_text(
        "En cours : Vos droits au logement")
    await expect(facilitator.locator("#agenda-list li[aria-current=step]")).to_contain_text(
        "Vos droits au logement")
    await expect(fatou.locator("#agenda-status")).to_have_text(
        "Maintenant : Vos droits au logement")

    # The sound-and-camera round: Fatou's turn; she answers; the facilitator reads it.
    await facilitator.get_by_role("button", name="Commencer le tour").click()
    await expect(fatou.locator("#round-status")).to_contain_text("est-ce que vous entendez")
    await fatou.get_by_role("button", name="Oui, j'entends et je vois").click()
    await expect(facilitator.locator("#round-now")).to_contain_text("Fatou Diallo entend et voit.")
    await facilitator.get_by_role("button", name="Finir le tour").click()
    await expect(fatou.locator("#round-box")).to_be_hidden()

    # Karim attends by phone (no browser of his): the facilitator ticks his line.
    karim = facilitator.get_by_label("Karim Benali participe par téléphone")
    await karim.check()
    group = await proxima.store.groups.get(g["group"]["id"])

    async def marked() -> bool:
        session = await proxima.store.interviews.active_in(RoomRef.of_group(group))
        return any(p.by_phone and p.name == "Karim Benali"
                   for p in session.log.participants.values())
    await eventually(marked)
    await expect(karim).to_be_checked()

    # "Don't receive video" on Fatou's phone: the facilitator's video stops coming, her tile
    # says "sound only"; and back.
    await fatou.get_by_role("button", name="Ne plus recevoir la vidéo").click()
    anne_tile = fatou.locator("#grid .tile").filter(has_text="Anne Martin")
    await expect(anne_tile.locator("[data-mark=sound]")).to_have_count(1, timeout=15000)
    await fatou.get_by_role("button", name="Recevoir de nouveau la vidéo").click()
    await expect(anne_tile.locator("[data-mark=sound]")).to_have_count(0, timeout=15000)

    # The reminders, as the room's clock moves: 45 minutes without a break, then the end near.
    await room_clock.advance(dt.timedelta(minutes=45))
    reminders = facilitator.locator("#reminders li")
    await expect(reminders).to_have_count(1)
    await expect(reminders.first).to_have_text(
        "45 minutes sans pause : c'est le moment d'une pause.")
    await room_clock.advance(dt.timedelta(minutes=40))
    await expect(reminders).to_have_count(2)
    await expect(reminders.first).to_contain_text("La séance finit dans 10 minutes")
    await facilitator.get_by_role("button", name="Commencer : Questions").click()
    # 85 minutes of the room's clock, less the few real seconds between the clock's start and
    # the admission that started the session.
    await expect(facilitator.locator("#elapsed")).to_contain_text(re.compile(r"^1:2[45]:"))
    await facilitator.screenshot(path=str(screenshots / "group-facilitator-reminders.png"),
                                 full_page=True)
    assert await axe_violations(facilitator) == []

    # The end: the facilitator's page goes to what comes next; Fatou's says it is over.
    await facilitator.get_by_role("button", name="Terminer la séance").click()
    await expect(facilitator.get_by_role("heading", name="La séance est terminée")).to_be_visible()
    await expect(fatou.get_by_role("heading", name="L'entretien est terminé")).to_be_visible()


# -- the media budget, measured with getStats --------------------------------------------------

class AiortcMember:
    """A member of the room driven by a raw WebSocket with aiortc underneath: it answers (or
    makes) each link's offer, sends sound only (no video, like a person who chose sound only) and
    receives, decoding, what the others send. Cheaper than another Chromium on two cores."""

    def __init__(self, wire: Any, receive_video: bool = True) -> None:
        self.wire = wire
        self.id = wire.inbox[0]["id"]  # from its welcome
        self.receive_video = receive_video
        # Members it leaves unlinked (other aiortc members: what they would send each other
        # costs the test's own process and shows nothing).
        self.skip: set[str] = set()
        self.pcs: dict[str, Any] = {}
        self.pending: dict[str, list[Any]] = {}
        self.lobby: dict[str, Any] = {"waiting": []}
        self.frames: dict[str, int] = {}
        self.errors: list[str] = []
        self.tasks: list[asyncio.Task[Any]] = []
        self.reader = asyncio.ensure_future(self.run())

    async def run(self) -> None:
        """Read its socket until it closes (reading also answers the server's pings)."""
        while True:
            msg = await self.wire.next(timeout=600)
            if msg["type"] == "_closed":
                return
            try:
                if msg["type"] == "lobby":
                    self.lobby = msg
                elif msg["type"] == "admitted" and msg["peer"] not in self.skip:
                    await self.link(msg["peer"], msg["polite"])
                elif msg["type"] == "signal":
                    await self.signal(msg)
            except Exception as exc:  # noqa: BLE001  # one link's trouble must not stop reading
                self.errors.append(f"{msg['type']} from {msg.get('from', '')}: {exc!r}")

    async def link(self, peer: str, polite: bool) -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection
        from aiortc.mediastreams import AudioStreamTrack
        if peer in self.pcs:
            await self.pcs.pop(peer).close()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # never a public STUN server
        self.pcs[peer] = pc
        self.pending[peer] = []
        pc.addTrack(AudioStreamTrack())
        pc.addTransceiver("video", direction="recvonly" if self.receive_video else "inactive")

        @pc.on("track")
        def on_track(track: Any) -> None:
            async def consume() -> None:
                while True:
                    await track.recv()
                    if track.kind == "video":
                        self.frames[peer] = self.frames.get(peer, 0) + 1
            self.tasks.append(asyncio.ensure_future(consume()))

        if not polite:
            await pc.setLocalDescription(await pc.createOffer())
            await self.send_description(peer, pc)

    async def send_description(self, peer: str, pc: Any) -> None:
        d = pc.localDescription
        await self.wire.send(type="signal", to=peer, description={"type": d.type, "sdp": d.sdp})

    async def signal(self, msg: dict[str, Any]) -> None:
        from aiortc import RTCSessionDescription
        from aiortc.sdp import candidate_from_sdp
        peer, pc = msg["from"], self.pcs.get(msg["from"])
        if pc is None:
            return
        if "description" in msg:
            await pc.setRemoteDescription(RTCSessionDescription(**msg["description"]))
            for candidate in self.pending.pop(peer, []):
                await pc.addIceCandidate(candidate)
            if msg["description"]["type"] == "offer":
                await pc.setLocalDescription(await pc.createAnswer())
                await self.send_description(peer, pc)
        elif msg.get("candidate", {}).get("candidate"):
            c = msg["candidate"]
            candidate = candidate_from_sdp(c["candidate"].split(":", 1)[1])
            candidate.sdpMid, candidate.sdpMLineIndex = c.get("sdpMid"), c.get("sdpMLineIndex")
            if pc.remoteDescription is None:
                self.pending.setdefault(peer, []).append(candidate)
            else:
                await pc.addIceCandidate(candidate)

    async def close(self) -> None:
        self.reader.cancel()
        for task in self.tasks:
            task.cancel()
        for pc in self.pcs.values():
            await pc.close()


# What this page sends over ``seconds``: each live link's video kbit/s, and the whole upstream
# (payload and RTP headers, sound and video, every link) in kbit/s.
UPSTREAM = """async (seconds) => {
    const live = window.__pcs.filter(pc => pc.connectionState === 'connected');
    const read = async () => Promise.all(live.map(async pc => {
        let video = 0, all = 0;
        (await pc.getStats()).forEach(s => {
            if (s.type !== 'outbound-rtp') return;
            all += s.bytesSent + (s.headerBytesSent || 0);
            if (s.kind === 'video') video += s.bytesSent;
        });
        return {video, all};
    }));
    const before = await read(), t0 = performance.now();
    await new Promise(resolve => setTimeout(resolve, seconds * 1000));
    const after = await read(), s = (performance.now() - t0) / 1000;
    const kbps = bytes => Math.round(bytes * 8 / 1000 / s);
    return {links: after.map((a, i) => kbps(a.video - before[i].video)),
            total: kbps(after.reduce((n, a, i) => n + a.all - before[i].all, 0))};
}"""

# Each live link's video cap, scaling and frame rate as the page set them (sender parameters).
CAPS = """() => window.__pcs.filter(pc => pc.connectionState === 'connected').map(pc => {
    const sender = pc.getSenders().find(s => s.track && s.track.kind === 'video');
    const e = sender ? sender.getParameters().encodings[0] || {} : {};
    return {maxBitrate: e.maxBitrate || 0, scale: e.scaleResolutionDownBy || 1,
            fps: e.maxFramerate || 0};
})"""


async def aiortc_person(proxima: Any, link: str, appointment_id: int,
                        receive_video: bool = True) -> AiortcMember:
    """A person's browser that opened their link, consented with the rule, and now waits."""
    appointment = await proxima.store.appointments.get(appointment_id)
    wire = await connect(proxima, await guest(proxima, link), appointment.public_id)
    await consent(wire, rule_accepted=True, others_accepted=True)
    await wire.expect("waiting")
    return AiortcMember(wire, receive_video)


async def test_each_browser_keeps_within_its_upstream_budget(make_proxima, new_context):
    """A person's page in a room of 2, then of 5 (the facilitator and three persons are aiortc
    members): its per-link video cap follows the budget, its measured per-link video bitrate goes
    down and its whole upstream stays within upstream_kbps. The budget is set low (600 kbit/s)
    so that it, not the bandwidth estimate on a busy machine, is what holds the page back."""
    budget = 600
    proxima = await make_proxima(upstream_kbps=budget)
    g = await group_soon(proxima, 4)
    group = await proxima.store.groups.get(g["group"]["id"])
    members: list[AiortcMember] = []
    try:
        host = AiortcMember(await connect(proxima, g["anne"], group.public_id))
        members.append(host)
        page = await person_page(new_context, g["links"][0]["link"], RECORD_PEER_CONNECTIONS)
        await eventually(lambda: len(host.lobby["waiting"]) == 1)
        await host.wire.send(type="admit", participant=host.lobby["waiting"][0]["id"])

        async def sending(links: int, least_kbps: int) -> Any:
            """Once every link carries video, at least ``least_kbps`` each: the page's figures."""
            figures = await page.evaluate(UPSTREAM, 2)
            return figures if len(figures["links"]) == links and min(
                figures["links"]) >= least_kbps else None

        two = await eventually(lambda: sending(1, 250), timeout=40)
        assert await page.evaluate(CAPS) == [{"maxBitrate": 500000, "scale": 1, "fps": 0}]
        for x in g["links"][1:]:
            members.append(await aiortc_person(proxima, x["link"], x["appointment_id"]))
        await eventually(lambda: len(host.lobby["waiting"]) == 3)
        await host.wire.send(type="admit_all")
        await eventually(lambda: sending(4, 10), timeout=40)
        # 600 kbit/s over 4 links: 0.9 x 150 - 32 = 103 kbit/s of video each, at 320x240 and
        # 15 frames a second.
        assert await page.evaluate(CAPS) == [{"maxBitrate": 103000, "scale": 2, "fps": 15}] * 4
        five = await page.evaluate(UPSTREAM, 4)
        assert max(five["links"]) < min(two["links"]), (two, five)
        assert two["total"] <= budget and five["total"] <= budget, (two, five)
        print("room of 2:", two, "room of 5:", five)
        # Every aiortc member decodes the page's video.
        await eventually(lambda: all(len(m.frames) >= 1 for m in members))
        assert [m.errors for m in members] == [[]] * len(members)
    finally:
        for m in members:
            await m.close()
