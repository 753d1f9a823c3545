"""A server restart in the middle of a call, in two real Chromium pages: the peer-to-peer media
keeps flowing, the signalling comes back by itself as the same participants (no second waiting
room), and names are shown as text."""

from __future__ import annotations

import re
from typing import Any

from conftest import eventually, new_case
from live_helpers import RECORD_PEER_CONNECTIONS, soon_form, to_consent, worker_ready
from playwright.async_api import expect

FRAMES = "Number(document.getElementById('quality').dataset.framesDecoded || 0)"


async def test_server_restart_mid_call(proxima, new_context):
    anne = await proxima.worker()
    case = await new_case(anne, person_name="<img src=x onerror=alert(1)>")
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments", soon_form(),
                              status=201)
    dialogs = []
    worker = await worker_ready(proxima, new_context, created["appointment"]["id"])
    worker.on("dialog", lambda d: dialogs.append(d.message))

    person_ctx = await new_context(ignore_https_errors=True, locale="fr-FR")
    person = await person_ctx.new_page()
    person.on("dialog", lambda d: dialogs.append(d.message))
    await person.goto(created["link"])
    await to_consent(person)  # one step per screen: from the arrival to the consent
    await person.get_by_label("Je suis d'accord pour que ces personnes soient là").check()
    await person.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
    await expect(worker.locator("#lobby-list")).to_contain_text("<img src=x onerror=alert(1)>")
    assert await worker.locator("#lobby-list img").count() == 0
    await worker.get_by_role("button", name=re.compile(r"Faire entrer")).click()
    await eventually(lambda: worker.evaluate(FRAMES), timeout=20)
    await eventually(lambda: person.evaluate(FRAMES), timeout=20)

    await proxima.restart()
    await expect(worker.locator("#connection-state")).to_contain_text("Connexion perdue")
    # The media goes on while the signalling is away and after it is back.
    before = await person.evaluate(FRAMES)
    await eventually(lambda: person.evaluate(f"{FRAMES} > {before} + 20"), timeout=15)
    await expect(worker.locator("#connection-state")).to_have_text("Connecté.", timeout=20)
    await worker.get_by_role("button", name="Messages").click()  # the messages' sheet
    await worker.get_by_label("Votre message").fill("Toujours là ?")
    await worker.get_by_role("button", name="Envoyer").click()
    await expect(person.locator("#chat-log")).to_contain_text("Toujours là ?")
    assert await person.get_by_role("heading", name="Salle d'attente").is_hidden()
    assert dialogs == []

    await worker.get_by_role("button", name="Terminer l'entretien").click()
    await expect(worker.get_by_role("heading", name="Après l'entretien")).to_be_visible()
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    [log] = [e["data"] for e in record if e["kind"] == "session_log"]
    assert [i["kind"] for i in log["incidents"]].count("reconnected") >= 2
    assert len(log["participants"]) == 2


# A page whose outgoing descriptions of one type can be dropped on the way (window.__drop:
# 'offer' or 'answer') and whose signalling socket can be cut (window.__sockets): what a phone's
# network change, or a server that cannot deliver, does to a renegotiation.
LOSSY_SIGNALLING = RECORD_PEER_CONNECTIONS + """;(() => {
    const Real = window.WebSocket;
    window.__sockets = [];
    window.__drop = '';
    window.__dropped = 0;
    window.WebSocket = function (...args) {
        const ws = new Real(...args);
        window.__sockets.push(ws);
        const send = ws.send;
        ws.send = function (data) {
            const m = JSON.parse(String(data));
            if (window.__drop && m.description && m.description.type === window.__drop) {
                window.__dropped += 1;
                return;
            }
            return send.apply(this, arguments);
        };
        return ws;
    };
    window.WebSocket.prototype = Real.prototype;
    Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})()"""

LINK = "window.__pcs.at(-1)"  # the call's peer connection (the check step had its own before)
UFRAG = f"({LINK}.localDescription.sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1]"


async def test_a_lost_offer_or_answer_does_not_leave_the_link_waiting(proxima, new_context):
    """Perfect negotiation has no retransmission of its own: an ICE restart whose answer is lost
    (the server could not deliver it) or whose offer is lost while the person's socket is down
    (a network change does both) left the link half-negotiated for ever. The offer still waiting
    is sent again: after a while, and at once when the socket is back."""
    async def lossy_context(**options: Any) -> Any:
        context = await new_context(**options)
        await context.add_init_script(LOSSY_SIGNALLING)
        return context

    anne = await proxima.worker()
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments", soon_form(),
                              status=201)
    worker = await worker_ready(proxima, lossy_context, created["appointment"]["id"])
    person = await (await lossy_context(ignore_https_errors=True, locale="fr-FR")).new_page()
    await person.goto(created["link"])
    await to_consent(person)
    await person.get_by_label("Je suis d'accord pour que ces personnes soient là").check()
    await person.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
    await worker.get_by_role("button", name=re.compile(r"Faire entrer")).click()
    await eventually(lambda: person.evaluate(FRAMES), timeout=20)
    stable = f"{LINK}.signalingState === 'stable'"
    await eventually(lambda: person.evaluate(stable))

    # The person's page restarts ICE; the worker's answer is lost on the way.
    before = await person.evaluate(UFRAG)
    await worker.evaluate("window.__drop = 'answer'")
    await person.evaluate(f"{LINK}.restartIce()")
    await eventually(lambda: worker.evaluate("window.__dropped > 0"))
    await worker.evaluate("window.__drop = ''")
    assert await person.evaluate(f"{LINK}.signalingState") == "have-local-offer"
    await eventually(lambda: person.evaluate(stable), timeout=30)  # the offer, sent again
    assert await person.evaluate(UFRAG) != before

    # Again, the offer itself lost, then the person's socket cut; it comes back by itself.
    before = await person.evaluate(UFRAG)
    await person.evaluate(f"window.__drop = 'offer'; {LINK}.restartIce()")
    await eventually(lambda: person.evaluate("window.__dropped > 0"))
    assert await person.evaluate(f"{LINK}.signalingState") == "have-local-offer"
    await person.evaluate("window.__drop = ''; window.__sockets.at(-1).close()")
    await eventually(lambda: person.evaluate("window.__sockets.length === 2"))
    await eventually(lambda: person.evaluate(stable), timeout=30)
    assert await person.evaluate(UFRAG) != before
    assert await person.evaluate(f"{LINK}.connectionState") == "connected"
    now = await person.evaluate(FRAMES)
    await eventually(lambda: person.evaluate(f"{FRAMES} > {now} + 10"), timeout=15)
