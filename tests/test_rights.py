"""The person's rights over their case (issue 12, item 5): their data as one file (right of
access), erasure on request refused under a legal hold and allowed once it is lifted, and no
personal data in clear anywhere in the data directory, before or after the erasure.

A case is filled through the real server: an appointment whose link a browser opened, a session
held over the signalling socket with the person's consent, the closing form's notes, and a
connection test's result. The files are searched as they are on disk: the SQLite file, its WAL
and every other file of the data directory, for the note's text, the person's name, email and
mobile, the invitation token, an email typed at a failed login, and (after the erasure) the very
bytes of the case's sealed row.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

from conftest import appointment_form, axe_violations, login_in_browser, new_case
from live_helpers import in_call, session_closed
from test_signalling import soon_date

from server.domain.erasure import scrub_group_log
from server.edge.http import CONFIG
from server.services import audit_trail

NOTES = "Madame Diallo attend la réponse de la commission de surendettement"
TYPED_EMAIL = "fatou.diallo.typo@example.net"
PERSON = ("Fatou Diallo", "fatou@example.net", "06 12 34 56 78")


async def filled_case(proxima):
    """A case with a session held, its notes, a connection test and a failed login's trace."""
    call = await session_closed(proxima, {
        "notes": NOTES, "next_appointment": {"date": soon_date(7), "time": "10:00",
                                             "modality": "audio"}})
    anne, appointment_id = call["anne"], call["created"]["appointment"]["id"]
    store = proxima.store
    [browser] = await store.invitations.browsers(appointment_id)
    await store.interviews.add_test(appointment_id, browser.id, "audio", {
        "figures": {"rtt_ms": 180}, "browser": browser.browser, "device": browser.device})
    await proxima.client().request("POST", "/api/session",
                                   json={"email": TYPED_EMAIL, "password": "wrong-password"})
    token = call["created"]["link"].rsplit("/", 1)[1]
    return anne, call["case"], appointment_id, token


def data_files(proxima) -> list[Path]:
    return sorted(p for p in Path(proxima.app[CONFIG].data_dir).rglob("*") if p.is_file())


def stored_bytes(proxima) -> bytes:
    """The database file, its WAL and shared memory, as they are on disk."""
    data_dir = Path(proxima.app[CONFIG].data_dir)
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("proxima.sqlite3*")))


def found_in_files(proxima, secrets: list[bytes]) -> list[tuple[str, bytes]]:
    """(file, secret) for each secret found in the raw bytes of a data-directory file (as UTF-8
    and as UTF-16)."""
    hits = []
    for path in data_files(proxima):
        raw = path.read_bytes()
        for secret in secrets:
            if secret in raw or secret.decode("utf-8", "ignore").encode("utf-16-le") in raw:
                hits.append((path.name, secret))
    return hits


def personal(token: str) -> list[bytes]:
    return [s.encode() for s in (NOTES, *PERSON, TYPED_EMAIL, token)]


async def rows_of_case(proxima, case_id: int, appointment_id: int) -> dict[str, int]:
    checks = {
        "cases": ("SELECT count(*) FROM cases WHERE id = ?", case_id),
        "case_entries": ("SELECT count(*) FROM case_entries WHERE case_id = ?", case_id),
        "appointments": ("SELECT count(*) FROM appointments WHERE case_id = ?", case_id),
        "invitations": ("SELECT count(*) FROM invitations WHERE appointment_id = ?",
                        appointment_id),
        "guest_browsers": (("SELECT count(*) FROM guest_browsers b JOIN invitations i ON"
                            " i.id = b.invitation_id WHERE i.appointment_id = ?"), appointment_id),
        "outbox": ("SELECT count(*) FROM outbox WHERE appointment_id = ?", appointment_id),
        "consent_records": ("SELECT count(*) FROM consent_records WHERE appointment_id = ?",
                            appointment_id),
        "interview_sessions": (("SELECT count(*) FROM interview_sessions"
                                " WHERE appointment_id = ?"), appointment_id),
        "connection_tests": ("SELECT count(*) FROM connection_tests WHERE appointment_id = ?",
                             appointment_id)}
    out = {}
    for table, (sql, arg) in checks.items():
        out[table] = await proxima.store.db.run(lambda c, s=sql, a=arg: c.execute(s, (a,))
                                                .fetchone()[0])
    return out


async def audited(proxima, action):
    return [(e["actor"], e["outcome"], e["case_id"]) for e in
            reversed(await proxima.store.audit.entries()) if e["action"] == action]


async def test_erasure_is_refused_under_a_legal_hold_then_leaves_nothing(proxima):
    anne, case, appointment_id, token = await filled_case(proxima)
    admin = await proxima.worker(email="root@example.org", name="Ada Admin", role="admin")
    anne_id = (await anne.json("GET", "/api/account"))["worker"]["id"]
    admin_id = (await admin.json("GET", "/api/account"))["worker"]["id"]
    before = await rows_of_case(proxima, case["id"], appointment_id)
    assert all(before.values()), before  # every kind of row is there to be erased

    # Sealed at rest: nothing of the person in clear in any file, the failed login included.
    await proxima.store.db.checkpoint()
    assert found_in_files(proxima, personal(token)) == []
    refused_logins = [e["actor"] for e in await proxima.store.audit.entries()
                      if e["action"] == "login" and e["outcome"] == "refused"]
    assert len(refused_logins) == 1
    assert re.fullmatch(r"login:unknown:[0-9a-f]{16}", refused_logins[0])

    # The sealed bytes of the case's row, to look for once it is erased.
    sealed = await proxima.store.db.run(lambda c: c.execute(
        "SELECT sealed FROM cases WHERE id = ?", (case["id"],)).fetchone()[0])
    entry_blobs = await proxima.store.db.run(lambda c: [r[0] for r in c.execute(
        "SELECT sealed FROM case_entries WHERE case_id = ?", (case["id"],))])
    blobs = [sealed[-32:]] + [b[-32:] for b in entry_blobs]

    # The case's worker sets a legal hold; erasure is refused, with a plain message.
    hold = await anne.json("PUT", f"/api/cases/{case['id']}/legal-hold",
                           {"reason": "Réquisition du juge des enfants du 3 mars"})
    assert hold["legal_hold"]["reason"].startswith("Réquisition")
    refused = await admin.json("POST", f"/api/cases/{case['id']}/erase", status=409)
    assert refused["error"] == "legal_hold" and "conservation légale" in refused["message"]
    # Only an administrator lifts a hold or erases.
    assert (await anne.json("DELETE", f"/api/cases/{case['id']}/legal-hold",
                            status=403))["error"] == "admin_only"
    assert (await anne.json("POST", f"/api/cases/{case['id']}/erase",
                            status=403))["error"] == "admin_only"
    assert await rows_of_case(proxima, case["id"], appointment_id) == before

    # Lifted by an administrator: erasure goes through.
    assert await admin.json("DELETE", f"/api/cases/{case['id']}/legal-hold") == \
        {"legal_hold": None}
    erased = await admin.json("POST", f"/api/cases/{case['id']}/erase")
    assert erased["erased"] == case["id"] and erased["rows"] >= sum(before.values())
    assert set((await rows_of_case(proxima, case["id"], appointment_id)).values()) == {0}
    assert (await anne.json("GET", f"/api/cases/{case['id']}", status=404))["error"] \
        == "case_not_found"

    # Gone from the files: the database and its WAL (emptied), every file of the data dir.
    wal = Path(proxima.app[CONFIG].data_dir) / "proxima.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size < 100_000
    assert found_in_files(proxima, personal(token) + blobs) == []

    # The audit keeps that it happened (who, when, which case), never what.
    assert await audited(proxima, "set_legal_hold") == [(f"worker:{anne_id}", "ok", case["id"])]
    assert await audited(proxima, "lift_legal_hold") == [
        (f"worker:{anne_id}", "denied", case["id"]), (f"worker:{admin_id}", "ok", case["id"])]
    assert await audited(proxima, "erase_case") == [
        (f"worker:{admin_id}", "refused:legal_hold", case["id"]),
        (f"worker:{anne_id}", "denied", case["id"]), (f"worker:{admin_id}", "ok", case["id"])]
    assert (await audit_trail.verify(proxima.store)).ok


async def test_a_failed_login_names_the_account_or_a_keyed_hash(proxima):
    anne = await proxima.worker()
    anne_id = (await anne.json("GET", "/api/account"))["worker"]["id"]
    stranger = proxima.client()
    for email in ("anne@example.org", "Nobody@Example.org", "nobody@example.org",
                  "someone@example.org"):
        await stranger.request("POST", "/api/session", json={"email": email, "password": "x"})
    actors = [e["actor"] for e in reversed(await proxima.store.audit.entries())
              if e["action"] == "login" and e["outcome"] == "refused"]
    assert actors[0] == f"worker:{anne_id}"
    assert actors[1] == actors[2] != actors[3]  # the same address typed: the same pseudonym
    assert all(re.fullmatch(r"login:unknown:[0-9a-f]{16}", a) for a in actors[1:])
    assert not any("example.org" in a for a in actors)


class Page(HTMLParser):
    """What a self-contained page must not hold: a link, a script or an image from a file."""

    def __init__(self) -> None:
        super().__init__()
        self.outside: list[str] = []

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        if tag in ("link", "script", "img", "iframe", "object", "embed") or "src" in named:
            self.outside.append(tag)


async def test_the_persons_data_as_one_file(proxima, new_context, screenshots):
    anne, case, appointment_id, token = await filled_case(proxima)
    await anne.json("PUT", f"/api/cases/{case['id']}/legal-hold", {"reason": "Enquête"})
    response = await anne.request("GET", f"/api/cases/{case['id']}/personal-data",
                                  headers={"Accept-Language": "fr"})
    assert response.status == 200 and response.content_type == "application/zip"
    assert re.search(r'filename="donnees-dossier-\d+-[0-9-]+\.zip"',
                     response.headers["Content-Disposition"])
    body = await response.read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert sorted(archive.namelist()) == ["donnees.html", "donnees.json"]
        text = archive.read("donnees.json").decode("utf-8")
        html = archive.read("donnees.html").decode("utf-8")
    data = json.loads(text)

    # The JSON holds what the record holds, and everything hanging on the appointment.
    record = await anne.json("GET", f"/api/cases/{case['id']}")
    assert data["schema_version"] == 1 and data["case"] == record["case"]
    assert data["record"] == record["record"]
    assert data["legal_hold"]["reason"] == "Enquête"
    [appointment] = [a for a in data["appointments"] if a["id"] == appointment_id]
    assert appointment["invitations"][0]["state"] == "valid"
    assert appointment["browsers"][0]["browser"] and appointment["consents"][0]["kind"] == "given"
    assert appointment["messages"] and appointment["messages"][0]["status"] == "manual"
    assert appointment["connection_tests"][0]["recommendation"] == "audio"
    assert any(e["kind"] == "session_closing" and e["data"]["notes"] == NOTES
               for e in data["record"])
    # Never a link, a token or a cookie.
    for secret in (token, "token", "cookie", "/j/"):
        assert secret not in text and secret not in html, secret

    # The printable page: self-contained, and what it says in Chromium.
    parsed = Page()
    parsed.feed(html)
    assert parsed.outside == [] and "url(" not in html
    context = await new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    page = await context.new_page()
    await page.set_content(html)
    from playwright.async_api import expect
    await expect(page.get_by_role("heading", level=1)).to_have_text("Vos données")
    await expect(page.get_by_text(NOTES)).to_be_visible()
    await expect(page.get_by_role("table", name="Vos consentements")).to_be_visible()
    await expect(page.get_by_text("Enquête")).to_be_visible()
    assert await axe_violations(page) == []
    await page.screenshot(path=str(screenshots / "personal-data.png"), full_page=True)
    # The person may open it on a phone: nothing wider than the screen.
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.screenshot(path=str(screenshots / "personal-data-360.png"), full_page=True)
    assert not await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")

    # Another worker's case is not found; every export and refusal is audited.
    bob = await proxima.worker(email="bob@example.org", name="Bob Leroy")
    assert (await bob.json("GET", f"/api/cases/{case['id']}/personal-data",
                           status=404))["error"] == "case_not_found"
    assert [o for _, o, _ in await audited(proxima, "export_personal_data")] == ["ok", "denied"]


async def test_hold_and_erasure_from_the_case_page(proxima, new_context, screenshots):
    from playwright.async_api import expect

    _anne, case, _appointment_id, _token = await filled_case(proxima)
    await proxima.worker(email="root@example.org", name="Ada Admin", role="admin")
    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    await login_in_browser(page, proxima.url, email="root@example.org")
    await page.goto(f"{proxima.url}/cases/{case['id']}")
    await expect(page.get_by_role("link", name=re.compile("Télécharger les données"))) \
        .to_be_visible()
    await page.get_by_text("Placer le dossier sous conservation légale").click()
    await page.get_by_label("Pourquoi le dossier doit être gardé").fill("Plainte en cours")
    await page.get_by_role("button", name="Placer sous conservation légale").click()
    await expect(page.get_by_text("Plainte en cours")).to_be_visible()
    assert await axe_violations(page) == []
    await page.screenshot(path=str(screenshots / "case-legal-hold.png"), full_page=True)

    # Erasing under the hold: refused, said in plain words, nothing lost.
    await page.get_by_role("button", name="Effacer le dossier et les données de la personne") \
        .click()
    await expect(page.get_by_role("alert").filter(has_text="conservation légale")).to_be_visible()
    # The hold lifted, the erasure goes through and lands on the list of cases.
    await page.get_by_role("button", name="Lever la conservation légale").click()
    await expect(page.get_by_text("Plainte en cours")).to_be_hidden()
    await page.get_by_role("button", name="Effacer le dossier et les données de la personne") \
        .click()
    await page.wait_for_url(re.compile(r"/cases$"))
    assert await proxima.store.cases.get(case["id"]) is None


def test_a_group_log_keeps_that_someone_came_not_who():
    log = {"participants": {"w:1": {"name": "Anne Martin", "role": "worker", "stays": []},
                            "g:7": {"name": "Fatou Diallo", "role": "person", "stays": [1]},
                            "g:8": {"name": "Karim Benali", "role": "person", "stays": []}},
           "consents": [{"participant": "g:7"}, {"participant": "g:8"}],
           "closing": {"notes": "n", "follow_ups": [{"who": "person:3", "what": "a"},
                                                    {"who": "everyone", "what": "b"}]}}
    scrubbed = scrub_group_log(log, {"g:7"}, {3})
    assert scrubbed["participants"]["g:7"] == {"name": "", "role": "person", "stays": [1]}
    assert scrubbed["participants"]["g:8"]["name"] == "Karim Benali"
    assert scrubbed["consents"] == [{"participant": "g:8"}]
    assert scrubbed["closing"]["follow_ups"] == [{"who": "everyone", "what": "b"}]
    assert "Fatou" not in json.dumps(scrubbed)


async def test_erasure_from_the_command_line(proxima, cert_dir):
    from conftest import new_case
    from test_startup import cli_env
    from test_startup import proxima as command

    anne = await proxima.worker()
    admin = await proxima.worker(email="root@example.org", name="Ada Admin", role="admin")
    case = await new_case(anne)
    await anne.json("PUT", f"/api/cases/{case['id']}/legal-hold", {"reason": "Enquête"})
    env = cli_env(proxima.app[CONFIG].data_dir, cert_dir)
    held = command("cases", "erase", str(case["id"]), env=env)
    assert held.returncode == 2 and "legal hold" in held.stderr, held.stderr
    await admin.json("DELETE", f"/api/cases/{case['id']}/legal-hold")
    done = command("cases", "erase", str(case["id"]), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Erased case {case['id']}:")
    assert await proxima.store.cases.get(case["id"]) is None
    missing = command("cases", "erase", "999999", env=env)
    assert missing.returncode == 2 and "there is no case 999999" in missing.stderr
    assert await audited(proxima, "erase_case") == [("cli", "refused:legal_hold", case["id"]),
                                                    ("cli", "ok", case["id"])]


async def test_an_erased_person_leaves_a_nameless_stay_in_a_group_session(proxima):
    import datetime as dt

    from test_no_recording import plan_group

    from server.domain.room import RoomRef
    from server.domain.session_log import SessionLog

    anne = await proxima.worker(role="facilitator")
    admin = await proxima.worker(email="root@example.org", name="Ada Admin", role="admin")
    planned = await plan_group(proxima, anne)
    group = await proxima.store.groups.get(planned["group"]["id"])
    fatou_case, karim_case = planned["cases"]
    [fatou], [karim] = (await proxima.store.appointments.for_case(fatou_case),
                        await proxima.store.appointments.for_case(karim_case))
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    log = SessionLog(started_at=start.isoformat())
    log.joined(f"a:{fatou.id}", "Fatou Diallo", "person", start)
    log.joined(f"a:{karim.id}", "Karim Benali", "person", start)
    log.consents = [{"participant": f"a:{fatou.id}"}, {"participant": f"a:{karim.id}"}]
    room = RoomRef(group.public_id, group.facilitator_id, "", "worker_calls", start, start,
                   group_id=group.id)
    await proxima.store.interviews.start(room, log)

    await admin.json("POST", f"/api/cases/{fatou_case}/erase")
    kept = await proxima.store.interviews.latest_in(room)
    names = {pid: p.name for pid, p in kept.log.participants.items()}
    assert names == {f"a:{fatou.id}": "", f"a:{karim.id}": "Karim Benali"}
    assert kept.log.consents == [{"participant": f"a:{karim.id}"}]
    members = await proxima.store.groups.members(group.id)
    assert [m.appointment_id for m in members if m.role == "person"] == [karim.id]
    assert await proxima.store.cases.get(karim_case) is not None


async def test_a_legal_hold_needs_a_reason_and_nothing_else(proxima):
    from conftest import new_case

    anne = await proxima.worker()
    case = await new_case(anne)
    url = f"/api/cases/{case['id']}/legal-hold"
    assert (await anne.json("PUT", url, {"reason": "  "}, status=400))["field"] == "reason"
    assert (await anne.json("PUT", url, {"reason": "x", "until": "2030"},
                            status=400))["field"] == "until"
    assert (await anne.json("PUT", "/api/cases/9223372036854775808/legal-hold", {"reason": "x"},
                            status=404))["error"] == "not_found"
    assert await proxima.store.personal_data.hold(case["id"]) is None


async def test_erasure_and_retention_leave_nothing_in_the_webhook_queue(make_proxima):
    import datetime as dt

    from conftest import free_port, new_case

    from server.base import clock
    from server.services import retention, webhooks

    hook = f"crm http://127.0.0.1:{free_port()}/hook {webhooks.new_secret()}"  # nobody listens
    running = await make_proxima(webhooks=hook, webhook_retry_seconds=3600.0)
    from test_retention import daily_run_done
    await daily_run_done(running.store)
    anne = await running.worker()
    admin = await running.worker(email="root@example.org", name="Ada Admin", role="admin")
    erased, kept = await new_case(anne), await new_case(anne, reference="DOS-KEPT")
    store = running.store

    async def queued(case_id):
        return await store.db.run(lambda c: c.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE case_id = ?", (case_id,)).fetchone()[0])

    assert await queued(erased["id"]) and await queued(kept["id"])
    await admin.json("POST", f"/api/cases/{erased['id']}/erase")
    assert await queued(erased["id"]) == 0 and await queued(kept["id"]) > 0
    # A connection test's entry deleted by retention leaves the queue too.
    await store.entries.add(kept["id"], "test_done", {"recommendation": "video"})
    before = await queued(kept["id"])
    await store.db.run(lambda c: c.execute(  # made 95 days ago
        "UPDATE case_entries SET at = ? WHERE kind = 'test_done'",
        (clock.to_db(clock.now() - dt.timedelta(days=95)),)))
    report = await retention.run(store, running.app[CONFIG], "retention")
    assert report.test_entries == 1 and await queued(kept["id"]) == before - 1


async def test_the_persons_page_is_in_their_language(proxima):
    from conftest import new_case

    anne = await proxima.worker()
    case = await new_case(anne, language="en", person_name="Grace Owusu")
    response = await anne.request("GET", f"/api/cases/{case['id']}/personal-data",
                                  headers={"Accept-Language": "fr"})
    with zipfile.ZipFile(io.BytesIO(await response.read())) as archive:
        html = archive.read("donnees.html").decode("utf-8")
    assert '<html lang="en">' in html and "<h1>Your data</h1>" in html


async def test_erasing_during_a_call_cuts_both_off_and_writes_nothing_back(proxima):
    call = await in_call(proxima)
    admin = await proxima.worker(email="root@example.org", name="Ada Admin", role="admin")
    case_id = call["case"]["id"]
    await admin.json("POST", f"/api/cases/{case_id}/erase")
    for wire in (call["person"], call["worker"]):
        assert (await wire.quiet(1.0))[-1] == {"type": "_closed", "code": 4403}
    for table in ("case_entries", "appointments"):
        assert await proxima.store.db.run(lambda c, t=table: c.execute(
            f"SELECT count(*) FROM {t} WHERE case_id = ?", (case_id,)).fetchone()[0]) == 0
    assert await proxima.store.db.run(lambda c: c.execute(
        "SELECT count(*) FROM interview_sessions").fetchone()[0]) == 0


async def test_the_ids_of_an_erased_case_are_never_given_again(proxima):
    """The organisation's software files entries by the ids Proxima sends: after the newest
    case, its appointment and its entries are erased, the next ones get ids never given before
    (SQLite alone gives the largest id plus one, so the erased ids would come back)."""
    anne = await proxima.worker()
    admin = await proxima.worker(email="root@example.org", name="Ada Admin", role="admin")

    async def case_with_appointment() -> tuple[int, int, set[int]]:
        case = await new_case(anne)
        created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                                  appointment_form(), status=201)
        record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
        return case["id"], created["appointment"]["id"], {e["id"] for e in record}

    case_id, appointment_id, entry_ids = await case_with_appointment()
    await admin.json("POST", f"/api/cases/{case_id}/erase")
    new_case_id, new_appointment_id, new_entry_ids = await case_with_appointment()
    assert new_case_id > case_id and new_appointment_id > appointment_id
    assert min(new_entry_ids) > max(entry_ids)
