"""The whole interview in two real Chromium pages with fake camera and microphone, found by role
and accessible name: invitation, device check, consent, waiting room, admission, video both ways,
sound only, chat, plan B by phone, the end, and the session log in the case record."""

from __future__ import annotations

import re

from conftest import axe_violations, eventually, login_in_browser, new_case
from live_helpers import soon_form, to_check, to_consent
from playwright.async_api import expect

FRAMES = "Number(document.getElementById('quality').dataset.framesDecoded || 0)"
# Counts the page's quality reports: one every 2 s, made only when media packets arrived since
# the last one, each writing #quality's data-frames-decoded (even when the number is the same).
COUNT_REPORTS = """() => {
    window.qualityReports = 0;
    new MutationObserver((records) => { window.qualityReports += records.length; }).observe(
        document.getElementById('quality'),
        {attributes: true, attributeFilter: ['data-frames-decoded']});
}"""


async def frames(page) -> int:
    return await page.evaluate(FRAMES)


async def reports_since(page, count: int, since: int = 0) -> int:
    """Wait until ``count`` more quality reports than ``since`` were made; returns the total."""
    return await eventually(
        lambda: page.evaluate(f"window.qualityReports >= {since + count} && window.qualityReports"),
        timeout=10 * count)


async def test_full_interview_journey(proxima, new_context):
    anne_api = await proxima.worker()
    case = await new_case(anne_api)

    worker_ctx = await new_context(ignore_https_errors=True, locale="fr-FR",
                                   viewport={"width": 1100, "height": 900})
    worker = await worker_ctx.new_page()
    await login_in_browser(worker, proxima.url)
    await worker.goto(proxima.url + f"/cases/{case['id']}/appointments/new")
    form = soon_form()
    await worker.get_by_label("Date", exact=True).fill(form["date"])
    await worker.get_by_label(re.compile("Heure de début")).fill(form["time"])
    await worker.get_by_label(re.compile("Sujet")).fill("Point sur le RSA")
    await worker.get_by_role("button", name=re.compile("Planifier et envoyer")).click()
    await worker.wait_for_url(re.compile(r"/appointments/\d+$"))
    link = await worker.get_by_label("Nouveau lien d'invitation").input_value()

    # The person, on a phone: device check, consent, waiting room.
    person_ctx = await new_context(ignore_https_errors=True, locale="fr-FR", is_mobile=True,
                                   viewport={"width": 360, "height": 740})
    person = await person_ctx.new_page()
    dialogs = []
    person.on("dialog", lambda d: dialogs.append(d.message))
    worker.on("dialog", lambda d: dialogs.append(d.message))
    await person.goto(link)
    await to_check(person)  # one step per screen: arrival, then the check
    await person.get_by_role("button", name="Commencer la vérification").click()
    await expect(person.locator("#check-result")).not_to_be_empty()
    await to_consent(person)
    await person.get_by_label("En vidéo (caméra et son)").check()
    assert await axe_violations(person) == []
    await person.get_by_role("button", name="J'accepte : aller dans la salle d'attente").click()
    await expect(person.get_by_role("heading", name="Salle d'attente")).to_be_visible()
    assert await person.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # The worker: checklist, then the person waiting, let in by hand.
    await worker.get_by_role("link", name="Ouvrir l'entretien").click()
    await worker.get_by_label("Je suis dans un endroit calme").check()
    await worker.get_by_label(re.compile("Personne ne peut entendre")).check()
    await worker.get_by_role("button", name="Je suis prêt·e").click()
    await expect(worker.get_by_role("alert").filter(has_text="attend")).to_be_visible()
    assert await axe_violations(worker) == []
    await worker.get_by_role("button", name=re.compile(r"Faire entrer \(Chrome")).click()

    # Video both ways.
    await eventually(lambda: frames(worker), timeout=20)
    await eventually(lambda: frames(person), timeout=20)
    assert await person.evaluate("document.getElementById('remote-video').videoWidth") > 0

    # Microphone off on one side: the other side is told; the button says what it will do.
    await person.get_by_role("button", name="Couper le micro").click()
    await expect(person.get_by_role("button", name="Rallumer le micro")).to_have_attribute(
        "aria-pressed", "true")
    await expect(worker.locator("#peer-status")).to_contain_text("micro")
    await person.get_by_role("button", name="Rallumer le micro").click()

    # The person switches to sound only: the worker is told and stops receiving video. Measured
    # by the worker page's own quality reports, which go on as sound keeps arriving: two to
    # settle, then no new frames (but for a straggler or two) over the next two (4 s of sound).
    await person.get_by_role("button", name="Passer au son seulement").click()
    await expect(worker.locator("#modality-notice")).to_contain_text("son seulement")
    await expect(person.locator("#modality-notice")).to_contain_text("son seulement")
    await worker.evaluate(COUNT_REPORTS)
    settled = await reports_since(worker, 2)
    before = await frames(worker)
    await reports_since(worker, 2, since=settled)
    assert await frames(worker) - before <= 2

    assert await axe_violations(worker) == [] and await axe_violations(person) == []

    # Chat both ways, shown as text.
    await worker.get_by_role("button", name="Messages").click()  # the messages' sheet
    await worker.get_by_label("Votre message").fill("Bonjour, vous m'entendez ?")
    await worker.get_by_role("button", name="Envoyer").click()
    await expect(person.locator("#chat-log")).to_contain_text("Bonjour, vous m'entendez ?")
    await person.get_by_role("button", name="Messages").click()
    await person.get_by_label("Votre message").fill("<img src=x onerror=alert(1)>")
    await person.get_by_role("button", name="Envoyer").click()
    await expect(worker.locator("#chat-log")).to_contain_text("<img src=x onerror=alert(1)>")
    assert await worker.locator("#chat-log img").count() == 0
    assert dialogs == []

    # Plan B: continue by phone.
    await worker.get_by_role("button", name="Un problème ? Continuer par téléphone").click()
    await expect(person.locator("#phone-who")).to_contain_text("finit par 78")
    person_tel = worker.get_by_role("link", name="06 12 34 56 78")
    await expect(person_tel).to_have_attribute("href", "tel:0612345678")
    await worker.get_by_role("button", name="Appel terminé").click()
    await expect(person.get_by_role("heading", name="L'entretien est terminé")).to_be_visible()
    await expect(worker.get_by_role("heading", name="Après l'entretien")).to_be_visible()

    # The case record holds the session log, written without the closing form...
    record = (await anne_api.json("GET", f"/api/cases/{case['id']}"))["record"]
    [log] = [e["data"] for e in record if e["kind"] == "session_log"]
    assert [t["mode"] for t in log["timeline"]] == ["video", "audio", "phone"]
    assert [(c["kind"], c["modality"]) for c in log["consents"]] == [
        ("given", "video"), ("changed", "audio")]
    assert log["readiness"]["quiet"] is True and log["end_reason"] == "phone_finished"
    assert "Bonjour" not in str(log)
    # ...and the closing form amends it.
    await worker.get_by_label("Notes de synthèse").fill("Dossier RSA à compléter.")
    await worker.get_by_role("button", name="Enregistrer dans le dossier").click()
    await worker.wait_for_url(re.compile(r"/cases/\d+$"))
    record = (await anne_api.json("GET", f"/api/cases/{case['id']}"))["record"]
    [closing] = [e["data"] for e in record if e["kind"] == "session_closing"]
    assert closing["notes"] == "Dossier RSA à compléter."
