"""The worker's call panel in Chromium (issue 11, item 4 and its acceptance): the worker's page at
laptop size (1280x800) with the panel beside the call — the outline, the timer against the
planned duration, the notes typed during the call (saved as typed, kept by a reload, sealed on
disk, then in the closing form); "Postpone" from the worker's page to the person's page, the
prefilled form and the case record; and a browser that starts waiting during the call (the
person's phone after their laptop failed), shown at once with "Let in", which replaces the old one.
Each test saves its screenshots (the `screenshots` fixture)."""

from __future__ import annotations

import datetime as dt
import re

from conftest import axe_violations, eventually, new_case
from live_helpers import soon_form, worker_ready
from playwright.async_api import expect

from server.base import clock
from server.edge.http import CONFIG

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 640}
FRAMES = "Number(document.getElementById('quality').dataset.framesDecoded || 0)"
OBJECTIVES = "Faire le point sur le budget du foyer"
QUESTIONS = "Comment se passent les fins de mois ?"
NOTE = "Loyer de mai en retard, voir avec la CAF"
CONSENT = "J'accepte : aller dans la salle d'attente"


async def plan(proxima, **form):
    anne = await proxima.worker()
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments", soon_form(
        attendees=[], objectives=OBJECTIVES, questions=QUESTIONS, **form), status=201)
    return anne, case, created


async def worker_page(proxima, new_context, appointment_id: int):
    """The worker's live page at laptop size, readiness checklist ticked."""
    return await worker_ready(proxima, new_context, appointment_id, LAPTOP)


async def person_waiting(new_context, link: str, **context):
    """A person's page on a phone, from the link to the waiting room (one step per screen:
    'Continue' until the consent's button shows)."""
    ctx = await new_context(ignore_https_errors=True, locale="fr-FR", is_mobile=True,
                            viewport=PHONE, **context)
    page = await ctx.new_page()
    await page.goto(link)
    agree = page.get_by_role("button", name=CONSENT)
    for _ in range(6):
        await expect(page.get_by_role("heading", level=1).first).to_be_visible()
        if await agree.is_visible():
            break
        await page.get_by_role("button", name=re.compile("^Continuer$")).click()
    await agree.click()
    await expect(page.get_by_role("heading", name="Salle d'attente")).to_be_visible()
    return ctx, page


async def let_in(worker, device: str = "Chrome"):
    button = worker.get_by_role("button", name=re.compile(rf"Faire entrer \({device}"))
    await button.click()
    await eventually(lambda: worker.evaluate(FRAMES), timeout=30)


def stored_bytes(proxima) -> bytes:
    data_dir = proxima.app[CONFIG].data_path
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("proxima.sqlite3*")))


async def session_began(proxima, appointment_id: int, minutes_ago: float) -> None:
    """Move the session's start back (the server then says that much time has passed)."""
    start = clock.to_db(clock.now() - dt.timedelta(minutes=minutes_ago))
    await proxima.store.db.run(lambda c: c.execute(
        "UPDATE interview_sessions SET started_at = ? WHERE appointment_id = ?"
        " AND status = 'active'", (start, appointment_id)))


async def test_the_panel_beside_the_call_and_the_notes_to_the_closing_form(
        proxima, new_context, screenshots):
    anne, case, created = await plan(proxima)
    appointment_id = created["appointment"]["id"]
    worker = await worker_page(proxima, new_context, appointment_id)
    _, person = await person_waiting(new_context, created["link"])
    await let_in(worker)
    await expect(worker.locator("#call-step")).to_be_visible()

    # The panel: beside the call, not below it, with the outline and the timer running.
    panel = worker.locator("#call-panel")
    await expect(panel.get_by_text(OBJECTIVES)).to_be_visible()
    await expect(panel.get_by_text(QUESTIONS)).to_be_visible()
    await expect(panel.get_by_role("heading", name="Commencer et terminer à l'heure")
                 ).to_be_visible()
    await expect(worker.locator("#call-timer")).to_have_text(re.compile(r"^0:\d\d sur 45:00$"))
    call_box = await worker.locator("#call-step").bounding_box()
    panel_box = await panel.bounding_box()
    assert panel_box["x"] >= call_box["x"] + call_box["width"] - 1, (call_box, panel_box)
    assert panel_box["y"] < call_box["y"] + call_box["height"] / 2
    assert panel_box["x"] + panel_box["width"] <= LAPTOP["width"]
    assert await worker.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Notes typed during the call: saved as typed, sealed on disk.
    notes = worker.get_by_label(re.compile("Notes privées"))
    await notes.fill(NOTE)
    await expect(worker.locator("#notes-state")).to_contain_text("Enregistré à", timeout=20_000)
    assert (await anne.json("GET", f"/api/appointments/{appointment_id}/call-notes"))[
        "notes"] == NOTE
    assert NOTE.encode() not in stored_bytes(proxima)
    await proxima.store.db.run(lambda c: c.execute("PRAGMA wal_checkpoint(FULL)"))
    for secret in (NOTE, OBJECTIVES, QUESTIONS):
        assert secret.encode() not in stored_bytes(proxima), secret
    assert await axe_violations(worker) == []
    await worker.screenshot(path=str(screenshots / "worker-call-panel-1280x800.png"))

    # A reload keeps the notes and the timer's count (the session's elapsed time).
    await session_began(proxima, appointment_id, minutes_ago=42)
    await worker.reload()
    await expect(worker.get_by_label(re.compile("Notes privées"))).to_have_value(NOTE)
    await expect(worker.locator("#call-timer")).to_have_text(re.compile(r"^4[23]:\d\d sur 45:00$"))
    await expect(worker.locator("#timer-sign")).to_have_text(
        re.compile(r"Encore [23] min avant la fin prévue\."))
    await expect(worker.locator("#call-step")).to_be_visible(timeout=30_000)
    await worker.screenshot(path=str(screenshots / "worker-call-panel-near-end.png"))
    await session_began(proxima, appointment_id, minutes_ago=48)
    await worker.reload()
    await expect(worker.locator("#timer-sign")).to_have_text(
        re.compile(r"^3 min de plus que la durée prévue\.$"))
    await expect(worker.locator("#call-timer")).to_have_attribute("data-state", "over")

    # More notes, then the end: the closing form holds them.
    notes = worker.get_by_label(re.compile("Notes privées"))
    await notes.press("End")
    await notes.type(" ; rappeler lundi")
    await worker.get_by_role("button", name="Terminer l'entretien").click()
    await expect(worker.get_by_role("heading", name="Après l'entretien")).to_be_visible()
    await expect(worker.locator("#call-panel")).to_be_hidden()
    summary = worker.get_by_label("Notes de synthèse")
    await expect(summary).to_have_value(NOTE + " ; rappeler lundi")
    await expect(person.get_by_role("heading", name="L'entretien est terminé")).to_be_visible()
    await worker.get_by_role("button", name="Enregistrer dans le dossier").click()
    await worker.wait_for_url(re.compile(r"/cases/\d+$"))
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    [closing] = [e["data"] for e in record if e["kind"] == "session_closing"]
    assert closing["notes"] == NOTE + " ; rappeler lundi"


async def test_postpone_from_the_call_to_the_new_date(proxima, new_context, screenshots):
    anne, case, created = await plan(proxima, modality="audio")
    appointment_id = created["appointment"]["id"]
    worker = await worker_page(proxima, new_context, appointment_id)
    _, person = await person_waiting(new_context, created["link"])
    await worker.get_by_role("button", name=re.compile(r"Faire entrer \(Chrome")).click()
    await expect(worker.locator("#call-step")).to_be_visible(timeout=30_000)

    # "Postpone": asked in the panel, confirmed there (no browser dialog).
    await expect(worker.get_by_text("N'hésitez pas à reporter l'entretien")).to_be_visible()
    await worker.get_by_role("button", name="Reporter l'entretien").click()
    confirm = worker.get_by_role("button", name="Oui, reporter l'entretien")
    await expect(confirm).to_be_focused()
    await worker.screenshot(path=str(screenshots / "worker-postpone-confirm.png"))
    await confirm.click()

    # The person is told in plain words, with the worker's number.
    await expect(person.get_by_role("heading", name="L'entretien est reporté")).to_be_visible()
    await expect(person.get_by_text(
        "Anne a reporté l'entretien. Vous allez recevoir une nouvelle invitation avec la "
        "nouvelle date.")).to_be_visible()
    await expect(person.locator("#ended-step").get_by_role("link", name="01 23 45 67 89")
                 ).to_be_visible()
    assert await axe_violations(person) == []
    await person.screenshot(path=str(screenshots / "person-postponed-360.png"))

    # The worker lands on the appointment's form, prefilled, to choose the new date.
    await worker.wait_for_url(re.compile(rf"/appointments/{appointment_id}/postpone$"))
    await expect(worker.get_by_role("heading", name=re.compile("Reporter l'entretien avec Fatou"))
                 ).to_be_visible()
    await expect(worker.get_by_label(re.compile("Sujet"))).to_have_value(
        created["appointment"]["topic"])
    await expect(worker.get_by_label("Objectifs de l'entretien")).to_have_value(OBJECTIVES)
    await expect(worker.get_by_label("Questions ouvertes à poser")).to_have_value(QUESTIONS)
    await expect(worker.get_by_label("Modalité proposée")).to_have_value("audio")
    tomorrow = (clock.to_local(clock.now(), "Europe/Paris").date()
                + dt.timedelta(days=1)).isoformat()
    await expect(worker.get_by_label("Date", exact=True)).to_have_value(tomorrow)
    assert await axe_violations(worker) == []
    await worker.screenshot(path=str(screenshots / "worker-postpone-form.png"), full_page=True)
    await worker.get_by_label(re.compile("Heure de début")).fill("14:30")
    await worker.get_by_role("button", name="Enregistrer la nouvelle date et prévenir la personne"
                             ).click()
    await worker.wait_for_url(re.compile(rf"/appointments/{appointment_id}$"))
    await expect(worker.get_by_label("Nouveau lien d'invitation")).to_have_value(
        re.compile(r"/j/"))

    # The case record: the session, postponed, then the appointment moved.
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    kinds = [e["kind"] for e in record]
    [log] = [e["data"] for e in record if e["kind"] == "session_log"]
    assert log["end_reason"] == "postponed"
    assert kinds.index("appointment_moved") > kinds.index("session_log")
    await worker.goto(proxima.url + f"/cases/{case['id']}")
    await expect(worker.get_by_role("listitem").filter(
        has_text=re.compile("Séance d'entretien ?: reporté"))).to_be_visible()


async def test_a_browser_waiting_during_the_call_is_let_in_and_replaces_the_old_one(
        proxima, new_context, screenshots):
    _anne, _case, created = await plan(proxima)
    appointment_id = created["appointment"]["id"]
    worker = await worker_page(proxima, new_context, appointment_id)
    laptop_ua = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
                 " Chrome/156.0 Safari/537.36")
    laptop_ctx, _laptop = await person_waiting(new_context, created["link"], user_agent=laptop_ua)
    await let_in(worker, "Chrome, Ordinateur Windows")
    old = await proxima.store.interviews.active(appointment_id)
    [laptop_id] = old.admitted

    # The laptop fails; the person opens the link on their phone and waits.
    await laptop_ctx.close()
    await expect(worker.locator("#peer-status")).to_contain_text("coupée")
    phone_ua = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
                " Chrome/156.0 Mobile Safari/537.36")
    _, phone = await person_waiting(new_context, created["link"], user_agent=phone_ua)

    # The worker sees them at once, beside the call: a visible, focusable "Let in".
    button = worker.get_by_role("button", name=re.compile(r"Faire entrer \(Chrome, Téléphone"))
    await expect(button).to_be_visible()
    await expect(button).to_be_in_viewport()
    await expect(worker.locator("#call-lobby-alert")).to_contain_text("Quelqu'un attend")
    await button.focus()
    await expect(button).to_be_focused()
    assert await axe_violations(worker) == []
    await worker.screenshot(path=str(screenshots / "worker-call-someone-waiting.png"))

    # Letting them in replaces the laptop: the phone is the main video, the laptop's link gone.
    await button.click()
    await expect(worker.locator("#call-lobby")).to_be_hidden()
    await eventually(lambda: phone.evaluate(FRAMES), timeout=30)
    await eventually(lambda: worker.evaluate(
        "document.getElementById('remote-video').videoWidth > 0"), timeout=30)
    await eventually(lambda: worker.evaluate(FRAMES), timeout=30)
    await expect(worker.locator("#more-videos")).to_be_hidden()
    session = await proxima.store.interviews.active(appointment_id)
    assert len(session.admitted) == 1 and session.admitted != [laptop_id]
    assert [i.kind for i in session.log.incidents if i.kind == "browser_replaced"] == [
        "browser_replaced"]
    await worker.screenshot(path=str(screenshots / "worker-call-replaced.png"))


async def test_notes_not_saved_for_now_are_tried_again_and_a_refusal_is_said(
        proxima, new_context):
    """The server cannot take the notes for now (503, twice): the panel says so and tries again
    by itself; a refusal (400) is said in the server's words and not tried again. The text stays
    on the page throughout."""
    anne, _case, created = await plan(proxima)
    appointment_id = created["appointment"]["id"]
    worker = await worker_page(proxima, new_context, appointment_id)
    answers = ["unavailable", "unavailable"]
    tries = []

    async def flaky(route):
        tries.append(route.request.post_data_json["notes"])
        if answers and answers[0] == "unavailable":
            answers.pop(0)
            await route.fulfill(status=503, json={"error": "storage_unavailable", "message": "x"})
        elif answers:
            answers.pop(0)
            await route.fulfill(status=400, json={"error": "invalid", "field": "notes",
                                                  "message": "C'est trop long."})
        else:
            await route.continue_()

    await worker.route(f"**/api/appointments/{appointment_id}/call-notes", flaky)
    notes = worker.get_by_label(re.compile("Notes privées"))
    await notes.fill(NOTE)
    state = worker.locator("#notes-state")
    await expect(state).to_have_text("Pas encore enregistré : Proxima réessaie.")
    await expect(state).to_contain_text("Enregistré à", timeout=20_000)
    assert tries == [NOTE, NOTE, NOTE]
    assert (await anne.json("GET", f"/api/appointments/{appointment_id}/call-notes"))[
        "notes"] == NOTE

    answers.append("refused")
    await notes.press("End")
    await notes.type(" encore")
    await expect(state).to_have_text("Non enregistré : C'est trop long.")
    await expect(notes).to_have_value(NOTE + " encore")
    assert len(tries) == 4
