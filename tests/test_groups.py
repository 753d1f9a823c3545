"""Planning a group session (issue 10, item 1): the API with a real SMTP server, then the console's
pages in Chromium.

A facilitator plans a group with people from their own cases, a person from a colleague's case
(only with the colleague's agreement, which is recorded) and a co-worker as note-taker. Each
person gets their own invitation, with their own link and calendar file; it says how many take
part and the group's rule, and never names another beneficiary. Only the group's workers see
the group. The act is whole: a failure on the fourth person leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from conftest import axe_violations, eventually, login_in_browser, new_case
from playwright.async_api import expect

PEOPLE = [  # (reference, name, email)
    ("GRP-01", "Fatou Diallo", "fatou@example.net"),
    ("GRP-02", "Karim Benali", "karim@example.net"),
    ("GRP-03", "Sophie Lefèvre", "sophie@example.net"),
]
COLLEAGUES_PERSON = ("GRP-04", "Yasmine Haddad", "yasmine@example.net")
RULE = "Ce qui est dit dans le groupe reste dans le groupe."


def group_form(people: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    """A valid group session a few days ahead, in Europe/Paris local time."""
    day = (dt.datetime.now(ZoneInfo("Europe/Paris")).date() + dt.timedelta(days=4)).isoformat()
    form = {"title": "Atelier logement", "date": day, "time": "14:00", "modality": "video",
            "duration_minutes": 90,
            "agenda": [{"title": "Tour de table", "minutes": 15},
                       {"title": "Vos droits au logement", "minutes": 40},
                       {"title": "Questions", "minutes": 20}],
            "rule": RULE, "speaking_rules": "Levez la main pour parler.",
            "incident_phone": "01 23 45 67 89", "people": people, "workers": []}
    form.update(overrides)
    return form


async def worker_id(proxima: Any, email_address: str) -> int:
    worker, _ = await proxima.store.workers.by_email(email_address)
    return worker.id


async def cases_for(client: Any, people: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [await new_case(client, reference=ref, person_name=name, email=address)
            for ref, name, address in people]


def parse(envelope: Any) -> tuple[Any, str, Any]:
    """The message, everything a person reads in it (subject, text, HTML, calendar file, and
    the headers), and its calendar."""
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    parts = {part.get_content_type(): part for part in message.walk()}
    ics = parts["text/calendar"].get_content()
    unfolded = ics.replace("\r\n ", "").replace("\r\n\t", "")
    readable = "\n".join([*(f"{k}: {v}" for k, v in message.items()),
                          parts["text/plain"].get_content(), parts["text/html"].get_content(),
                          unfolded])
    return message, readable, icalendar.Calendar.from_ical(ics)


async def test_a_group_is_planned_each_person_invited_and_nobody_named(make_proxima,
                                                                        smtp_server):
    proxima = await make_proxima(smtp_url=smtp_server.url)
    anne = await proxima.worker("anne@example.org", "Anne Martin", role="facilitator")
    luc = await proxima.worker("luc@example.org", "Luc Moreau")
    marc_client = await proxima.worker("marc@example.org", "Marc Petit")
    outsider = await proxima.worker("eve@example.org", "Ève Roux")
    mine = await cases_for(anne, PEOPLE)
    [colleagues] = await cases_for(luc, [COLLEAGUES_PERSON])
    people = [{"case_id": c["id"]} for c in mine]
    marc = await worker_id(proxima, "marc@example.org")
    workers = [{"worker_id": marc, "role": "note_taker"}]

    # A colleague's case: refused without their agreement, and nothing is sent.
    refused = await anne.json("POST", "/api/groups", group_form(
        [*people, {"case_id": colleagues["id"]}], workers=workers), status=400)
    assert refused["field"] == "people"
    assert str(colleagues["id"]) in refused["message"]
    assert await proxima.store.groups.for_worker(None) == []

    created = await anne.json("POST", "/api/groups", group_form(
        [*people, {"case_id": colleagues["id"], "agreed": True}], workers=workers), status=201)
    group = created["group"]
    assert group["title"] == "Atelier logement" and group["rule"] == RULE
    assert [a["minutes"] for a in group["agenda"]] == [15, 40, 20]
    assert created["facilitator"]["name"] == "Anne Martin"
    members = created["members"]
    assert [(m["role"], m["name"]) for m in members] == [
        ("note_taker", "Marc Petit"), *(("person", name) for _, name, _ in PEOPLE),
        ("person", COLLEAGUES_PERSON[1])]
    persons = [m for m in members if m["role"] == "person"]
    assert all(m["link_state"] == "valid" for m in persons)
    # The colleague's agreement is recorded with the person, by whom and when; mine need none.
    luc_id = await worker_id(proxima, "luc@example.org")
    agreement = persons[-1]["agreement"]
    assert agreement["worker_id"] == luc_id and agreement["agreed"] is True
    assert agreement["recorded_by"] == group["facilitator_id"] and agreement["at"]
    assert [m["agreement"] for m in persons[:3]] == [None, None, None]

    # One link each, for each person's own appointment.
    links = {entry["appointment_id"]: entry["link"] for entry in created["links"]}
    assert set(links) == {m["appointment_id"] for m in persons}
    assert len(set(links.values())) == 4

    # Each person gets their own email: their link, how many take part, the rule; no other
    # beneficiary's name anywhere in it, nor in its calendar file.
    names = {address: name for _, name, address in [*PEOPLE, COLLEAGUES_PERSON]}
    envelopes = await smtp_server.mailbox.wait(4)
    await eventually(lambda: len(smtp_server.mailbox.messages) == 4)
    assert sorted(e.rcpt_tos[0] for e in envelopes) == sorted(names)
    by_case = {m["case_id"]: links[m["appointment_id"]] for m in persons}
    link_of = {c["email"]: by_case[c["id"]] for c in [*mine, colleagues]}
    for envelope in envelopes:
        [to] = envelope.rcpt_tos
        _, readable, calendar = parse(envelope)
        assert names[to] in readable
        assert link_of[to] in readable
        assert [other for other in link_of.values() if other != link_of[to] and
                other in readable] == []
        for other in set(names.values()) - {names[to]}:
            for word in other.split():
                assert word not in readable, (to, other)
        assert "6 personnes en tout" in readable  # 4 people, Marc and Anne
        assert RULE in readable and "Atelier logement" in readable
        [event] = [c for c in calendar.walk() if c.name == "VEVENT"]
        assert [str(a) for a in [event["ATTENDEE"]]] == [f"mailto:{to}"]

    # Each case's record holds its own appointment in the group, and no one else's name.
    for case in [*mine, colleagues]:
        owner = luc if case is colleagues else anne
        body = await owner.json("GET", f"/api/cases/{case['id']}")
        [appointment] = body["appointments"]
        assert appointment["group_id"] == group["id"]
        others = set(names.values()) - {case["person_name"]}
        assert not any(name in str(body["record"]) for name in others)

    # The group's workers see it; another worker gets 404, written to the audit log.
    seen = await marc_client.json("GET", f"/api/groups/{group['id']}")
    assert [m["name"] for m in seen["members"]] == [m["name"] for m in members]
    assert [g["id"] for g in (await marc_client.json("GET", "/api/groups"))["groups"]] == \
        [group["id"]]
    assert (await outsider.json("GET", "/api/groups"))["groups"] == []
    body = await outsider.json("GET", f"/api/groups/{group['id']}", status=404)
    assert body["error"] == "group_not_found"
    eve = await worker_id(proxima, "eve@example.org")
    [denied] = [e for e in await proxima.store.audit.entries()
                if e["actor"] == f"worker:{eve}" and e["action"] == "read_group"]
    assert denied["outcome"] == "denied" and denied["target"] == f"group:{group['id']}"
    # Inviting a colleague's person without agreement was refused, and that is audited too.
    audit = [(e["action"], e["outcome"], e["case_id"]) for e in await proxima.store.audit.entries()]
    assert ("invite_to_group", "denied", colleagues["id"]) in audit
    assert ("invite_to_group", "ok", colleagues["id"]) in audit


async def test_two_to_six_participants_each_once(proxima):
    anne = await proxima.worker()
    await proxima.worker("marc@example.org", "Marc Petit")
    marc = await worker_id(proxima, "marc@example.org")
    anne_id = await worker_id(proxima, "anne@example.org")
    cases = await cases_for(anne, [(f"R{i}", f"Personne {chr(65 + i)}", f"p{i}@example.net")
                                   for i in range(7)])
    people = [{"case_id": c["id"]} for c in cases]
    for sent, field in ((people[:1], "people"), (people[:7], "people"),
                        ([people[0], people[0]], "people")):
        body = await anne.json("POST", "/api/groups", group_form(sent), status=400)
        assert body["field"] == field, body
    for workers, field in (([{"worker_id": marc, "role": "note_taker"}] * 2, "workers"),
                           ([{"worker_id": anne_id, "role": "co_worker"}], "workers"),
                           ([{"worker_id": 999_999, "role": "co_worker"}], "workers"),
                           ([{"worker_id": marc, "role": "facilitator"}], "workers.role")):
        body = await anne.json("POST", "/api/groups", group_form(people[:2], workers=workers),
                               status=400)
        assert body["field"] == field, body
    six = await anne.json("POST", "/api/groups", group_form(
        people[:5], workers=[{"worker_id": marc, "role": "technical_helper"}]), status=201)
    assert len(six["members"]) == 6
    body = await anne.json("POST", "/api/groups", group_form(
        people[:6], workers=[{"worker_id": marc, "role": "co_worker"}]), status=400)
    assert body["field"] == "people"
    two = await anne.json("POST", "/api/groups", group_form(people[:2]), status=201)
    assert len(two["members"]) == 2


async def test_the_form_is_checked_before_anything_is_written(proxima):
    anne = await proxima.worker()
    cases = await cases_for(anne, PEOPLE[:2])
    people = [{"case_id": c["id"]} for c in cases]
    long_agenda = [{"title": "Tout", "minutes": 50}, {"title": "Encore", "minutes": 50}]
    for overrides, field in (
            ({"agenda": long_agenda}, "agenda"), ({"agenda": []}, "agenda"),
            ({"duration_minutes": 120}, "duration_minutes"),
            ({"duration_minutes": 10}, "duration_minutes"),
            ({"duration_minutes": "90"}, "duration_minutes"), ({"title": 5}, "title"),
            ({"title": "  "}, "title"), ({"date": "2020-01-01"}, "date"),
            ({"modality": "carrier pigeon"}, "modality"), ({"colour": "blue"}, "colour"),
            ({"people": [{"case_id": cases[0]["id"], "agreed": "yes"}]}, "people"),
            ({"people": [{"case_id": 2**63}, {"case_id": cases[1]["id"]}]}, "people"),
            ({"test_minutes": 500}, "test_minutes"), ({"rule": ["x"]}, "rule"),
            ({"incident_phone": "call me"}, "incident_phone")):
        body = await anne.json("POST", "/api/groups", {**group_form(people), **overrides},
                               status=400)
        assert body["field"] == field, (overrides, body)
    assert await proxima.store.groups.for_worker(None) == []
    assert await proxima.store.appointments.for_case(cases[0]["id"]) == []
    # The default rule and speaking rules, in the facilitator's language, when none is given.
    created = await anne.json("POST", "/api/groups", group_form(
        people, rule="", speaking_rules="", duration_minutes=75.0, test_minutes=10.0),
        status=201, headers={"Accept-Language": "fr"})
    assert created["group"]["rule"] == "Ce qui est dit dans le groupe reste dans le groupe."
    assert created["group"]["speaking_rules"].startswith("Levez la main")
    assert created["group"]["duration_minutes"] == 75


async def test_a_failure_on_the_fourth_person_leaves_nothing(make_proxima, smtp_server):
    proxima = await make_proxima(smtp_url=smtp_server.url)
    anne = await proxima.worker()
    cases = await cases_for(anne, [*PEOPLE, COLLEAGUES_PERSON])
    fourth = cases[3]["id"]
    # The database refuses the fourth person's appointment (a real SQLite failure, mid-act).
    await proxima.store.db.run(lambda c: c.execute(
        "CREATE TRIGGER fail_fourth BEFORE INSERT ON appointments"
        f" WHEN NEW.case_id = {fourth} BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"))
    response = await anne.request("POST", "/api/groups",
                                  json=group_form([{"case_id": c["id"]} for c in cases]))
    assert response.status == 500

    assert await proxima.store.groups.for_worker(None) == []
    for case in cases:
        assert await proxima.store.appointments.for_case(case["id"]) == []
        kinds = [e.kind for e in await proxima.store.entries.for_case(case["id"])]
        assert kinds == ["case_opened"], kinds
    assert await proxima.store.outbox.listing(None) == []
    audit = [e["action"] for e in await proxima.store.audit.entries()]
    assert "create_group" not in audit and "invite_to_group" not in audit

    # Once the database takes it again, the same form plans the group, whole.
    await proxima.store.db.run(lambda c: c.execute("DROP TRIGGER fail_fourth"))
    created = await anne.json("POST", "/api/groups",
                              group_form([{"case_id": c["id"]} for c in cases]), status=201)
    assert len(created["links"]) == 4
    await smtp_server.mailbox.wait(4)
    assert len(smtp_server.mailbox.messages) == 4
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+/j/\S+", created["links"][0]["link"])


# -- the console: planning a group through the form, in Chromium at laptop size ----------------

async def test_a_facilitator_plans_a_group_in_the_console(proxima, new_context, screenshots):
    anne = await proxima.worker("anne@example.org", "Anne Martin", role="facilitator")
    luc = await proxima.worker("luc@example.org", "Luc Moreau")
    await proxima.worker("marc@example.org", "Marc Petit")
    await cases_for(anne, PEOPLE)
    [colleagues] = await cases_for(luc, [COLLEAGUES_PERSON])
    day = (dt.datetime.now(ZoneInfo("Europe/Paris")).date() + dt.timedelta(days=4)).isoformat()

    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await login_in_browser(page, proxima.url)
    await page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Séances de groupe").click()
    await expect(page.get_by_role("heading", name="Séances de groupe")).to_be_visible()
    await expect(page.get_by_text("Pas encore de séance de groupe.")).to_be_visible()
    assert await axe_violations(page) == []
    await page.get_by_role("link", name="Planifier une séance de groupe").click()
    await expect(page.get_by_role("heading", name="Planifier une séance de groupe")).to_be_visible()

    await page.get_by_label("Nom de la séance de groupe").fill("Atelier logement")
    for n, (title, minutes) in enumerate((("Tour de table", 15), ("Vos droits", 40),
                                          ("Questions", 15), ("Pour la suite", 10)), 1):
        if n == 4:  # three rows at first; a fourth one on demand, which gets the focus
            await page.get_by_role("button", name="Ajouter un point à l'ordre du jour").click()
            await expect(page.get_by_label("Point 4 : titre")).to_be_focused()
        await page.get_by_label(f"Point {n} : titre").fill(title)
        await page.get_by_label(f"Point {n} : minutes").fill(str(minutes))
    await page.get_by_label("Date", exact=True).fill(day)
    await page.get_by_label(re.compile("Heure de début")).fill("14:00")
    # The rules come filled in with the defaults, in French.
    await expect(page.get_by_label("La règle du groupe (tout le monde l'accepte)")).to_have_value(
        "Ce qui est dit dans le groupe reste dans le groupe.")
    await expect(page.get_by_label("Règles pour prendre la parole")).to_have_value(
        re.compile("^Levez la main pour parler"))
    for ref, name, _ in PEOPLE:
        await page.get_by_label(f"{name} ({ref})").check()
    await page.get_by_label("Numéro du dossier").fill(str(colleagues["id"]))
    await page.get_by_label("Collègue 1", exact=True).select_option(label="Marc Petit")
    await expect(page.get_by_label("Collègue 1 : rôle")).to_have_value("note_taker")

    # Without the colleague's agreement: refused, said plainly, nothing planned.
    submit = page.get_by_role("button", name="Planifier et envoyer les invitations")
    await submit.click()
    await expect(page.get_by_role("alert")).to_contain_text(
        f"Le dossier numéro {colleagues['id']} est suivi par un collègue")
    await expect(page.get_by_label("Fatou Diallo (GRP-01)")).to_be_focused()  # the list's first
    assert await proxima.store.groups.for_worker(None) == []
    await page.get_by_label("Son professionnel est d'accord").check()
    await page.screenshot(path=str(screenshots / "group-form.png"), full_page=True)
    assert await axe_violations(page) == []
    await submit.click()
    await page.wait_for_url(re.compile(r"/groups/\d+$"))

    # The group's page: what was planned, the members, each person's new link once.
    [group] = await proxima.store.groups.for_worker(None)
    await expect(page.get_by_role("heading", name="Atelier logement")).to_be_visible()
    assert [(a.title, a.minutes) for a in group.agenda] == [
        ("Tour de table", 15), ("Vos droits", 40), ("Questions", 15), ("Pour la suite", 10)]
    await expect(page.locator("ol.list li")).to_have_count(4)
    await expect(page.get_by_role("listitem").filter(has_text="Marc Petit")).to_contain_text(
        "Secrétaire de séance")
    rows = page.locator("#people tbody tr")
    await expect(rows).to_have_count(4)
    links = []
    for _, name, _ in [*PEOPLE, COLLEAGUES_PERSON]:
        row = rows.filter(has=page.get_by_role("rowheader", name=re.compile(name)))
        field = row.get_by_role("textbox")
        await expect(field).to_have_value(re.compile(r"^https://127\.0\.0\.1:\d+/j/"))
        links.append(await field.input_value())
        await expect(row.get_by_role("button", name=f"Copier le lien ({name})")).to_be_visible()
        await expect(row).to_contain_text("Le lien fonctionne jusqu'au")
    assert len(set(links)) == 4
    await page.screenshot(path=str(screenshots / "group-page-new-links.png"), full_page=True)
    colleague_row = rows.filter(has_text=COLLEAGUES_PERSON[1])
    await expect(colleague_row).to_contain_text(
        "Dossier suivi par Luc Moreau, qui a donné son accord")
    await expect(colleague_row.get_by_role("link")).to_have_count(0)  # Luc's case, not Anne's
    await page.get_by_role("link", name="Page du rendez-vous (Fatou Diallo)").click()
    await expect(page.get_by_role("heading", name="Rendez-vous avec Fatou Diallo")).to_be_visible()
    await page.go_back()
    # Shown once: back on the page, the links are gone; the live room is a link away.
    await page.reload()
    await expect(page.locator("[data-new-link]:visible")).to_have_count(0)
    await expect(page.get_by_role("link", name="Ouvrir la séance de groupe")).to_have_attribute(
        "href", f"/groups/{group.id}/live")
    await page.screenshot(path=str(screenshots / "group-page.png"), full_page=True)
    assert await axe_violations(page) == []

    await page.get_by_role("link", name="Retour aux séances de groupe").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Atelier logement"))
    await expect(row).to_contain_text("6")  # 4 people, Marc and Anne
    await expect(row).to_contain_text("Animateur·rice")
    await page.screenshot(path=str(screenshots / "groups.png"), full_page=True)


async def test_the_appointment_forms_attendees_still_go_as_before(proxima, new_context):
    """console.js reads the group form's lists (rows picked by a checkbox, numbers, booleans);
    the appointment form's attendees are read as they were: empty rows left out, a row with
    only a role sent (and refused, in plain words)."""
    anne = await proxima.worker()
    case = await new_case(anne)
    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await login_in_browser(page, proxima.url)
    await page.goto(proxima.url + f"/cases/{case['id']}/appointments/new")
    await page.get_by_label(re.compile("Sujet")).fill("Point sur le RSA")
    await page.get_by_label("Participant·e 2 : rôle").fill("interprète")
    submit = page.get_by_role("button", name="Planifier et envoyer l'invitation")
    await submit.click()
    await expect(page.get_by_role("alert")).to_have_text("Veuillez remplir ce champ.")
    await expect(page.get_by_label("Participant·e 1 : nom")).to_be_focused()  # the list's first
    await page.get_by_label("Participant·e 2 : nom").fill("Paul Durand")
    await submit.click()
    await page.wait_for_url(re.compile(r"/appointments/\d+$"))
    [appointment] = await proxima.store.appointments.for_case(case["id"])
    assert [(a.name, a.role) for a in appointment.attendees] == [("Paul Durand", "interprète")]
