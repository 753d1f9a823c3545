"""The end of a group session (issue 10, items 4 and 5): the attendance sheet, the closing, and
each person's case record.

A group session runs on raw sockets: a facilitator, four persons of four cases (one never comes,
one attends by phone, one leaves and comes back), a note-taker and a technical helper, on an
injected wall clock. Then: the attendance CSV has one row per stay with the right times; the
printable sheet (Chromium) has the same rows and an empty signature column; the note-taker's
closing (follow-ups, the next meeting) reaches the records — each person's own follow-ups and
those for everyone — and no case record names another beneficiary or holds their case reference;
a follow-up that would carry another person's name into a record is refused; another worker is
refused everything, and every refusal is audited.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import axe_violations, login_in_browser, new_case
from live_helpers import connect, consent, guest
from test_french_pages import problems_in

from server.base import clock

PARIS = ZoneInfo("Europe/Paris")
PEOPLE = [  # (reference, name)
    ("GRP-A-101", "Alice Moreau"),
    ("GRP-B-202", "Bastien Leroy"),
    ("GRP-C-303", "Chloé Fabre"),
    ("GRP-D-404", "Dominique Garnier"),  # invited, never comes
]


class Wall:
    """The server's wall clock (clock.now), moved by the test: times in the log are exact."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.start = clock.now()
        self.at = self.start
        monkeypatch.setattr(clock, "now", lambda: self.at)

    def to(self, minutes: int) -> dt.datetime:
        self.at = self.start + dt.timedelta(minutes=minutes)
        return self.at

    def local(self, minutes: int) -> str:
        return (self.start + dt.timedelta(minutes=minutes)).astimezone(PARIS).strftime(
            "%Y-%m-%d %H:%M")


async def worker_id(proxima: Any, address: str) -> int:
    worker, _ = await proxima.store.workers.by_email(address)
    return worker.id


async def plan(proxima: Any) -> dict[str, Any]:
    """The facilitator, the note-taker, the technical helper, an outsider, four cases and a
    group starting in five minutes."""
    anne = await proxima.worker("anne@example.org", "Anne Martin", role="facilitator")
    bob = await proxima.worker("bob@example.org", "Bruno Kessler")
    tess = await proxima.worker("tess@example.org", "Tess Dubois")
    marc = await proxima.worker("marc@example.org", "Marc Petit")
    cases = [await new_case(anne, reference=ref, person_name=name, email="")
             for ref, name in PEOPLE]
    start = dt.datetime.now(PARIS) + dt.timedelta(minutes=5)
    body = await anne.json("POST", "/api/groups", {
        "title": "Atelier budget", "date": start.strftime("%Y-%m-%d"),
        "time": start.strftime("%H:%M"), "modality": "video", "duration_minutes": 60,
        "agenda": [{"title": "Tour de table", "minutes": 15},
                   {"title": "Le budget du mois", "minutes": 40}],
        "people": [{"case_id": c["id"]} for c in cases],
        "workers": [{"worker_id": await worker_id(proxima, "bob@example.org"),
                     "role": "note_taker"},
                    {"worker_id": await worker_id(proxima, "tess@example.org"),
                     "role": "technical_helper"}]}, status=201)
    group = await proxima.store.groups.get(body["group"]["id"])
    members = {m["case_id"]: m for m in body["members"] if m.get("case_id")}
    return {"anne": anne, "bob": bob, "tess": tess, "marc": marc, "cases": cases,
            "group": group, "links": body["links"], "members": members,
            "bob_id": await worker_id(proxima, "bob@example.org")}


def link_for(links: list[Any], appointment_id: int, index: int) -> str:
    """A person's link from the planning's answer (links in the order of the people, or each
    with its appointment)."""
    if isinstance(links[index], dict):
        return next(x["link"] for x in links if x["appointment_id"] == appointment_id)
    return str(links[index])


async def person(proxima: Any, link: str, appointment_id: int, modality: str = "video",
                 ) -> tuple[Any, Any, str]:
    """A person's browser on their own link, consented (the group's rule accepted), waiting."""
    client = await guest(proxima, link)
    appointment = await proxima.store.appointments.get(appointment_id)
    wire = await connect(proxima, client, appointment.public_id)
    await consent(wire, modality=modality, rule_accepted=True, others_accepted=True)
    await wire.expect("waiting")
    return client, wire, wire.inbox[0]["id"]


async def run_session(proxima: Any, planned: dict[str, Any], wall: Wall) -> dict[str, Any]:
    """Alice, Bastien and Chloé (by phone) let in at minutes 1, 2 and 3; Alice gone from 20 to
    26; the note-taker's closing at 30; the end at 47. Dominique never comes."""
    group, members = planned["group"], planned["members"]
    browsers, ids = {}, {}
    for i, ((ref, name), case) in enumerate(zip(PEOPLE[:3], planned["cases"], strict=False)):
        modality = "phone" if ref == "GRP-C-303" else "video"
        appointment_id = members[case["id"]]["appointment_id"]
        client, wire, pid = await person(proxima, link_for(planned["links"], appointment_id, i),
                                         appointment_id, modality)
        browsers[name], ids[name] = (client, wire), pid
    host = await connect(proxima, planned["anne"], group.public_id)
    lobby = await host.expect("lobby")
    while len(lobby["waiting"]) < 3:
        lobby = await host.expect("lobby")
    for minute, name in ((1, "Alice Moreau"), (2, "Bastien Leroy"), (3, "Chloé Fabre")):
        wall.to(minute)
        await host.send(type="admit", participant=ids[name])
        await host.expect("lobby")
    wall.to(20)
    await browsers["Alice Moreau"][1].ws.close()
    assert (await host.expect("peer_left"))["peer"] == ids["Alice Moreau"]
    wall.to(26)
    back = await connect(proxima, browsers["Alice Moreau"][0],
                         (await proxima.store.appointments.get(
                             members[planned["cases"][0]["id"]]["appointment_id"])).public_id)
    assert back.inbox[0]["state"] == "in_call"
    return {"host": host, "ids": ids, "wires": {n: w for n, (_, w) in browsers.items()}}


def closing_form(planned: dict[str, Any], day: str, **overrides: Any) -> dict[str, Any]:
    alice, bastien = (planned["members"][c["id"]]["id"] for c in planned["cases"][:2])
    form = {
        "notes": "Alice Moreau et Bastien Leroy proposent un covoiturage.",
        "follow_ups": [
            {"who": "everyone", "what": "Apporter un justificatif de domicile", "by": day},
            {"who": f"person:{alice}", "what": "Appeler la CAF pour l'aide au logement"},
            {"who": f"worker:{planned['bob_id']}",
             "what": "Envoyer le compte rendu à Alice Moreau et Bastien Leroy"},
            {"who": f"person:{bastien}", "what": "", "by": ""},  # an empty row: dropped
        ],
        "next_meeting": {"date": day, "time": "14:00", "modality": "in_person"}}
    form.update(overrides)
    return form


def no_other_beneficiary(body: Any, own: int) -> None:
    """Nothing in a case's JSON names another person of the group or their case."""
    texts = [json.dumps(body, ensure_ascii=False).casefold(), json.dumps(body).casefold()]
    for i, (ref, name) in enumerate(PEOPLE):
        if i == own:
            continue
        for word in [ref, name, *name.split()]:
            for text in texts:
                assert word.casefold() not in text, (PEOPLE[own][1], "holds", word)


async def test_a_group_session_ends_in_each_record_and_on_the_attendance_sheet(
        make_proxima, monkeypatch):
    proxima = await make_proxima(session_idle_minutes=600)
    planned = await plan(proxima)
    group, anne, bob = planned["group"], planned["anne"], planned["bob"]
    closing_url = f"/api/groups/{group.id}/session/closing"
    day = (dt.datetime.now(PARIS).date() + dt.timedelta(days=14)).isoformat()
    # Before the session, nothing to close.
    assert (await bob.json("POST", closing_url, closing_form(planned, day),
                           status=409))["error"] == "no_session"

    wall = Wall(monkeypatch)
    live = await run_session(proxima, planned, wall)

    # During the session, the note-taker writes the closing; what would carry a name into
    # another person's record is refused, and says why.
    wall.to(30)
    bastien = planned["members"][planned["cases"][1]["id"]]["id"]
    refused = await bob.json("POST", closing_url, closing_form(planned, day, follow_ups=[
        {"who": f"person:{bastien}", "what": "Voir avec Alice pour le covoiturage"}]),
        status=400)
    assert refused["field"] == "follow_ups.what" and "« Alice »" in refused["message"]
    refused = await bob.json("POST", closing_url, closing_form(planned, day, follow_ups=[
        {"who": "everyone", "what": "Relire le dossier grp-c-303"}]), status=400)
    assert refused["field"] == "follow_ups.what" and "GRP-C-303" in refused["message"]
    refused = await bob.json("POST", closing_url, closing_form(planned, day, follow_ups=[
        {"who": "person:999999", "what": "Rien"}]), status=400)
    assert refused["field"] == "follow_ups.who"
    written = await bob.json("POST", closing_url, closing_form(planned, day))
    assert written["records"] == 0  # the session goes on: the records get it at its end
    assert len(written["closing"]["follow_ups"]) == 3
    assert written["closing"]["next_meeting"]["modality"] == "in_person"

    wall.to(47)
    await live["host"].send(type="end")
    await live["wires"]["Bastien Leroy"].expect("ended")

    await check_attendance_csv(proxima, planned, wall)
    await check_records(planned, day, live["ids"])

    # After the end, the facilitator adds a follow-up for Bastien: each record gets its part.
    form = closing_form(planned, day)
    form["follow_ups"].append({"who": f"person:{bastien}", "what": "Rapporter le formulaire"})
    assert (await anne.json("POST", closing_url, form))["records"] == 4
    for i, case in enumerate(planned["cases"]):
        body = await anne.json("GET", f"/api/cases/{case['id']}")
        [later] = [e["data"] for e in body["record"] if e["kind"] == "group_closing"]
        whats = [f["what"] for f in later["follow_ups"]]
        assert ("Rapporter le formulaire" in whats) == (i == 1)
        no_other_beneficiary(body, i)

    # The group's own record keeps the notes and every follow-up, for its workers.
    record = await bob.json("GET", f"/api/groups/{group.id}/session")
    assert record["session"]["log"]["closing"]["notes"].startswith("Alice Moreau")
    assert len(record["attendance"]) == 5


async def check_attendance_csv(proxima: Any, planned: dict[str, Any], wall: Wall) -> None:
    group, anne = planned["group"], planned["anne"]
    response = await anne.request("GET", f"/api/groups/{group.id}/attendance.csv",
                                  headers={"Accept": "text/csv"})
    assert response.status == 200
    assert response.content_type == "text/csv" and response.charset == "utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: spreadsheets read the accents
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Nom", "Rôle", "Arrivée", "Départ", "Minutes", "Par téléphone"]
    assert rows[1:] == [
        ["Alice Moreau", "Participant·e", wall.local(1), wall.local(20), "19", "non"],
        ["Anne Martin", "Animateur·rice", wall.local(1), wall.local(47), "46", "non"],
        ["Bastien Leroy", "Participant·e", wall.local(2), wall.local(47), "45", "non"],
        ["Chloé Fabre", "Participant·e", wall.local(3), wall.local(47), "44", "oui"],
        ["Alice Moreau", "Participant·e", wall.local(26), wall.local(47), "21", "non"],
    ]
    english = await anne.request("GET", f"/api/groups/{group.id}/attendance.csv?lang=en")
    lines = (await english.read()).decode("utf-8-sig").splitlines()
    assert lines[0] == "Name,Role,Arrival,Departure,Minutes,By phone"
    assert lines[4] == f"Chloé Fabre,Participant,{wall.local(3)},{wall.local(47)},44,yes"


async def check_records(planned: dict[str, Any], day: str, ids: dict[str, str]) -> None:
    """Each case record holds the session, its own part, and no other beneficiary."""
    anne = planned["anne"]
    expected_stays = {0: 2, 1: 1, 2: 1, 3: 0}
    for i, case in enumerate(planned["cases"]):
        body = await anne.json("GET", f"/api/cases/{case['id']}")
        [part] = [e["data"] for e in body["record"] if e["kind"] == "group_session"]
        assert part["participants"] == 4  # the facilitator and three persons came
        assert part["attended"] is (i < 3)
        assert len(part["attendance"]["stays"]) == expected_stays[i]
        assert part["attendance"].get("by_phone", False) is (i == 2)
        assert part["duration_seconds"] == 46 * 60
        whats = {f["what"]: f["who"] for f in part["follow_ups"]}
        assert whats["Apporter un justificatif de domicile"] == "everyone"
        assert ("Appeler la CAF pour l'aide au logement" in whats) is (i == 0)
        assert not any("compte rendu" in w for w in whats)  # a worker's: stays with the group
        assert part["next_meeting"]["modality"] == "in_person"
        assert part["next_meeting"]["starts_at"].startswith(day[:4])
        own = {ids[PEOPLE[i][1]]} if i < 3 else set()
        assert {c["participant"] for c in part["consents"]} == own  # their own consents only
        assert "covoiturage" not in json.dumps(part)  # the notes stay with the group
        no_other_beneficiary(body, i)


async def ended_session(proxima: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A group session run and ended (at minute 47), with the note-taker's closing."""
    planned = await plan(proxima)
    wall = Wall(monkeypatch)
    live = await run_session(proxima, planned, wall)
    day = (dt.datetime.now(PARIS).date() + dt.timedelta(days=14)).isoformat()
    await planned["bob"].json("POST", f"/api/groups/{planned['group'].id}/session/closing",
                              closing_form(planned, day))
    wall.to(47)
    await live["host"].send(type="end")
    await live["wires"]["Bastien Leroy"].expect("ended")
    return {**planned, "wall": wall}


async def test_only_the_groups_workers_see_the_end_and_refusals_are_audited(
        make_proxima, monkeypatch):
    proxima = await make_proxima(session_idle_minutes=600)
    ended = await ended_session(proxima, monkeypatch)
    group, marc, tess = ended["group"], ended["marc"], ended["tess"]
    marc_id = await worker_id(proxima, "marc@example.org")
    base = f"/api/groups/{group.id}"
    # Another worker: as if the group did not exist, on every route.
    for method, path in (("GET", f"{base}/attendance.csv"), ("GET", f"{base}/session"),
                         ("POST", f"{base}/session/closing"),
                         ("GET", f"/groups/{group.id}/attendance")):
        response = await marc.request(method, path, json={} if method == "POST" else None)
        assert response.status == 404, (method, path, response.status)
        assert "Alice" not in await response.text()
    entries = await proxima.store.audit.entries()
    denied = {(e["action"], e["target"]) for e in entries
              if e["actor"] == f"worker:{marc_id}" and e["outcome"] == "denied"}
    assert denied >= {("read_attendance", f"group:{group.id}"),
                      ("read_group_session", f"group:{group.id}"),
                      ("close_group_session", f"group:{group.id}")}
    # The technical helper reads the sheet but does not write the end.
    response = await tess.request("GET", f"{base}/attendance.csv")
    assert response.status == 200
    refused = await tess.json("POST", f"{base}/session/closing", {"notes": "x"}, status=403)
    assert refused["error"] == "not_note_taker"
    entries = await proxima.store.audit.entries()
    tess_id = await worker_id(proxima, "tess@example.org")
    assert any(e["actor"] == f"worker:{tess_id}" and e["action"] == "read_attendance"
               and e["outcome"] == "ok" for e in entries)
    tess_closing = [e["outcome"] for e in entries if e["actor"] == f"worker:{tess_id}"
                    and e["action"] == "close_group_session"]
    assert tess_closing == ["denied"]
    # The group's pages with a session and a closing read in French (tests/test_french_pages.py
    # shows them with a group that has no session yet).
    for path in (f"/groups/{group.id}", f"/groups/{group.id}/attendance"):
        response = await ended["bob"].request("GET", path, headers={
            "Accept": "text/html", "Accept-Language": "fr-FR,fr;q=0.9"})
        assert response.status == 200
        assert problems_in(await response.text(), path) == []


async def test_the_printable_attendance_sheet(make_proxima, monkeypatch, new_context,
                                              screenshots):
    proxima = await make_proxima(session_idle_minutes=600)
    ended = await ended_session(proxima, monkeypatch)
    group, wall = ended["group"], ended["wall"]
    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await login_in_browser(page, proxima.url)
    await page.goto(proxima.url + f"/groups/{group.id}/attendance")
    await page.get_by_role("heading", name=re.compile("Feuille d'émargement")).wait_for()
    table = page.get_by_role("table")
    headers = await table.get_by_role("columnheader").all_inner_texts()
    assert headers == ["Nom", "Rôle", "Arrivée", "Départ", "Minutes", "Par téléphone",
                       "Signature"]
    rows = await table.locator("tbody tr").all()
    cells = [await row.get_by_role("cell").all_inner_texts() for row in rows]
    hour = (wall.start + dt.timedelta(minutes=3)).astimezone(PARIS).strftime("%H:%M")
    assert [c[0] for c in cells] == ["Alice Moreau", "Anne Martin", "Bastien Leroy",
                                     "Chloé Fabre", "Alice Moreau"]
    assert cells[3][1:] == ["Participant·e", hour, wall.local(47)[-5:], "44", "oui", ""]
    assert all(c[6] == "" for c in cells)  # the signature column, for the paper file
    await page.get_by_text("Invité·es absent·es : Dominique Garnier").wait_for()
    assert await page.get_by_role("link", name=re.compile("Télécharger la feuille")).count() == 1
    assert await page.get_by_role("button", name="Imprimer").is_visible()
    assert await axe_violations(page) == []
    await page.screenshot(path=str(screenshots / "attendance-screen.png"), full_page=True)
    await page.emulate_media(media="print")
    assert not await page.get_by_role("button", name="Imprimer").is_visible()
    assert not await page.get_by_role("navigation").is_visible()
    await page.screenshot(path=str(screenshots / "attendance-print.png"), full_page=True)


async def test_the_group_page_shows_the_record_and_the_note_taker_writes_the_end(
        make_proxima, monkeypatch, new_context, screenshots):
    proxima = await make_proxima(session_idle_minutes=600)
    ended = await ended_session(proxima, monkeypatch)
    group = ended["group"]
    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await login_in_browser(page, proxima.url, "bob@example.org")
    await page.goto(proxima.url + f"/groups/{group.id}")
    record = page.get_by_role("region", name="Le compte rendu de la séance")
    sheet = record.get_by_role("table", name="Feuille d'émargement")
    assert await sheet.locator("tbody tr").count() == 5
    follow_ups = record.locator("#follow-ups li")
    assert await follow_ups.all_inner_texts() == [
        f"Tout le monde — Apporter un justificatif de domicile (pour le {await french_day(page)})",
        "Alice Moreau — Appeler la CAF pour l'aide au logement",
        "Bruno Kessler — Envoyer le compte rendu à Alice Moreau et Bastien Leroy"]

    # The form holds what was written; a fourth follow-up for Bastien, first with a name that
    # is not his: refused, in plain words, and nothing is lost.
    await record.get_by_text("Écrire les suites à donner et la prochaine rencontre").click()
    form = record.locator("#closing-form")
    assert await form.get_by_label("Action 1 : quoi").input_value() == \
        "Apporter un justificatif de domicile"
    await form.get_by_label("Action 4 : qui").select_option(label="Bastien Leroy")
    await form.get_by_label("Action 4 : quoi").fill("Passer voir Chloé pour le formulaire")
    await form.get_by_role("button", name="Enregistrer la fin de la séance").click()
    alert = form.get_by_role("alert")
    await alert.wait_for()
    assert "« Chloé »" in (await alert.inner_text()) and "sans le nom des autres" in \
        await alert.inner_text()
    assert await form.get_by_label("Action 4 : quoi").input_value() == \
        "Passer voir Chloé pour le formulaire"
    await form.screenshot(path=str(screenshots / "group-closing-refused.png"))
    await form.get_by_label("Action 4 : quoi").fill("Rapporter le formulaire signé")
    await form.get_by_label("Action 4 : pour quand (facultatif)").fill("2030-01-15")
    async with page.expect_navigation():
        await form.get_by_role("button", name="Enregistrer la fin de la séance").click()
    await page.locator("#follow-ups li", has_text="Rapporter le formulaire signé").wait_for()
    assert await axe_violations(page) == []
    await page.locator("#record-title").scroll_into_view_if_needed()
    await page.screenshot(path=str(screenshots / "group-record.png"), full_page=True)

    # Bastien's record got it at once (the session had ended), Alice's did not.
    anne = ended["anne"]
    for i, case in enumerate(ended["cases"][:2]):
        body = await anne.json("GET", f"/api/cases/{case['id']}")
        [closing] = [e["data"] for e in body["record"] if e["kind"] == "group_closing"]
        mine = [f for f in closing["follow_ups"] if f["what"] == "Rapporter le formulaire signé"]
        assert mine == ([{"who": "this_person", "what": "Rapporter le formulaire signé",
                          "by": "2030-01-15"}] if i == 1 else [])
        no_other_beneficiary(body, i)


async def french_day(page: Any) -> str:
    """The date of the follow-up "by" (14 days ahead), as the French console writes it."""
    from babel.dates import format_date
    day = dt.datetime.now(PARIS).date() + dt.timedelta(days=14)
    del page
    return format_date(day, "full", locale="fr")
