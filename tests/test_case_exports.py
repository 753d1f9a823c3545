"""A case record's exports (issue 12, item 2): "Exports open (the printable page rendered in
Chromium) and hold what the record holds".

A case is filled through the real server: an appointment, a session held over the signalling
socket and ended, the closing form's notes and follow-ups, and a next appointment. The CSV (UTF-8
with a byte order mark, ``;`` in French) and the JSON (the record of GET /api/cases/{id}, with a
schema version; valid against docs/schemas/case-record.v1.schema.json) hold every entry; the
printable page renders in Chromium, axe-clean, with the notes' text; another worker gets 404,
and every read and refusal is in the audit log.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import referencing
from conftest import axe_violations, login_in_browser
from live_helpers import session_closed
from test_signalling import soon_date

NOTES = "Dossier logement à compléter ; la CAF demande l'avis d'imposition."
FOLLOW_UP = "Appeler la CAF avant vendredi"
SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def check_against_schema(exported: dict) -> None:
    """The JSON export is valid against its published schema (which takes each entry's shape
    from the webhooks' schema, as a receiver resolving the relative reference would)."""
    schemas = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema.json")}
    registry = referencing.Registry().with_resources(
        (schema["$id"], referencing.Resource.from_contents(schema)) for schema in schemas.values())
    validator = jsonschema.Draft202012Validator(
        schemas["case-record.v1.schema.json"], registry=registry,
        format_checker=jsonschema.FormatChecker())
    validator.validate(exported)


async def filled_case(proxima):
    """A case with an appointment, a session held and ended, and its closing."""
    call = await session_closed(proxima, {
        "notes": NOTES, "follow_ups": [{"who": "Anne Martin", "what": FOLLOW_UP}],
        "next_appointment": {"date": soon_date(7), "time": "10:00", "modality": "audio"}})
    anne = call["anne"]
    return anne, call["case"]


async def audited(proxima, action):
    return [(e["outcome"], e["case_id"], e["target"]) for e in
            reversed(await proxima.store.audit.entries()) if e["action"] == action]


async def test_the_exports_hold_every_entry_of_the_record(proxima):
    anne, case = await filled_case(proxima)
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    kinds = [e["kind"] for e in record]
    assert {"case_opened", "appointment_created", "session_log", "session_closing"} <= set(kinds)

    # JSON: the same record, with the schema's version.
    exported = await anne.json("GET", f"/api/cases/{case['id']}/record.json")
    assert exported["schema_version"] == 1
    assert exported["case"]["person_name"] == "Fatou Diallo"
    assert exported["record"] == record
    check_against_schema(exported)
    [closing] = [e["data"] for e in exported["record"] if e["kind"] == "session_closing"]
    assert closing["notes"] == NOTES  # sealed in the database, opened for the worker's read

    # CSV: UTF-8 with a byte order mark, ";" in French, one line per entry.
    response = await anne.request("GET", f"/api/cases/{case['id']}/record.csv",
                                  headers={"Accept-Language": "fr"})
    assert response.status == 200 and response.content_type == "text/csv"
    assert "dossier-" in response.headers["Content-Disposition"]
    body = await response.read()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Date", "Entrée", "Rendez-vous", "Détails"]
    assert len(rows) - 1 == len(record)
    labels = [r[1] for r in rows[1:]]
    assert labels.count("Séance d'entretien") == 1
    assert labels.count("Rendez-vous planifié") == kinds.count("appointment_created") == 2
    [closing_row] = [r for r in rows[1:] if r[1] == "Notes et suites de l'entretien"]
    assert NOTES in closing_row[3] and FOLLOW_UP in closing_row[3]
    [session_row] = [r for r in rows[1:] if r[1] == "Séance d'entretien"]
    assert "Fatou Diallo" in session_row[3] and "Anne Martin" in session_row[3]

    # In English: "," and English words.
    response = await anne.request("GET", f"/api/cases/{case['id']}/record.csv?lang=en")
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert rows[0] == ["Date", "Entry", "Appointment", "Details"]
    assert "Interview notes and follow-ups" in [r[1] for r in rows]

    # Every read is audited with the case.
    assert await audited(proxima, "export_case_json") == [("ok", case["id"], "")]
    assert [o for o, _, _ in await audited(proxima, "export_case_csv")] == ["ok", "ok"]


async def test_another_workers_case_is_not_found_and_the_refusal_audited(proxima):
    _anne, case = await filled_case(proxima)
    bob = await proxima.worker(email="bob@example.org", name="Bob Leroy")
    for path, action in ((f"/api/cases/{case['id']}/record.json", "export_case_json"),
                         (f"/api/cases/{case['id']}/record.csv", "export_case_csv"),
                         (f"/cases/{case['id']}/record/print", "print_case_record")):
        response = await bob.request("GET", path)
        assert response.status == 404, path
        assert (await response.json())["error"] == "case_not_found"
        assert NOTES not in await response.text()
        assert await audited(proxima, action) == [("denied", case["id"], "")]
    # A case that does not exist answers the same.
    response = await bob.request("GET", "/api/cases/999999/record.json")
    assert response.status == 404 and (await response.json())["error"] == "case_not_found"
    # An administrator may export any case.
    admin = await proxima.worker(email="root@example.org", name="Admin", role="admin")
    exported = await admin.json("GET", f"/api/cases/{case['id']}/record.json")
    assert any(e["kind"] == "session_closing" for e in exported["record"])


async def test_the_printable_record_in_chromium(proxima, new_context, screenshots):
    from playwright.async_api import expect

    _anne, case = await filled_case(proxima)
    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await login_in_browser(page, proxima.url)
    await page.goto(f"{proxima.url}/cases/{case['id']}")
    await page.get_by_role("link", name="page à imprimer").click()
    await page.wait_for_url(f"**/cases/{case['id']}/record/print")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Fatou Diallo")
    await expect(page.get_by_text(NOTES)).to_be_visible()
    await expect(page.get_by_text(FOLLOW_UP)).to_be_visible()
    await expect(page.get_by_role("button", name="Imprimer")).to_be_visible()
    assert await axe_violations(page) == []
    await page.screenshot(path=str(screenshots / "case-record-print.png"), full_page=True)
    # On paper: no menu and no buttons, the notes still there.
    await page.emulate_media(media="print")
    await expect(page.get_by_role("button", name="Imprimer")).to_be_hidden()
    await expect(page.get_by_role("navigation")).to_be_hidden()
    await expect(page.get_by_text(NOTES)).to_be_visible()
    await page.screenshot(path=str(screenshots / "case-record-printed.png"), full_page=True)


def test_a_group_session_exports_only_this_persons_part():
    """A group session's entry, as services/records.py writes it to one person's record: the CSV
    row names nobody of the group, and says how many took part and that this person came."""
    import datetime as dt

    from server.domain.case_export import Code, as_rows
    from server.domain.models import CaseEntry
    from server.domain.session_log import SessionLog
    from server.services.records import person_part

    start = dt.datetime(2026, 3, 2, 13, 0, tzinfo=dt.UTC)
    log = SessionLog(started_at=start.isoformat())
    log.joined("w:1", "Anne Martin", "worker", start)
    log.joined("g:7", "Fatou Diallo", "person", start)
    log.joined("g:8", "Karim Benali", "person", start + dt.timedelta(minutes=2))
    log.closing = {"notes": "Karim Benali parlera de son logement.", "follow_ups": [
        {"who": "everyone", "what": "Apporter un relevé de compte"},
        {"who": "person:9", "what": "Karim Benali: appeler la CAF"}]}
    log.finish(start + dt.timedelta(minutes=50), "ended_by_worker", start)
    entry = CaseEntry(1, 1, start, "group_session", 3, person_part(log, ["g:7"], 3, 8))
    [[_, label, _, text]] = as_rows(
        [entry], lambda s: s, lambda v: v.msgid if isinstance(v, Code) else str(v))
    assert label == "Group session"
    assert "Karim" not in text and "Benali" not in text and "Anne" not in text
    assert "Participants: 3" in text and "Attended: yes" in text
    assert "Follow-up: Apporter un relevé de compte" in text and "Minutes: 50" in text


def test_why_a_message_failed_and_a_tests_advice_are_said_in_words():
    """The case page's words for a message not sent and a connection test's advice, in French."""
    import datetime as dt

    from server.base import i18n
    from server.domain.case_export import Code, as_rows
    from server.domain.models import CaseEntry

    at = dt.datetime(2026, 3, 2, 13, 0, tzinfo=dt.UTC)
    tr = i18n.translations("fr")
    entries = [CaseEntry(1, 1, at, "invitation_failed", 3, {
                   "message": "invitation", "channel": "email", "reason": "recipient_refused",
                   "attempts": 1, "will_retry": False}),
               CaseEntry(2, 1, at, "test_done", 3, {
                   "recommendation": "audio", "figures": {}, "browser": "Chrome",
                   "device": "iPhone"})]
    rows = as_rows(entries, tr.gettext,
                   lambda v: tr.gettext(v.msgid) if isinstance(v, Code) else str(v))
    assert rows[0][1] == "Message non envoyé"
    assert rows[0][3].startswith("Raison: ")
    assert "a refusé l'adresse" in rows[0][3]
    assert rows[1][3].splitlines() == ["Conseil: son seulement conseillé", "Navigateur: Chrome",
                                       "Appareil: iPhone"]
