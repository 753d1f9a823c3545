"""A server restart in the middle of a call, in two real Chromium pages: the peer-to-peer media
keeps flowing, the signalling comes back by itself as the same participants (no second waiting
room), and names are shown as text."""

from __future__ import annotations

import re

from conftest import eventually, new_case
from live_helpers import soon_form, to_consent, worker_ready
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
