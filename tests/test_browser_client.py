"""The browser client split the Galène way (issue 9, item 4): web/static/protocol.js is the only
script that reads or builds a wire message (signalling.js below it says hello and pings); every
message its methods build is one the server's parser accepts, and every message the server sends
reaches its typed on* callback (both driven in Chromium with a fake transport). The live page
holds one link per participant: a worker lets in two browsers of one invitation and sees both."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from conftest import axe_violations, eventually, new_case
from live_helpers import FAKE_SDP, soon_form, to_consent, worker_ready
from playwright.async_api import expect

from server.domain import protocol

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "web" / "static"
WIRE_LAYER = {"protocol.js", "signalling.js"}
FRAMES = "Number(document.getElementById('quality').dataset.framesDecoded || 0)"


# -- the split ----------------------------------------------------------------------------------

def wire_literals(source: str) -> list[str]:
    """What in a script reads or builds a wire message: a message type used as a `type:` value,
    compared with `.type` or as a `case`, or a snake_case field name of the wire (except in
    FormData's get('audio_fallback'): the consent form's fields are named like the wire's)."""
    types = "|".join(sorted(map(re.escape, protocol.MESSAGES), key=len, reverse=True))
    message_fields = {f.name for cls in protocol.MESSAGES.values() for f in dataclasses.fields(cls)
                      if "_" in f.name.strip("_")}
    figure_fields = {name for name in protocol.FIGURE_RANGES if "_" in name}
    fields = message_fields | figure_fields
    quote = "['\"`]"
    patterns = [rf"\btype\s*:\s*{quote}(?:{types}){quote}",
                rf"\.type\s*[!=]==?\s*{quote}(?:{types}){quote}",
                rf"\bcase\s+{quote}(?:{types}){quote}",
                rf"(?<!get\(['\"])\b(?:{'|'.join(sorted(fields))})\b"]
    return [m.group(0) for pattern in patterns for m in re.finditer(pattern, source)]


def test_the_check_finds_wire_messages_in_a_script():
    """The check below is not vacuous: it finds what interview.js used to do."""
    found = wire_literals("send({type: 'chat', text}); if (msg.type === 'welcome') ;\n"
                          "switch (m.type) { case \"admitted\": x(m.peer_name); }\n"
                          "send({type: 'consent', modality: 'none', text_hash: h});"
                          "data.get('audio_fallback') === 'on';")
    assert found == ["type: 'chat'", "type: 'consent'", ".type === 'welcome'", 'case "admitted"',
                     "peer_name", "text_hash"]
    # getStats reports and session descriptions have a type too: not wire messages.
    assert wire_literals("if (s.type === 'inbound-rtp') ; pc.setRemoteDescription("
                         "{type: 'answer', sdp});") == []


def test_page_scripts_never_read_or_build_a_wire_message():
    scripts = sorted(p for p in STATIC.glob("*.js") if p.name not in WIRE_LAYER)
    assert {"interview.js", "call.js", "lobby.js", "connection-test.js", "peer.js"} <= {
        p.name for p in scripts}
    found = {p.name: wire_literals(p.read_text(encoding="utf-8")) for p in scripts}
    assert {name: hits for name, hits in found.items() if hits} == {}
    # ...and the protocol layer does build them (the check would see it).
    assert len(wire_literals((STATIC / "protocol.js").read_text(encoding="utf-8"))) > 20


# -- the protocol layer, driven with a fake transport in Chromium --------------------------------

LOAD_CLIENT = """(source) => {
    (0, eval)(source);  // a classic script, as the page loads it
    window.sent = [];
    window.calls = [];
    window.transport = {
        send: m => { window.sent.push(JSON.parse(JSON.stringify(m))); return true; },
        onmessage: () => {}, onstate: () => {}, canResume: () => false,
        connect: () => {}, close: () => {},
    };
    window.client = new window.ProximaClient(window.transport);
    for (const name of Object.keys(window.client))
        if (name.startsWith('on'))
            window.client[name] = (...args) => window.calls.push([name, args]);
}"""

CANDIDATE = {"candidate": "candidate:1 1 udp 2122194687 127.0.0.1 50000 typ host",
             "sdpMid": "0", "sdpMLineIndex": 0}

EVERY_METHOD = """({sdp, candidate}) => {
    const c = window.client, hash = 'ab'.repeat(32);
    c.consent({modality: 'video', audioFallback: true, othersPresent: true, others: 'ma fille',
               textHash: hash});
    c.withdraw(hash);
    c.ready({quiet: true, confidential: true, headset: false});
    c.admit('g:17');
    c.decline('g:18');
    c.signal('g:17', {description: {type: 'offer', sdp}});
    c.signal('g:17', {candidate});
    c.chat('Vous m\\'entendez ?');
    c.media(false, true);
    c.modality('audio', 'poor_quality');
    c.fallback('connection_lost');
    c.incident('ice_restart');
    c.end(false);
    c.end(true);
    c.testOffer(sdp);
    c.testCandidate(candidate);
    c.testDone({rttMs: 12, audioUpKbps: 25, videoUpKbps: 140, audioDownKbps: 25,
                videoDownKbps: 190, upKbps: 165, downKbps: 215, loss: 0, jitterMs: 4, fps: 15,
                width: 320, height: 240, path: 'direct'});
    c.help();
    c.consent({modality: 'audio', audioFallback: false, othersPresent: false, others: '',
               textHash: hash, ruleAccepted: true, othersAccepted: true});
    c.admitAll();
    c.raiseHand();
    c.lowerMyHand();
    c.lowerHand('g:17');
    c.lowerAllHands();
    c.giveFloor('g:17');
    c.mute('g:17');
    c.muteAll();
    c.remove('g:18');
    c.startRound();
    c.nextInRound('g:17');
    c.nextInRound();
    c.endRound();
    c.roundCheck(true, false);
    c.setAgendaItem(2);
    c.startBreak(15);
    c.endBreak();
    c.markByPhone({participant: 'g:17'}, true);
    c.markByPhone({appointment: 42}, false);
    return window.sent;
}"""


async def client_page(new_context):
    page = await (await new_context()).new_page()
    await page.goto("about:blank")
    await page.evaluate(LOAD_CLIENT, (STATIC / "protocol.js").read_text(encoding="utf-8"))
    return page


async def test_every_client_message_is_one_the_server_accepts(new_context):
    page = await client_page(new_context)
    sent = await page.evaluate(EVERY_METHOD, {"sdp": FAKE_SDP, "candidate": CANDIDATE})
    for msg in sent:
        protocol.parse(json.dumps(msg))  # raises ProtocolError on anything the server refuses
    # One method per client message (hello and ping are the transport's).
    client_types = {t for t, cls in protocol.MESSAGES.items() if cls.direction != "server"}
    assert {m["type"] for m in sent} == client_types - {"hello", "ping"}
    by_type = {m["type"]: m for m in sent}
    assert sent[0] == {"type": "consent", "modality": "video", "audio_fallback": True,
                       "others_present": True, "others": "ma fille", "text_hash": "ab" * 32}
    assert sent[1] == {"type": "consent", "modality": "none", "text_hash": "ab" * 32}
    assert [m for m in sent if m["type"] == "signal"] == [
        {"type": "signal", "to": "g:17", "description": {"type": "offer", "sdp": FAKE_SDP}},
        {"type": "signal", "to": "g:17", "candidate": CANDIDATE}]
    assert [m for m in sent if m["type"] == "end"] == [
        {"type": "end", "phone_finished": False}, {"type": "end", "phone_finished": True}]
    assert by_type["test_done"]["figures"]["rtt_ms"] == 12
    assert set(by_type["test_done"]["figures"]) == {*protocol.FIGURE_RANGES, "path"}
    # A group's consent carries the rule and the others' presence (issue 10).
    assert [m for m in sent if m["type"] == "consent"][2] == {
        "type": "consent", "modality": "audio", "audio_fallback": False, "others_present": False,
        "others": "", "text_hash": "ab" * 32, "rule_accepted": True, "others_accepted": True}
    assert [m for m in sent if m["type"] == "hand"] == [{"type": "hand", "raised": True},
                                                        {"type": "hand", "raised": False}]
    assert [m for m in sent if m["type"] == "by_phone"] == [
        {"type": "by_phone", "participant": "g:17", "by_phone": True},
        {"type": "by_phone", "appointment": 42, "by_phone": False}]


def documented_examples() -> dict[str, dict]:
    """The first JSON example of each message type in docs/protocol.md (the relayed `signal`:
    the one with `from`)."""
    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    examples: dict[str, dict] = {}
    for block in re.findall(r"```json\n(.*?)```", doc, re.S):
        msg = json.loads(block)
        if msg["type"] not in examples or "from" in msg:
            examples[msg["type"]] = msg
    return examples


async def test_every_server_message_reaches_its_typed_callback(new_context):
    page = await client_page(new_context)
    examples = documented_examples()
    server_types = {t for t, cls in protocol.MESSAGES.items() if cls.direction != "client"}
    assert server_types - set(examples) == set(), "a server message with no example"
    calls = await page.evaluate("""(messages) => messages.map(m => {
        window.calls = [];
        window.transport.onmessage(m);
        return window.calls;
    })""", [examples[t] for t in sorted(server_types - {"pong"})])  # pong: the transport's
    got = dict(zip(sorted(server_types - {"pong"}), calls, strict=True))
    assert {t: [name for name, _ in c] for t, c in got.items()} == {
        "admitted": ["onadmitted"], "chat": ["onchat"], "declined": ["ondeclined"],
        "ended": ["onended"], "error": ["onerror"], "help_alert": ["onhelpalert"],
        "lobby": ["onlobby"], "media": ["onmedia"], "modality": ["onmodality"],
        "peer_left": ["onpeerleft"], "phone": ["onphone"], "signal": ["onsignal"],
        "test_answer": ["ontestanswer"], "test_result": ["ontestresult"],
        "waiting": ["onwaiting"], "welcome": ["onwelcome"],
        # a group session's (issue 10)
        "group_state": ["ongroupstate"], "mute_request": ["onmuterequest"],
        "break_started": ["onbreakstarted"], "break_over": ["onbreakover"],
        "reminder": ["onreminder"]}
    args = {t: c[0][1] for t, c in got.items()}
    assert args["admitted"] == [{"peer": "w:3", "name": "Claire", "polite": True, "mode": "video"}]
    assert args["signal"] == ["w:3", {"candidate": examples["signal"]["candidate"]}]
    assert args["welcome"][0]["iceServers"] == examples["welcome"]["ice_servers"]
    assert args["welcome"][0]["session"] is None and args["welcome"][0]["relayOnly"] is False
    [waiting] = args["lobby"][0]["waiting"]
    assert waiting["consent"] == {"modality": "video", "audioFallback": True,
                                  "othersPresent": True, "others": "my daughter"}
    assert args["phone"][0] == {"workerPhone": "+33 1 23 45 67 89",
                                "servicePhone": "+33 1 98 76 54 32", "personPhone": "",
                                "personPhoneEnd": "42", "planB": "worker_calls",
                                "reason": "connection_lost"}
    assert args["test_result"][0]["figures"] == {"rttMs": 1, "videoKbps": 140, "loss": 0,
                                                 "path": "direct"}
    assert args["test_answer"] == [{"type": "answer", "sdp": examples["test_answer"]["sdp"]}]
    assert args["waiting"] == [{"since": "2025-03-14T09:28:40+00:00", "workerPresent": False}]
    assert args["welcome"][0]["group"] is None and args["lobby"][0]["people"] == []
    state = args["group_state"][0]
    assert [h["id"] for h in state["hands"]] == ["g:18", "g:17"]
    assert state["floor"] == {"id": "g:19", "name": "Lucie"} and state["break"] is None
    assert state["round"]["entries"][0] == {"id": "g:17", "name": "Marie Dupont", "status": "ok",
                                            "hears": True, "sees": True}
    assert args["break_started"] == [{"minutes": 10, "until": "2026-12-01T10:55:00+00:00",
                                      "remainingSeconds": 600}]
    assert args["mute_request"] == [{"id": "w:3", "name": "Claire Martin"}]
    assert args["reminder"] == [{"kind": "break_due", "minutes": 45}]
    # A type this client does not know is ignored, not an error.
    assert await page.evaluate("""() => { window.calls = [];
        window.transport.onmessage({type: 'from_a_later_version'}); return window.calls; }""") == []


# -- N peers: a worker with two browsers of one invitation --------------------------------------

async def test_the_worker_lets_in_two_browsers_and_sees_both(proxima, new_context, screenshots):
    anne = await proxima.worker()
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              soon_form(attendees=[]), status=201)
    worker = await worker_ready(proxima, new_context, created["appointment"]["id"])
    persons = []
    for _ in range(2):  # a phone and a laptop, say: each browser is its own participant
        context = await new_context(ignore_https_errors=True, locale="fr-FR", is_mobile=True,
                                    viewport={"width": 360, "height": 740})
        person = await context.new_page()
        await person.goto(created["link"])
        await to_consent(person)  # one step per screen: from the arrival to the consent
        await person.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
        await expect(person.get_by_role("heading", name="Salle d'attente")).to_be_visible()
        persons.append(person)

    let_in = worker.get_by_role("button", name=re.compile(r"Faire entrer"))
    await expect(let_in).to_have_count(2)
    await let_in.first.click()
    # The call goes on, and the browser still waiting is shown in it, to be let in too.
    await expect(worker.locator("#call-step")).to_be_visible()
    await expect(worker.get_by_role("alert").filter(has_text="attend")).to_be_visible()
    await expect(let_in).to_have_count(1)
    await let_in.click()
    await expect(worker.locator("#call-lobby")).to_be_hidden()

    # Two links: the first in #remote-video and #quality, the second in its own labelled video.
    second = worker.get_by_label("Fatou Diallo", exact=True)
    await expect(second).to_have_count(1)
    await eventually(lambda: worker.evaluate(FRAMES), timeout=20)
    await eventually(lambda: second.evaluate("v => v.videoWidth > 0"), timeout=20)
    for person in persons:
        await eventually(lambda: person.evaluate(FRAMES), timeout=20)  # noqa: B023
        # Full mesh: each browser also receives the other browser's video, on its own link.
        other = person.locator("#more-videos video")
        await expect(other).to_have_count(1)
        await eventually(lambda: other.evaluate("v => v.videoWidth > 0"), timeout=20)  # noqa: B023
    assert await worker.locator("#more-videos figcaption").inner_text() == "Fatou Diallo"
    assert await axe_violations(worker) == []
    assert await persons[1].evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await worker.screenshot(path=str(screenshots / "room-of-three-worker.png"), full_page=True)
    person_shot = screenshots / "room-of-three-person.png"
    await persons[1].locator("#call-step").screenshot(path=str(person_shot))

    # The chat reaches both browsers; the second one's microphone is shown under its video.
    await worker.get_by_role("button", name="Messages").click()  # the messages' sheet
    await worker.get_by_label("Votre message").fill("Bonjour à vous deux")
    await worker.get_by_role("button", name="Envoyer").click()
    for person in persons:
        await expect(person.locator("#chat-log")).to_contain_text("Bonjour à vous deux")
    await persons[1].get_by_role("button", name="Couper le micro").click()
    await persons[0].get_by_role("button", name="Couper le micro").click()
    await expect(worker.locator("#peer-status")).to_contain_text("micro")
    await expect(worker.locator("#more-videos [role=status]")).to_contain_text("micro")
