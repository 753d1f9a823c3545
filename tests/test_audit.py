"""Every refusal leaves a trace in the audit log, and so do the sensitive reads and acts.

The refused attempts are generated from the router itself: every route tried anonymously, by a
worker on another worker's records, by a worker on admin-only routes, with ids that do not exist,
from a foreign site; plus links that do not (or no longer) work, a throttled login and WebSocket
upgrades that are refused. Each attempt answered 401, 403, 404, 410 or 429 must add an audit entry
that is not "ok"."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

import aiohttp
from conftest import appointment_form, new_case
from live_helpers import connect, in_call

from server.edge.http import CONFIG

REFUSALS = {401, 403, 404, 410, 429}


def concrete(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: ids.get(m.group(1), "1"), path)


async def test_every_refused_attempt_is_audited(proxima):
    anne = await proxima.worker()
    bob = await proxima.worker(email="bob@example.org", name="Bob Bernard")
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(), status=201)
    appointment = await proxima.store.appointments.get(created["appointment"]["id"])
    [message] = (await anne.json("GET", "/api/outbox"))["messages"]
    anne_ids = {"id": str(case["id"]), "public_id": appointment.public_id, "token": "x" * 43}
    # The appointment's routes take the appointment's id.
    appointment_ids = {**anne_ids, "id": str(appointment.id)}
    anonymous = proxima.client()

    attempts: list[tuple[str, object, str, str]] = []
    for route in proxima.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path is None or route.method in ("HEAD", "*") or path.startswith("/static"):
            continue
        ids = appointment_ids if path.startswith(("/api/appointments", "/appointments")) \
            else {**anne_ids, "id": str(message["id"])} if path.startswith("/api/outbox") \
            else anne_ids
        attempts.append((route.method, anonymous, concrete(path, ids), "anonymous"))
        if "{" in path:  # someone else's record, and a record that does not exist
            attempts.append((route.method, bob, concrete(path, ids), "another worker"))
            attempts.append((route.method, bob, concrete(path, {k: "999999" if k == "id" else v
                                                               for k, v in ids.items()}),
                             "no such record"))
        if path.startswith(("/api/workers", "/api/audit", "/admin")):
            attempts.append((route.method, bob, concrete(path, {"id": "1"}), "not an admin"))
    attempts.append(("POST", anne, f"/api/cases/{case['id']}/appointments", "foreign origin"))
    attempts.append(("GET", anonymous, "/j/" + "y" * 43, "a link that does not exist"))

    refused = 0
    for method, client, path, why in attempts:
        before = len(await proxima.store.audit.entries(limit=100_000))
        headers = {"Origin": "https://evil.example"} if why == "foreign origin" else {}
        if path.startswith("/ws/"):
            headers["Origin"] = headers.get("Origin", proxima.url)
        r = await client.request(method, path, json={} if method != "GET" else None,
                                 allow_redirects=False, headers=headers)
        if r.status not in REFUSALS:
            continue
        refused += 1
        after = await proxima.store.audit.entries(limit=100_000)
        assert len(after) > before, f"{method} {path} ({why}) answered {r.status}, no trace"
        assert after[0]["outcome"] != "ok", (method, path, why, after[0])
    assert refused >= 46, refused


async def test_refused_upgrades_links_and_logins_are_audited(make_proxima):
    proxima = await make_proxima(login_free_attempts=1, login_delay_seconds=60.0)
    call = await in_call(proxima)
    bob = await proxima.worker(email="bob@example.org", name="Bob Bernard")

    async def trace(action_or_target: str) -> list[dict]:
        return [e for e in await proxima.store.audit.entries()
                if action_or_target in (e["action"], e["target"].split(" ")[0])
                and e["outcome"] != "ok"]

    # A WebSocket upgrade on another worker's appointment.
    try:
        await connect(proxima, bob, call["public_id"], hello=False)
    except aiohttp.WSServerHandshakeError as exc:
        assert exc.status == 403
    assert await trace("websocket")
    # A revoked link, opened again.
    anne = call["anne"]
    await anne.json("POST", f"/api/appointments/{call['created']['appointment']['id']}/revoke")
    stale = proxima.client()
    r = await stale.request("GET", call["created"]["link"].replace(proxima.url, ""),
                            headers={"Accept": "text/html"})
    assert r.status == 410
    assert [e for e in await trace("open_link") if e["outcome"].startswith("gone")]
    # A throttled login.
    for _ in range(3):
        await stale.request("POST", "/api/session", json={"email": "bob@example.org",
                                                          "password": "wrong"})
    assert [e for e in await trace("login") if e["outcome"].startswith("throttled")]


async def test_sensitive_reads_and_acts_are_audited(proxima):
    admin = await proxima.worker(email="admin@example.org", name="Ada Admin", role="admin")
    call = await in_call(proxima)
    anne = call["anne"]
    await anne.json("GET", "/api/outbox")
    await anne.request("GET", "/outbox", headers={"Accept": "text/html"})
    await admin.json("GET", "/api/workers")
    await admin.request("GET", "/admin/workers", headers={"Accept": "text/html"})
    await admin.json("GET", "/api/audit")
    await call["worker"].send(type="end")
    await call["person"].expect("ended")
    config = proxima.app[CONFIG]
    done = await asyncio.to_thread(  # off the loop: the server under test runs on it
        subprocess.run, [sys.executable, "-m", "server.cli", "create-worker",
                         "--email", "cli@example.org", "--name", "Cli Made"],
        env={**os.environ, "PROXIMA_DATA_DIR": config.data_dir},
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    actions = [(e["action"], e["outcome"]) for e in await proxima.store.audit.entries()]
    for expected in ("admit", "end_interview", "read_outbox", "list_workers", "read_audit_log",
                     "create_worker"):
        assert (expected, "ok") in actions, expected
    assert actions.count(("read_outbox", "ok")) == 2 and actions.count(("list_workers", "ok")) == 2
    [by_cli] = [e for e in await proxima.store.audit.entries() if e["action"] == "create_worker"]
    assert by_cli["actor"] == "cli"
