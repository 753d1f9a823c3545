"""Without a mail server, the outbox gives the worker the whole invitation: the same plain text as
the email, in the person's language, with one button that copies it all, and the calendar file
to download (``GET /api/outbox/{id}/invitation.ics``: the case's worker or an administrator,
audited). Checked in Chromium on the console's outbox page, at laptop size."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import icalendar
import ics
from conftest import appointment_form, axe_violations, login_in_browser, new_case


def by_appointment(messages, created):
    [message] = [m for m in messages if m["appointment_id"] == created["appointment"]["id"]
                 and m["channel"] == "email"]
    return message


async def test_the_outbox_page_shows_and_copies_the_whole_invitation(proxima, new_context,
                                                                    screenshots):
    from playwright.async_api import expect

    anne = await proxima.worker()
    with_email = await new_case(anne)
    sent_by_email = await anne.json("POST", f"/api/cases/{with_email['id']}/appointments",
                                    appointment_form(), status=201)
    # No email address (the 'manual' branch): the same invitation, in the case's language.
    without_email = await new_case(anne, reference="DOS-2026-0043", person_name="Sam Jones",
                                   email="", mobile="", language="en")
    by_hand = await anne.json("POST", f"/api/cases/{without_email['id']}/appointments",
                              appointment_form(time="15:00"), status=201)
    messages = (await anne.json("GET", "/api/outbox"))["messages"]
    french = by_appointment(messages, sent_by_email)
    english = by_appointment(messages, by_hand)
    assert french["status"] == english["status"] == "manual"
    assert french["text"].startswith("Bonjour Fatou Diallo,")
    assert sent_by_email["link"] in french["text"] and "Plan B" in french["text"]
    assert english["text"].startswith("Hello Sam Jones,")
    assert by_hand["link"] in english["text"] and "Test your connection at 2:45" in english["text"]

    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1280, "height": 800}, accept_downloads=True)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=proxima.url)
    page = await context.new_page()
    await login_in_browser(page, proxima.url)
    await page.goto(proxima.url + "/outbox")

    for message, created, method in ((french, sent_by_email, "REQUEST"),
                                     (english, by_hand, "PUBLISH")):
        invitation = page.get_by_role("group", name=message["subject"])
        text = invitation.get_by_role("textbox", name="Texte de l'invitation")
        await expect(text).to_have_value(message["text"])
        await expect(text).to_have_attribute("lang", "fr" if method == "REQUEST" else "en")
        # The whole text is on screen, not in a box to scroll.
        assert await text.evaluate("t => t.scrollHeight <= t.clientHeight + 1")

        await invitation.get_by_role("button", name="Copier l'invitation").click()
        assert await page.evaluate("navigator.clipboard.readText()") == message["text"]

        async with page.expect_download() as info:
            await invitation.get_by_role(
                "link", name="Télécharger le fichier de calendrier (.ics)").click()
        download = await info.value
        assert download.suggested_filename == "rendez-vous.ics"
        raw = await asyncio.to_thread(Path(await download.path()).read_bytes)
        calendar = icalendar.Calendar.from_ical(raw)
        assert str(calendar["METHOD"]) == method
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            [event] = list(ics.Calendar(raw.decode("utf-8")).events)
        assert created["link"] in event.description

    await page.screenshot(path=str(screenshots / "outbox-whole-invitation.png"), full_page=True)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(screenshots / "outbox-laptop.png"))
    assert await axe_violations(page) == []
    assert not await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")

    # Marked as sent by hand: the invitation leaves the page.
    await page.get_by_role("group", name=french["subject"]).get_by_role(
        "button", name="Je l'ai envoyé moi-même").click()
    await expect(page.get_by_role("group", name=french["subject"])).to_have_count(0)
    await expect(page.get_by_role("group", name=english["subject"])).to_have_count(1)


async def test_the_calendar_file_is_for_the_case_worker_or_an_administrator(proxima):
    anne = await proxima.worker()
    bob = await proxima.worker("bob@example.org", "Bob Petit")
    admin = await proxima.worker("root@example.org", "Ada Admin", role="admin")
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(), status=201)
    [message] = (await anne.json("GET", "/api/outbox"))["messages"]
    path = f"/api/outbox/{message['id']}/invitation.ics"

    mine = await anne.request("GET", path)
    assert mine.status == 200
    assert mine.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert mine.headers["Content-Disposition"] == 'attachment; filename="rendez-vous.ics"'
    assert mine.headers["Cache-Control"] == "no-store"
    raw = await mine.read()
    assert created["link"] in raw.decode("utf-8").replace("\r\n ", "")
    assert message["calendar_file"] == path

    assert (await admin.request("GET", path)).status == 200
    refused = await bob.json("GET", path, status=404)
    assert refused["error"] == "message_not_found"
    assert (await proxima.client().request("GET", path)).status == 401
    assert (await anne.request("GET", "/api/outbox/999999/invitation.ics")).status == 404

    entries = (await admin.json("GET", f"/api/audit?case_id={case['id']}"))["entries"]
    reads = [(e["actor"], e["outcome"]) for e in entries if e["action"] == "read_outbox_calendar"]
    me = (await anne.json("GET", "/api/session"))["worker"]["id"]
    other = (await bob.json("GET", "/api/session"))["worker"]["id"]
    root = (await admin.json("GET", "/api/session"))["worker"]["id"]
    assert sorted(reads) == sorted([(f"worker:{me}", "ok"), (f"worker:{root}", "ok"),
                                    (f"worker:{other}", "denied")])

    # Once sent by hand, the message keeps no calendar file.
    await anne.json("POST", f"/api/outbox/{message['id']}/done")
    gone = await anne.json("GET", path, status=409)
    assert gone["error"] == "not_manual"
