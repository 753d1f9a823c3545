"""The JSON API against its description (docs/openapi.yaml).

Ids out of SQLite's INTEGER range on every route, values of the wrong type, dates years away;
then schemathesis over the whole description: a real Proxima served over TLS on loopback, one
run as a worker and one as an administrator, seeded and bounded, with no server error (5xx) and
every conformance check schemathesis has (documented status codes, content types, response
schemas, valid data accepted, invalid data refused: tests/api_schema_hooks.py says which refusals
of valid data depend on what no schema can state).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from conftest import appointment_form, new_case

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "docs" / "openapi.yaml"

# Beyond SQLite's INTEGER (and Python's int() quirks): no row can have these ids.
OUT_OF_RANGE = [str(2**63), str(2**64), "9" * 30, "0", "-1", "1_0", "+1", "\u0661"]


def operations() -> list[tuple[str, str]]:
    """Every (method, path) the description has."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return [(method.upper(), path) for path, ops in spec["paths"].items()
            for method in ops if method in ("get", "post", "put", "patch", "delete")]


def id_operations() -> list[tuple[str, str]]:
    """Every (method, path) of the description whose path holds an ``{id}``."""
    return [(method, path) for method, path in operations() if "{id}" in path]


async def test_an_id_out_of_range_is_not_found_on_every_route(proxima):
    admin = await proxima.worker("root@example.org", "Ada Admin", role="admin")
    case = await new_case(admin)
    operations = id_operations()
    assert len(operations) >= 10
    for method, path in operations:
        for bad in OUT_OF_RANGE:
            response = await admin.request(method, path.replace("{id}", bad), json={})
            assert response.status == 404, (method, path, bad, response.status)
    # In range, the same routes still find what exists.
    body = await admin.json("GET", f"/api/cases/{case['id']}")
    assert body["case"]["id"] == case["id"]


async def test_ids_in_query_and_body_out_of_range_are_refused(proxima):
    admin = await proxima.worker("root@example.org", "Ada Admin", role="admin")
    case = await new_case(admin)
    for bad in (str(2**63), "0", "-3", "abc"):
        body = await admin.json("GET", f"/api/audit?case_id={bad}", status=400)
        assert body["field"] == "case_id"
    entries = (await admin.json("GET", f"/api/audit?case_id={case['id']}"))["entries"]
    assert entries and all(e["case_id"] == case["id"] for e in entries)
    for bad in (2**63, 2**64, -1, 0, True, 1.5, "x"):
        body = await admin.json("PATCH", f"/api/cases/{case['id']}", {"worker_id": bad},
                                status=400)
        assert body["field"] == "worker_id", bad
        body = await admin.json("POST", "/api/cases", {"reference": "R", "person_name": "P",
                                                       "worker_id": bad}, status=400)
        assert body["field"] == "worker_id", bad
    me = (await admin.json("GET", "/api/session"))["worker"]["id"]
    updated = await admin.json("PATCH", f"/api/cases/{case['id']}", {"worker_id": me})
    assert updated["case"]["worker_id"] == me


async def test_a_value_of_the_wrong_type_is_refused_not_coerced(proxima):
    admin = await proxima.worker("root@example.org", "Ada Admin", role="admin")
    case = await new_case(admin)
    plan = f"/api/cases/{case['id']}/appointments"
    for field, value in (("topic", {}), ("documents", 3), ("incident_phone", 612345678),
                         ("duration_minutes", "45"), ("test_minutes", ""),
                         ("sms_reminder", "no")):
        body = await admin.json("POST", plan, appointment_form(**{field: value}), status=400)
        assert body["field"] == field, (field, value)
    for field, value in (("accessibility", {}), ("reference", 42), ("language", ["fr"])):
        body = await admin.json("PATCH", f"/api/cases/{case['id']}", {field: value},
                                status=400)
        assert body["field"] == field, (field, value)
    for sent, field in (({"email": "paul@example.org", "display_name": 5}, "display_name"),
                        ({"email": "pa\u0005ul@example.org", "display_name": "P"}, "email"),
                        ({"email": ["paul@example.org"], "display_name": "P"}, "email")):
        body = await admin.json("POST", "/api/workers", sent, status=400)
        assert body["field"] == field, sent
    me = (await admin.json("GET", "/api/session"))["worker"]["id"]
    body = await admin.json("PATCH", f"/api/workers/{me}", {"disabled": {}}, status=400)
    assert body["field"] == "disabled"
    # JSON Schema counts 45.0 as an integer: it is one.
    created = await admin.json("POST", plan, appointment_form(duration_minutes=45.0,
                                                              test_minutes=10.0), status=201)
    assert created["appointment"]["duration_minutes"] == 45
    assert created["appointment"]["test_minutes"] == 10


async def test_a_date_years_away_is_refused_not_a_server_error(proxima):
    worker = await proxima.worker()
    case = await new_case(worker)
    plan = f"/api/cases/{case['id']}/appointments"
    today = dt.datetime.now(ZoneInfo("Europe/Paris")).date()  # the service's time zone
    too_far = (today + dt.timedelta(days=6 * 366)).isoformat()
    for day, time in (("9999-12-31", "23:59"), ("0001-01-01", "00:30"), (too_far, "10:00")):
        body = await worker.json("POST", plan, appointment_form(date=day, time=time),
                                 status=400)
        assert body["field"] == "date", (day, time)
    near = (today + dt.timedelta(days=4 * 365)).isoformat()
    await worker.json("POST", plan, appointment_form(date=near), status=201)


# -- schemathesis over the whole description ---------------------------------------------------

HOOKS = Path(__file__).resolve().parent / "api_schema_hooks.py"
SEED = 20261129
MAX_EXAMPLES = 10  # per operation and phase
PASSWORD = "schema-test-password"


def schemathesis_config(proxima: Any, email: str, ca_file: Path) -> str:
    """A schemathesis.toml: seeded, bounded, every check, logged in as ``email``."""
    q = json.dumps  # a JSON string is a TOML basic string
    return f"""
seed = {SEED}
workers = 1
hooks = {q(str(HOOKS))}
tls-verify = {q(str(ca_file))}
request-timeout = 30
# State changes must come from Proxima's own origin; messages in English for the failures.
headers = {{ Origin = {q(proxima.url)}, "Accept-Language" = "en" }}

[cache]
enabled = false

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"

# Every check schemathesis has; ST202 through api_schema_hooks.valid_data_accepted instead.
[checks]
enabled = true

[checks.positive_data_acceptance]
enabled = false

# Log in like the console; log in again when the run has logged out or changed the password.
[auth.dynamic.openapi.session]
path = "/api/session"
payload = {{ email = {q(email)}, password = {q(PASSWORD)} }}
extract_from = "cookie"
extract_selector = "__Host-proxima-session"
"""


@pytest.mark.parametrize("role", ["worker", "admin"])
async def test_schemathesis_finds_no_server_error_and_no_mismatch(make_proxima, tmp_path,
                                                                  cert_dir, role):
    # The run makes hundreds of failed logins from one address: throttling is tested elsewhere.
    proxima = await make_proxima(login_free_attempts=100_000)
    email = f"{role}@example.org"
    client = await proxima.worker(email, "Camille Martin", role=role, password=PASSWORD)
    case = await new_case(client)  # something to find at small ids
    await client.json("POST", f"/api/cases/{case['id']}/appointments", appointment_form(),
                      status=201)
    # A second case, and a group session of both people (api_schema_hooks.GROUP_CASES).
    other = await new_case(client, reference="DOS-2026-0043", person_name="Awa Sow")
    assert [case["id"], other["id"]] == [1, 2]
    form = appointment_form()
    await client.json("POST", "/api/groups", {
        "title": "Atelier", "date": form["date"], "time": "14:00", "modality": "video",
        "duration_minutes": 60, "agenda": [{"title": "Tour de table", "minutes": 15}],
        "people": [{"case_id": 1}, {"case_id": 2}]}, status=201)
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config(proxima, email, cert_dir / "ca.pem"), encoding="utf-8")
    command = [str(Path(sys.executable).with_name("schemathesis")), "--no-color",
               "--config-file", str(config), "run", str(SPEC), "--url", proxima.url]
    skipped = []
    if role == "admin":  # logging in and changing one's password do not depend on the role
        skipped = ["login", "change_password"]
    for operation_id in skipped:
        command += ["--exclude-operation-id", operation_id]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-30_000:]
    total = len(operations())
    assert f"{total - len(skipped)} selected / {total} total" in report, report[-3000:]
