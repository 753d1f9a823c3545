"""Security at the edge: login throttling, the session cookie, Origin checks, methods, headers
on every route, case access rules and the audit log."""

from __future__ import annotations

import re

from aiohttp import web
from conftest import ManualClock, appointment_form, new_case

from server.edge.http import CONFIG, CSP


async def test_login_throttling_grows_then_refuses(make_proxima):
    clock = ManualClock()
    proxima = await make_proxima(clock=clock, login_free_attempts=3, login_delay_seconds=1.0)
    await proxima.worker(email="bob@example.org")
    client = proxima.client()
    for _ in range(3):
        r = await client.request("POST", "/api/session",
                                 json={"email": "bob@example.org", "password": "wrong"})
        assert r.status == 401
        assert "mot de passe" in (await r.json())["message"]
    r = await client.request("POST", "/api/session",
                             json={"email": "bob@example.org", "password": "wrong"})
    assert r.status == 401  # the fourth failure starts the delay
    blocked = await client.request("POST", "/api/session",
                                   json={"email": "bob@example.org", "password": "wrong"})
    assert blocked.status == 429
    body = await blocked.json()
    assert body["error"] == "too_many_attempts" and int(blocked.headers["Retry-After"]) >= 1
    assert "secondes" in body["message"]
    # Even the right password waits for the delay...
    r = await client.request("POST", "/api/session", json={
        "email": "bob@example.org", "password": "worker-password-for-tests"})
    assert r.status == 429
    # ...and the delay grows with each further failure.
    clock.advance(1.1)
    r = await client.request("POST", "/api/session",
                             json={"email": "bob@example.org", "password": "wrong"})
    assert r.status == 401
    r = await client.request("POST", "/api/session",
                             json={"email": "bob@example.org", "password": "wrong"})
    assert r.status == 429 and int(r.headers["Retry-After"]) == 2
    # Another account from the same address (a colleague in the same office) is not blocked.
    r = await client.request("POST", "/api/session",
                             json={"email": "other@example.org", "password": "x"})
    assert r.status == 401


async def test_one_blocked_account_does_not_lock_the_office_out(make_proxima):
    """A shared office connection: Bob is blocked, Carla logs in from the same address."""
    proxima = await make_proxima(login_free_attempts=3, login_delay_seconds=60.0)
    await proxima.worker(email="bob@example.org")
    await proxima.worker(email="carla@example.org")
    office = proxima.client()
    for _ in range(5):
        await office.request("POST", "/api/session",
                             json={"email": "bob@example.org", "password": "wrong"})
    r = await office.request("POST", "/api/session",
                             json={"email": "bob@example.org", "password": "wrong"})
    assert r.status == 429
    await office.login("carla@example.org", "worker-password-for-tests")


async def test_an_address_trying_many_accounts_is_throttled_later(make_proxima):
    proxima = await make_proxima(login_free_attempts=3, login_address_free_attempts=8,
                                 login_delay_seconds=60.0)
    await proxima.worker(email="carla@example.org")
    sprayer = proxima.client()
    statuses = []
    for i in range(10):  # one try per account: no account reaches its own threshold
        r = await sprayer.request("POST", "/api/session",
                                  json={"email": f"user{i}@example.org", "password": "x"})
        statuses.append(r.status)
    assert statuses[:9] == [401] * 9 and statuses[9] == 429
    assert [e["outcome"] for e in await proxima.store.audit.entries()
            if e["action"] == "login"].count("throttled:too_many_attempts") == 1


async def test_behind_a_trusted_proxy_each_client_address_counts_alone(make_proxima):
    proxima = await make_proxima(login_free_attempts=1, login_address_free_attempts=2,
                                 login_delay_seconds=60.0, trusted_proxies="127.0.0.1/32")
    client = proxima.client()

    async def attempt(address, email="x@example.org"):
        return (await client.request("POST", "/api/session",
                                     json={"email": email, "password": "x"},
                                     headers={"X-Forwarded-For": address})).status

    # One client address runs out of attempts; another one behind the same proxy does not.
    assert [await attempt("198.51.100.7", f"u{i}@example.org") for i in range(4)] == \
        [401, 401, 401, 429]
    assert await attempt("203.0.113.9", "v@example.org") == 401
    # A client cannot pick its address: what it writes before the proxy's entry is ignored.
    assert await attempt("10.9.9.9, 198.51.100.7", "w@example.org") == 429


async def test_without_a_trusted_proxy_the_header_is_ignored(make_proxima):
    proxima = await make_proxima(login_free_attempts=1, login_address_free_attempts=2,
                                 login_delay_seconds=60.0)
    client = proxima.client()
    statuses = []
    for i in range(4):  # a new forged address each time does not escape the address limit
        statuses.append((await client.request(
            "POST", "/api/session", json={"email": f"u{i}@example.org", "password": "x"},
            headers={"X-Forwarded-For": f"198.51.100.{i}"})).status)
    assert statuses == [401, 401, 401, 429]


async def test_session_cookie_attributes_and_logout(proxima):
    await proxima.worker(email="carla@example.org")
    client = proxima.client()
    r = await client.request("POST", "/api/session", json={"email": "carla@example.org",
                                                          "password": "worker-password-for-tests"})
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("__Host-proxima-session=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    assert "Domain" not in cookie
    assert (await client.request("GET", "/api/session")).status == 200
    await client.json("DELETE", "/api/session")
    assert (await client.request("GET", "/api/session")).status == 401


async def test_idle_timeout_ends_the_session(make_proxima):
    proxima = await make_proxima(session_idle_minutes=1)
    client = await proxima.worker()
    assert (await client.request("GET", "/api/cases")).status == 200
    await proxima.store.db.run(lambda c: c.execute(
        "UPDATE worker_sessions SET last_seen_at = '2000-01-01T00:00:00Z'"))
    r = await client.request("GET", "/api/cases")
    assert r.status == 401 and (await r.json())["error"] == "login_required"


async def test_absolute_timeout_ends_the_session_however_active(proxima):
    client = await proxima.worker()
    await proxima.store.db.run(lambda c: c.execute(
        "UPDATE worker_sessions SET created_at = '2000-01-01T00:00:00Z'"))
    assert (await client.request("GET", "/api/cases")).status == 401


async def test_one_time_password_must_be_changed(proxima):
    from server.services import accounts
    _worker, password = await accounts.create_worker(proxima.store, "dan@example.org", "Dan",
                                                    "", "worker")
    client = proxima.client()
    await client.login("dan@example.org", password)
    r = await client.request("GET", "/api/cases")
    assert r.status == 403 and (await r.json())["error"] == "password_change_required"
    page = await client.request("GET", "/cases", headers={"Accept": "text/html"})
    assert page.url.path == "/password"
    weak = await client.request("POST", "/api/password",
                                json={"current_password": password, "new_password": "short"})
    assert weak.status == 400
    await client.json("POST", "/api/password", {"current_password": password,
                                                "new_password": "a long new password"})
    assert (await client.request("GET", "/api/cases")).status == 200


async def test_foreign_origin_is_refused_and_get_is_not_allowed(proxima):
    client = await proxima.worker()
    r = await client.request("POST", "/api/cases", json={"reference": "X", "person_name": "Y"},
                             headers={"Origin": "https://evil.example"})
    assert r.status == 403 and (await r.json())["error"] == "foreign_origin"
    r = await client.request("POST", "/api/cases", json={"reference": "X", "person_name": "Y"},
                             headers={"Origin": "", "Sec-Fetch-Site": "cross-site"})
    assert r.status == 403
    assert (await proxima.store.cases.for_worker(None)) == []
    for path in ("/api/appointments/1/revoke", "/api/appointments/1/cancel",
                 "/api/outbox/1/done", "/api/password"):
        r = await client.request("GET", path)
        assert r.status == 405, path


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_security_headers_on_every_route(proxima):
    client = await proxima.worker(role="admin", email="root@example.org")
    seen = 0
    for route in proxima.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if path is None:
            continue
        if info.get("prefix"):
            path = path + "/proxima.css"
        method = route.method if route.method != "*" else "GET"
        if method == "HEAD":
            continue
        r = await client.request(method, concrete(path), json={} if method != "GET" else None,
                                 allow_redirects=False)
        h = r.headers
        assert h["Content-Security-Policy"] == CSP, path
        assert "default-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
        assert h["X-Content-Type-Options"] == "nosniff", path
        assert h["Referrer-Policy"] == "no-referrer", path
        assert h["Strict-Transport-Security"].startswith("max-age="), path
        policy = h["Permissions-Policy"]
        media = path.startswith("/rdv/") or path.endswith("/live")
        assert ("camera=(self)" in policy) == media, (path, policy)
        seen += 1
    assert seen > 25
    # Error pages too.
    r = await client.request("GET", "/no/such/page")
    assert r.status == 404 and r.headers["Content-Security-Policy"] == CSP


async def test_a_worker_cannot_read_another_workers_case(proxima):
    anne = await proxima.worker(email="anne@example.org")
    bruno = await proxima.worker(email="bruno@example.org", name="Bruno")
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(), status=201)
    r = await bruno.request("GET", f"/api/cases/{case['id']}")
    assert r.status == 403 and (await r.json())["error"] == "not_your_case"
    assert "Fatou" not in await r.text()
    r = await bruno.request("GET", f"/api/appointments/{created['appointment']['id']}")
    assert r.status == 403
    r = await bruno.request("POST", f"/api/appointments/{created['appointment']['id']}/revoke")
    assert r.status == 403
    page = await bruno.request("GET", f"/cases/{case['id']}", headers={"Accept": "text/html"})
    assert page.status == 403 and "Fatou" not in await page.text()
    assert (await bruno.json("GET", "/api/cases"))["cases"] == []

    bruno_id = (await bruno.json("GET", "/api/session"))["worker"]["id"]
    log = await proxima.store.audit.entries(case["id"])
    denied = [e for e in log if e["outcome"] == "denied"]
    assert {e["actor"] for e in denied} == {f"worker:{bruno_id}"}
    assert {"read_case", "read_appointment", "revoke_link"} <= {e["action"] for e in denied}
    assert any(e["action"] == "create_appointment" and e["outcome"] == "ok" for e in log)
    # The audit log is append-only and holds no content.
    import sqlite3
    try:
        await proxima.store.db.run(lambda c: c.execute("DELETE FROM audit_log"))
    except sqlite3.DatabaseError as exc:
        assert "append-only" in str(exc)
    else:
        raise AssertionError("the audit log accepted a DELETE")
    assert all("Fatou" not in str(e) for e in log)


async def test_admin_assigns_cases_and_disables_accounts(proxima):
    admin = await proxima.worker(email="root@example.org", role="admin", name="Root")
    anne = await proxima.worker(email="anne@example.org")
    created = await admin.json("POST", "/api/workers", {
        "email": "eve@example.org", "display_name": "Eve Leroy", "phone": "01 02 03 04 05",
        "role": "facilitator"}, status=201)
    assert len(created["one_time_password"]) >= 12
    eve_id = created["worker"]["id"]
    case = await new_case(anne)
    moved = await admin.json("PATCH", f"/api/cases/{case['id']}", {"worker_id": eve_id})
    assert moved["case"]["worker_id"] == eve_id
    assert (await anne.request("GET", f"/api/cases/{case['id']}")).status == 403
    r = await anne.request("PATCH", f"/api/cases/{case['id']}", json={"worker_id": 1})
    assert r.status == 403
    anne_id = (await anne.json("GET", "/api/session"))["worker"]["id"]
    await admin.json("PATCH", f"/api/workers/{anne_id}", {"disabled": True})
    assert (await anne.request("GET", "/api/cases")).status == 401
    r = await proxima.client().request("POST", "/api/session", json={
        "email": "anne@example.org", "password": "worker-password-for-tests"})
    assert r.status == 401
    assert (await anne.request("GET", "/api/workers")).status == 401
    assert (await admin.json("GET", "/api/audit"))["entries"]


async def test_malformed_input_gets_a_clear_error(proxima):
    anne = await proxima.worker()
    r = await anne.request("POST", "/api/cases", data=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert r.status == 400 and (await r.json())["error"] == "malformed_json"
    r = await anne.request("POST", "/api/cases", json={"reference": "", "person_name": "A"})
    body = await r.json()
    assert r.status == 400 and body["field"] == "reference"
    case = await new_case(anne)
    url = f"/api/cases/{case['id']}/appointments"
    r = await anne.request("POST", url, json=appointment_form(date="2020-01-01"))
    assert r.status == 400 and "pass" in (await r.json())["message"]
    # 02:30 on the last Sunday of March 2027 does not exist in Paris.
    r = await anne.request("POST", url, json=appointment_form(date="2027-03-28", time="02:30"))
    body = await r.json()
    assert r.status == 400 and body["field"] == "time" and "heure" in body["message"]
    r = await anne.request("POST", url, json=appointment_form(modality="carrier pigeon"))
    assert r.status == 400 and (await r.json())["field"] == "modality"
    r = await anne.request("POST", url, json={"x" * 10: "y" * (70 * 1024)})
    assert r.status == 413
    assert (await proxima.store.appointments.for_case(case["id"])) == []
    assert isinstance(proxima.app, web.Application)


async def test_personal_data_is_encrypted_at_rest(proxima):
    anne = await proxima.worker()
    case = await new_case(anne, accessibility="Malentendante, préfère l'écrit")
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(), status=201)
    await anne.json("GET", f"/api/appointments/{created['appointment']['id']}")
    await proxima.store.db.run(lambda c: c.execute("PRAGMA wal_checkpoint(FULL)"))
    data_dir = proxima.app[CONFIG].data_path
    stored = b"".join(p.read_bytes() for p in data_dir.glob("proxima.sqlite3*"))
    assert len(stored) > 10_000
    token = created["link"].rsplit("/", 1)[1]
    for secret in ("Fatou", "fatou@example.net", "06 12 34 56 78", "DOS-2026-0042", "Malentendante",
                   "logement", "Paul Durand", "imposition", token):
        assert secret.encode() not in stored, secret
