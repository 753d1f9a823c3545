"""Case-record entries pushed to the organisation's software (issue 12, item 1; docs/webhooks.md).

A real aiohttp receiver on loopback, started by the test, verifies each signature with the
``standardwebhooks`` library and validates each payload against docs/schemas/case-entry.v1. The
acceptance: the receiver is down (connection refused, then 503s) while several cases get several
entries; the server's wall clock is moved instead of waiting; Proxima is restarted in between;
then the receiver comes back and has every entry exactly once per webhook id, in order per case
(one 2xx is lost on the way back: that id comes twice and is processed once).
Then: a 400 stops that entry (shown to the administrator) and not the case's later ones; pause
holds the queue and resume sends it; `proxima webhooks replay` (the real command, in a
subprocess) sends a range again with the same ids; two dispatchers on one database never send an
entry twice nor out of order; an erased entry leaves nothing in the queue.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from conftest import (
    appointment_form,
    axe_violations,
    eventually,
    free_port,
    login_in_browser,
    loopback_config,
    new_case,
)
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from server.base import clock, settings
from server.base.webhook_targets import url_problem
from server.delivery.webhook import signed_headers
from server.domain.models import Case
from server.domain.webhooks import RetryPolicy, http_outcome
from server.edge.api_webhooks import DISPATCHER
from server.edge.http import CONFIG
from server.jobs.webhooks import Dispatcher
from server.services import webhooks
from server.storage import startup

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "schemas" / "case-entry.v1.schema.json").read_text())
PROXIMA = str(Path(sys.executable).parent / "proxima")
QUICK = {"webhook_interval_seconds": 0.05, "webhook_retry_seconds": 60.0,
         "webhook_retry_max_seconds": 1800.0, "webhook_give_up_hours": 48.0,
         # The wall clock moves by hours: the workers' sessions must outlive it.
         "session_idle_minutes": 100_000, "session_max_hours": 10_000}


class Wall:
    """The server's wall clock (clock.now), moved by the test instead of waiting."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = clock.now()
        monkeypatch.setattr(clock, "now", lambda: self.at)

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


class Receiver:
    """The organisation's software: a real aiohttp server on loopback.

    Every request is kept as it came (body and headers); ``status`` is the answer to give
    (200, or 503 while it is unwell); ``refuse`` answers 400 to the payloads it matches. A
    webhook id is processed once, however often it comes (the Standard Webhooks idempotency
    key), and the order in which entries were processed is kept per case."""

    def __init__(self, secret: str = "") -> None:
        self.port = free_port()
        self.secret = secret
        self.status = 200
        self.refuse: Any = None
        self.lose_next_answer = False  # process the next entry, then drop the connection
        self.lost: list[str] = []
        self.seen: collections.Counter[str] = collections.Counter()  # ids answered while well
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        self.processed: dict[str, dict[str, Any]] = {}
        self.order: dict[int, list[int]] = collections.defaultdict(list)
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/proxima"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        self.requests.append((body, headers))
        if self.status != 200:
            return web.Response(status=self.status)
        payload = Webhook(self.secret).verify(body, headers)  # raises on a bad signature
        self.seen[headers["webhook-id"]] += 1
        if self.refuse is not None and self.refuse(payload):
            return web.json_response({"error": "cannot file this"}, status=400)
        webhook_id = headers["webhook-id"]
        if webhook_id not in self.processed:
            self.processed[webhook_id] = payload
            self.order[payload["case"]["id"]].append(payload["entry"]["id"])
            if self.lose_next_answer:  # filed, but the 2xx never reaches Proxima
                self.lose_next_answer = False
                self.lost.append(webhook_id)
                assert request.transport is not None
                request.transport.abort()
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/proxima", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def entry_ids(self) -> list[int]:
        return sorted(p["entry"]["id"] for p in self.processed.values())


@pytest.fixture
async def receiver():
    made = Receiver()
    yield made
    await made.stop()


async def rows(proxima: Any, sql: str, *args: Any) -> list[sqlite3.Row]:
    return await proxima.store.db.run(lambda c: c.execute(sql, args).fetchall())


async def all_entries(proxima: Any) -> dict[int, int]:
    """Every entry of every case: its id and its case."""
    return {r["id"]: r["case_id"] for r in await rows(proxima, "SELECT * FROM case_entries")}


async def fill_cases(anne: Any, count: int) -> list[dict[str, Any]]:
    """Cases with several entries each: opened, updated, an appointment planned (and its link),
    moved or cancelled."""
    cases = []
    for i in range(count):
        case = await new_case(anne, reference=f"DOS-2026-{i:04d}", person_name="Fatou Diallo")
        await anne.json("PATCH", f"/api/cases/{case['id']}", {"accessibility": f"note {i}"})
        created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                                  appointment_form(), status=201)
        appointment = created["appointment"]["id"]
        if i % 2:
            await anne.json("POST", f"/api/appointments/{appointment}/cancel", {})
        else:
            await anne.json("PUT", f"/api/appointments/{appointment}",
                            appointment_form(time="11:30"))
        cases.append(case)
    return cases


def async_check(value: Any, test: Any) -> Any:
    """For ``eventually``: whether ``test`` holds of what ``value()`` (a coroutine) gives."""
    async def check() -> bool:
        return bool(test(await value()))
    return check


async def endpoint_state(admin: Any, name: str) -> dict[str, Any]:
    states = (await admin.json("GET", "/api/webhooks"))["endpoints"]
    return next(s for s in states if s["name"] == name)


def check_every_request(receiver: Receiver, secret: str) -> None:
    """Each request the receiver got is signed with ``secret`` and fits the JSON Schema."""
    for body, headers in receiver.requests:
        payload = Webhook(secret).verify(body, headers)
        jsonschema.validate(payload, SCHEMA, format_checker=jsonschema.FormatChecker())


async def test_every_entry_arrives_once_in_order_after_an_outage_and_a_restart(
        make_proxima, receiver, monkeypatch):
    wall = Wall(monkeypatch)
    proxima = await make_proxima(**QUICK)
    admin = await proxima.worker("admin@example.org", "Alex Admin", role="admin")
    anne = await proxima.worker()
    added = await admin.json("POST", "/api/webhooks", {"name": "logiciel-metier",
                                                       "url": receiver.url}, status=201)
    receiver.secret = added["secret"]
    assert receiver.secret.startswith("whsec_")
    assert "secret" not in json.dumps(await admin.json("GET", "/api/webhooks"))

    # The receiver is down: nothing listens on its port (connection refused).
    await fill_cases(anne, 3)
    entries = await all_entries(proxima)
    cases = set(entries.values())
    assert len(entries) >= 3 * 5

    async def tried(reason: str) -> bool:
        state = await endpoint_state(admin, "logiciel-metier")
        return state["last_error"] == reason and state["backlog"] == len(entries)
    heads = {min(e for e, c in entries.items() if c == case) for case in cases}

    async def tried_entries() -> set[int]:
        return {r["entry_id"] for r in await rows(
            proxima, "SELECT entry_id FROM webhook_deliveries WHERE attempts > 0")}
    await eventually(lambda: tried("unreachable"))
    await eventually(async_check(lambda: tried_entries(), lambda got: got >= heads))
    # In order per case: only each case's oldest entry has been tried.
    assert await tried_entries() == heads

    # Back, but unwell: 503 for a while.
    receiver.status = 503
    await receiver.start()
    wall.advance(hours=1)
    await eventually(lambda: tried("http_503"))
    await eventually(lambda: len(receiver.requests) >= len(cases))
    assert not receiver.processed

    # Proxima restarts: the queue is in the database.
    await proxima.restart()
    admin_again = proxima.client()
    await admin_again.login("admin@example.org", "worker-password-for-tests")
    receiver.status = 200
    receiver.lose_next_answer = True
    wall.advance(hours=2)
    await eventually(lambda: receiver.lost)
    # The entry whose answer was lost is tried again later; its case waits for it meanwhile.
    await eventually(async_check(lambda: endpoint_state(admin_again, "logiciel-metier"),
                                 lambda s: s["last_error"] == "unreachable"))
    wall.advance(hours=1)
    await eventually(lambda: receiver.entry_ids() == sorted(entries), timeout=20)
    await eventually(async_check(lambda: endpoint_state(admin_again, "logiciel-metier"),
                                 lambda s: s["backlog"] == 0))

    # Each entry exactly once per webhook id, in order per case, signed, as the schema says.
    assert len(receiver.processed) == len(entries)
    ids = [headers["webhook-id"] for _, headers in receiver.requests]
    assert set(ids) == set(receiver.processed)
    # Seen twice (the lost 2xx), processed once; every other id came once after the outage.
    assert len(receiver.lost) == 1 and receiver.seen[receiver.lost[0]] == 2
    assert all(count == 1 for i, count in receiver.seen.items() if i != receiver.lost[0])
    for case in cases:
        assert receiver.order[case] == sorted(e for e, c in entries.items() if c == case)
    check_every_request(receiver, receiver.secret)
    body, headers = receiver.requests[-1]
    with pytest.raises(WebhookVerificationError):
        Webhook(receiver.secret).verify(body.replace(b'"entry"', b'"entry" ', 1), headers)
    state = await endpoint_state(admin_again, "logiciel-metier")
    assert state["backlog"] == 0 and state["last_success_at"] and not state["problems"]
    # What the record's JSON export says of an entry is what the webhook said.
    some_case = next(iter(cases))
    exported = await admin_again.json("GET", f"/api/cases/{some_case}/record.json")
    pushed = {p["entry"]["id"]: p["entry"] for p in receiver.processed.values()}
    for entry in exported["record"]:
        assert pushed[entry["id"]] == entry
    reference = exported["case"]["reference"]
    assert {p["case"]["reference"] for p in receiver.processed.values()
            if p["case"]["id"] == some_case} == {reference}
    # No personal data beyond the reference: no name, email or phone in any payload.
    everything = b"".join(body for body, _ in receiver.requests)
    assert b"Fatou" not in everything and b"fatou@example.net" not in everything


def cli(config: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``proxima`` command on this Proxima's data directory."""
    env = {**os.environ, "PROXIMA_DATA_DIR": config.data_dir}
    return subprocess.run([PROXIMA, *args], env=env, capture_output=True, text=True, timeout=60)


async def test_a_refusal_stops_that_entry_pause_holds_and_replay_sends_again(
        make_proxima, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    proxima = await make_proxima(**QUICK)
    admin = await proxima.worker("admin@example.org", "Alex Admin", role="admin")
    anne = await proxima.worker()
    added = await admin.json("POST", "/api/webhooks", {"name": "crm", "url": receiver.url},
                             status=201)
    endpoint = added["endpoint"]["id"]
    receiver.secret = added["secret"]
    await receiver.start()
    # The software refuses the first update of the case (say, a field it cannot file).
    receiver.refuse = lambda p: p["entry"]["kind"] == "case_updated" and \
        p["entry"]["data"].get("fields") == ["accessibility"]
    case = await new_case(anne)
    await anne.json("PATCH", f"/api/cases/{case['id']}", {"accessibility": "Malentendante"})
    await anne.json("PATCH", f"/api/cases/{case['id']}", {"mobile": "06 98 76 54 32"})
    entries = await all_entries(proxima)
    refused = sorted(entries)[1]

    # That entry is stopped at once, shown to the administrator; the case's later one went on.
    await eventually(lambda: receiver.entry_ids() == [e for e in sorted(entries) if e != refused])
    state = await endpoint_state(admin, "crm")
    assert state["problems"] == [{"entry_id": refused, "case_id": case["id"],
                                  "kind": "case_updated", "status": "stopped",
                                  "reason": "http_400", "attempts": 1,
                                  "webhook_id": state["problems"][0]["webhook_id"]}]
    assert state["last_error"] == "http_400" and state["backlog"] == 0

    # Paused: entries wait, nothing is claimed; resumed: they go.
    await admin.json("PATCH", f"/api/webhooks/{endpoint}", {"paused": True})
    await anne.json("PATCH", f"/api/cases/{case['id']}", {"mobile": "06 11 22 33 44"})
    assert await proxima.app[DISPATCHER].deliver_one() is False
    state = await endpoint_state(admin, "crm")
    assert state["paused"] and state["backlog"] == 1
    await admin.json("PATCH", f"/api/webhooks/{endpoint}", {"paused": False})
    entries = await all_entries(proxima)
    await eventually(lambda: receiver.entry_ids() == [e for e in sorted(entries) if e != refused])

    # Fixed on their side; the real command replays the day: the same ids, processed once.
    receiver.refuse = None
    seen = {h["webhook-id"] for _, h in receiver.requests}
    before = len(receiver.requests)
    today = clock.to_local(clock.now(), "Europe/Paris").strftime("%Y-%m-%d")
    config = proxima.app[CONFIG]
    replayed = cli(config, "webhooks", "replay", "--since", today, "--endpoint", "crm")
    assert replayed.returncode == 0, replayed.stderr
    assert f"{len(entries)} deliveries queued again" in replayed.stdout
    await eventually(lambda: receiver.entry_ids() == sorted(entries))
    await eventually(lambda: len(receiver.requests) == before + len(entries))
    again = [h["webhook-id"] for _, h in receiver.requests[before:]]
    assert set(again) == seen and len(receiver.processed) == len(entries)
    check_every_request(receiver, receiver.secret)
    assert not (await endpoint_state(admin, "crm"))["problems"]

    listed = cli(config, "webhooks", "list")
    assert listed.returncode == 0 and "crm " + receiver.url in listed.stdout
    wrong = cli(config, "webhooks", "replay", "--since", "yesterday")
    assert wrong.returncode == 2 and "YYYY-MM-DD" in wrong.stderr
    # Everything the administrator did is in the audit trail.
    actions = [(e["actor"], e["action"]) for e in await proxima.store.audit.entries()]
    admin_id = (await admin.json("GET", "/api/session"))["worker"]["id"]
    for done in ("add_webhook", "pause_webhook", "resume_webhook", "read_webhooks"):
        assert (f"worker:{admin_id}", done) in actions
    assert ("cli", "replay_webhooks") in actions and ("cli", "read_webhooks") in actions
    # The log says which entry went where, never what it held nor what the receiver answered.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"webhook crm: entry {refused} refused (http_400)" in logged
    for secret_text in ("Malentendante", "06 98 76 54 32", case["reference"], "cannot file"):
        assert secret_text not in logged


def a_case(reference: str) -> Case:
    return Case(id=0, worker_id=None, reference=reference, person_name="Zoé Bernard", email="",
                mobile="", language="fr", modality="video", accessibility="",
                created_at=clock.now())


async def test_two_dispatchers_on_one_database_send_each_entry_once_in_order(
        tmp_path, cert_dir, receiver):
    config = loopback_config(tmp_path, cert_dir, **QUICK)
    stores = [startup.open_store(config), startup.open_store(config)]  # two connections
    try:
        _, receiver.secret = await webhooks.add(stores[0], "test", "both", receiver.url)
        cases = [await stores[0].cases.create(a_case(f"DOS-{i}")) for i in range(4)]
        for n in range(6):
            for i, case in enumerate(cases):
                await stores[(n + i) % 2].entries.add(case.id, "case_updated", {"fields": [n]})
        await receiver.start()
        dispatchers = [Dispatcher(store, config) for store in stores]
        sent = [0, 0]
        for _ in range(200):  # rounds in which both claim at the same moment
            if len(receiver.processed) == 24:
                break
            done = await asyncio.gather(*(d.deliver_one() for d in dispatchers))
            sent = [s + int(d) for s, d in zip(sent, done, strict=True)]
        for d in dispatchers:
            await d.close()
    finally:
        for store in stores:
            store.db.close()
    assert len(receiver.processed) == 24 and len(receiver.requests) == 24  # none twice
    assert sent[0] and sent[1] and sum(sent) == 24
    for case in cases:
        assert receiver.order[case.id] == sorted(receiver.order[case.id])
        assert len(receiver.order[case.id]) == 6


async def test_endpoints_from_the_settings_and_an_erased_entry(make_proxima, receiver):
    secret = webhooks.new_secret()
    proxima = await make_proxima(webhooks=f"archives {receiver.url} {secret}", **QUICK)
    receiver.secret = secret
    admin = await proxima.worker("admin@example.org", "Alex Admin", role="admin")
    anne = await proxima.worker()
    state = await endpoint_state(admin, "archives")
    assert state["source"] == "settings" and state["url"] == receiver.url
    refused = await admin.json("DELETE", f"/api/webhooks/{state['id']}", status=400)
    assert refused["field"] == "id"
    stored = await rows(proxima, "SELECT secret FROM webhook_endpoints")
    assert secret.encode() not in stored[0]["secret"]  # sealed at rest

    # An entry erased before it is sent leaves nothing in the queue, and is never sent.
    await admin.json("PATCH", f"/api/webhooks/{state['id']}", {"paused": True})
    case = await new_case(anne)
    entry = max(await all_entries(proxima))
    (queued,) = await rows(proxima, "SELECT * FROM webhook_deliveries WHERE entry_id = ?", entry)
    await proxima.store.db.run(lambda c: c.execute(
        "DELETE FROM case_entries WHERE id = ?", (entry,)))
    assert not await rows(proxima, "SELECT * FROM webhook_deliveries")
    await admin.json("PATCH", f"/api/webhooks/{state['id']}", {"paused": False})
    await anne.json("PATCH", f"/api/cases/{case['id']}", {"mobile": "06 98 76 54 32"})
    await receiver.start()
    await eventually(lambda: receiver.processed)
    assert [p["entry"]["kind"] for p in receiver.processed.values()] == ["case_updated"]
    assert queued["webhook_id"] not in receiver.processed

    # Settings that cannot work stop the start with a line naming the variable.
    for wrong in (f"x http://example.org/hook {secret}", f"x {receiver.url} not-a-secret",
                  "just-a-name"):
        with pytest.raises(settings.SettingsError, match="PROXIMA_WEBHOOKS"):
            settings.load(environ={"PROXIMA_WEBHOOKS": wrong})


async def test_the_api_refuses_what_cannot_work(proxima):
    admin = await proxima.worker("admin@example.org", "Alex Admin", role="admin")
    anne = await proxima.worker()
    for body, field in (({"name": "crm", "url": "http://crm.example.org/hook"}, "url"),
                        ({"name": "crm", "url": "ftp://127.0.0.1/x"}, "url"),
                        ({"name": "a b", "url": "https://crm.example.org/hook"}, "name"),
                        ({"name": "crm", "url": "https://u:p@crm.example.org/"}, "url"),
                        ({"name": "crm", "url": "https://crm.example.org", "x": 1}, "x")):
        refused = await admin.json("POST", "/api/webhooks", body, status=400)
        assert refused["field"] == field, body
    await admin.json("POST", "/api/webhooks", {"name": "crm", "url": "https://crm.example.org"},
                     status=201)
    twice = await admin.json("POST", "/api/webhooks",
                             {"name": "crm", "url": "https://crm.example.org"}, status=400)
    assert twice["field"] == "name"
    await anne.json("GET", "/api/webhooks", status=403)
    await anne.json("POST", "/api/webhooks", {"name": "x", "url": "https://x.org"}, status=403)
    await admin.json("PATCH", "/api/webhooks/999", {"paused": True}, status=404)
    await admin.json("POST", "/api/webhooks/1/replay", {"since": "2026-13-01",
                                                        "until": "2026-01-02"}, status=400)


def test_retry_delays_double_with_jitter_up_to_a_cap_then_give_up():
    policy = RetryPolicy(30.0, 3600.0, dt.timedelta(hours=48))
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    for attempts, ceiling in ((1, 30), (2, 60), (3, 120), (8, 3600), (50, 3600)):
        low = policy.next_try(attempts, start, start, lambda: 0.0)
        high = policy.next_try(attempts, start, start, lambda: 0.999999)
        assert low == start + dt.timedelta(seconds=ceiling / 2)
        assert high is not None and (high - start).total_seconds() == pytest.approx(ceiling, 0.01)
    late = start + dt.timedelta(hours=47, minutes=59)
    assert policy.next_try(40, start, late, lambda: 0.5) is None
    assert http_outcome(204) == "delivered" and http_outcome(503) == "retry"
    assert http_outcome(408) == http_outcome(429) == "retry"
    assert http_outcome(400) == http_outcome(410) == http_outcome(301) == "stop"
    assert url_problem("https://crm.example.org/hooks") is None
    assert url_problem("http://localhost:8080/x") is None and url_problem("http://[::1]/") is None
    assert url_problem("http://10.0.0.2/x") is not None


def test_a_signature_made_by_proxima_verifies_with_the_library():
    secret = webhooks.new_secret()
    body = '{"schema":"proxima.case-entry"}'
    headers = signed_headers(secret, "msg_abc", body)
    assert Webhook(secret).verify(body, headers) == {"schema": "proxima.case-entry"}
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(body, headers)


async def test_the_administrators_page_in_chromium(proxima, receiver, new_context, screenshots):
    from playwright.async_api import expect

    await proxima.worker("admin@example.org", "Alex Admin", role="admin")
    anne = await proxima.worker()
    receiver.refuse = lambda p: p["entry"]["kind"] == "case_opened"
    await receiver.start()
    context = await new_context(ignore_https_errors=True, locale="fr-FR",
                                viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await login_in_browser(page, proxima.url, email="admin@example.org")
    await page.get_by_role("link", name="Logiciel métier").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Logiciel métier")
    await page.get_by_label("Nom").fill("logiciel-metier")
    await page.get_by_label("Adresse (https://)").fill(receiver.url)
    await page.get_by_role("button", name="Ajouter l'adresse").click()
    secret = page.locator("[data-result] output")
    await expect(secret).to_contain_text("whsec_")
    receiver.secret = await secret.inner_text()

    await new_case(anne)  # its first entry is refused by the software
    await eventually(lambda: receiver.requests)
    await eventually(async_check(lambda: rows(
        proxima, "SELECT * FROM webhook_deliveries WHERE status = 'stopped'"), bool))
    await page.reload()
    await expect(page.get_by_role("heading", name="logiciel-metier")).to_be_visible()
    await expect(page.get_by_text("Refusée : arrêtée")).to_be_visible()
    await expect(page.get_by_text("Le logiciel a répondu HTTP 400.").first).to_be_visible()
    await page.get_by_role("button", name="Mettre en pause logiciel-metier").click()
    await expect(page.get_by_role("button", name="Reprendre logiciel-metier")).to_be_visible()
    await expect(page.get_by_text("En pause", exact=True)).to_be_visible()
    # The software is fixed: resumed, and today's entries sent again from the page, with the
    # same webhook id; the refused entry is filed at last.
    [refused] = await rows(proxima, "SELECT webhook_id FROM webhook_deliveries"
                                    " WHERE status = 'stopped'")
    receiver.refuse = None
    await page.get_by_role("button", name="Reprendre logiciel-metier").click()
    await expect(page.get_by_role("button", name="Mettre en pause logiciel-metier")).to_be_visible()
    today = clock.to_local(clock.now(), "Europe/Paris").date().isoformat()
    await page.get_by_label("À partir du jour").fill(today)
    await page.get_by_label("Jusqu'au jour (compris)").fill(today)
    await page.get_by_role("button", name="Envoyer de nouveau à logiciel-metier").click()
    await expect(page.locator("[data-result] output").first).to_have_text(re.compile(r"[1-9]\d*"))
    await eventually(lambda: refused["webhook_id"] in receiver.processed)
    assert await axe_violations(page) == []
    assert not await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    await page.screenshot(path=str(screenshots / "webhooks-admin.png"), full_page=True)
    # A worker who is not an administrator does not get the page.
    worker_page = await (await new_context(ignore_https_errors=True, locale="fr-FR")).new_page()
    await login_in_browser(worker_page, proxima.url)
    await expect(worker_page.get_by_role("link", name="Logiciel métier")).to_have_count(0)
    response = await worker_page.goto(f"{proxima.url}/admin/webhooks")
    assert response is not None and response.status == 403


def test_the_api_description_states_the_same_address_rule():
    import yaml

    from server.base.webhook_targets import NAME_PATTERN, URL_PATTERN
    spec = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
    assert spec["components"]["schemas"]["WebhookUrl"]["pattern"] == URL_PATTERN
    assert spec["components"]["schemas"]["WebhookName"]["pattern"] == NAME_PATTERN
    assert url_problem("https://crm.example.org:65535/a?b=c") is None
    assert url_problem("https://crm.example.org:65536/") is not None


async def test_an_entry_failing_for_too_long_is_given_up_and_shown(make_proxima, receiver,
                                                                     monkeypatch):
    wall = Wall(monkeypatch)
    proxima = await make_proxima(**{**QUICK, "webhook_give_up_hours": 1.0})
    admin = await proxima.worker("admin@example.org", "Alex Admin", role="admin")
    anne = await proxima.worker()
    receiver.secret = (await admin.json("POST", "/api/webhooks", {
        "name": "crm", "url": receiver.url}, status=201))["secret"]
    receiver.status = 503
    await receiver.start()
    case = await new_case(anne)
    await eventually(lambda: receiver.requests)
    wall.advance(minutes=61)  # the next try comes after the hour: given up, not tried again
    await eventually(async_check(lambda: endpoint_state(admin, "crm"), lambda s: s["problems"]))
    state = await endpoint_state(admin, "crm")
    assert [(p["kind"], p["status"], p["reason"]) for p in state["problems"]] == [
        ("case_opened", "failed", "http_503")]
    assert state["backlog"] == 0
    # The case's later entries are not held back by it.
    receiver.status = 200
    await anne.json("PATCH", f"/api/cases/{case['id']}", {"mobile": "06 98 76 54 32"})
    await eventually(lambda: [p["entry"]["kind"] for p in receiver.processed.values()]
                     == ["case_updated"])
