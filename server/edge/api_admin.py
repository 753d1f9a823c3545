"""Administration: worker accounts (``/api/workers``) and the audit log (``/api/audit``, its
export ``/api/audit/export``)."""

from __future__ import annotations

from aiohttp import web

from server.base import clock
from server.domain.models import (
    N_,
    ROLES,
    Invalid,
    check_choice,
    check_is_text,
    check_phone,
    check_text,
)
from server.edge.access import int_id, parse_id
from server.edge.http import CONFIG, LIVE_ACCESS, STORE, ApiError, json_body, require_admin
from server.services import accounts, audit_trail
from server.storage.accounts import WorkerChanges

routes = web.RouteTableDef()


@routes.get("/api/workers")
async def list_workers(request: web.Request) -> web.Response:
    """Every worker account."""
    admin = await require_admin(request)
    workers = await request.app[STORE].workers.all()
    await request.app[STORE].audit.record(f"worker:{admin.id}", "list_workers", "ok",
                                          target=f"{len(workers)} accounts")
    return web.json_response({"workers": [w.public() for w in workers]})


@routes.post("/api/workers")
async def create_worker(request: web.Request) -> web.Response:
    """Create an account; the one-time password is in the answer, once."""
    admin = await require_admin(request)
    data = await json_body(request)
    store = request.app[STORE]
    worker, password = await accounts.create_worker(
        store, check_is_text("email", data.get("email", "")),
        check_is_text("display_name", data.get("display_name", "")),
        check_is_text("phone", data.get("phone", "")),
        check_choice("role", data.get("role", "worker"), ROLES))
    await store.audit.record(f"worker:{admin.id}", "create_worker", "ok",
                             target=f"worker:{worker.id}")
    return web.json_response({"worker": worker.public(), "one_time_password": password},
                             status=201)


@routes.patch("/api/workers/{id}")
async def update_worker(request: web.Request) -> web.Response:
    """Change an account: name, phone, role, or disable / enable it."""
    admin = await require_admin(request)
    data = await json_body(request)
    store = request.app[STORE]
    worker = await store.workers.get(int_id(request))
    if worker is None:
        raise ApiError(404, "worker_not_found", N_("This account does not exist."))
    unknown = set(data) - {"display_name", "phone", "role", "disabled"}
    if unknown:
        raise Invalid(sorted(unknown)[0], N_("Unknown field."))
    fields = WorkerChanges()
    if "display_name" in data:
        fields["display_name"] = check_text("display_name", data["display_name"], 200)
    if "phone" in data:
        fields["phone"] = check_phone("phone", data["phone"], required=False)
    if "role" in data:
        fields["role"] = check_choice("role", data["role"], ROLES)
    if "disabled" in data:
        if not isinstance(data["disabled"], bool):
            raise Invalid("disabled", N_("Some fields are missing or wrong."))
        fields["disabled"] = data["disabled"]
        if worker.id == admin.id and fields["disabled"]:
            raise Invalid("disabled", N_("You cannot disable your own account."))
    await store.workers.update(worker.id, **fields)
    if fields.get("disabled") or "role" in fields:
        if fields.get("disabled"):
            await store.sessions.delete_for_worker(worker.id)
        await request.app[LIVE_ACCESS].recheck()  # a call in progress ends for them now
    await store.audit.record(f"worker:{admin.id}", "update_worker", "ok",
                             target=f"worker:{worker.id}:{','.join(sorted(fields))}")
    updated = await store.workers.get(worker.id)
    assert updated is not None
    return web.json_response({"worker": updated.public()})


@routes.get("/api/audit")
async def audit_log(request: web.Request) -> web.Response:
    """The latest audit entries (``?case_id=`` for one case)."""
    admin = await require_admin(request)
    case_id = request.query.get("case_id")
    wanted = parse_id(case_id) if case_id else None
    if case_id and wanted is None:
        raise Invalid("case_id", N_("Please enter a number."))
    entries = await request.app[STORE].audit.entries(wanted)
    await request.app[STORE].audit.record(f"worker:{admin.id}", "read_audit_log", "ok",
                                          target=f"case:{case_id}" if case_id else "all")
    return web.json_response({"entries": entries})


@routes.get("/api/audit/export")
async def audit_export(request: web.Request) -> web.Response:
    """The audit trail as CSV for the data-protection officer, filtered by case, worker and
    dates; the export is itself audited."""
    admin = await require_admin(request)
    query = request.query
    ids: dict[str, int | None] = {}
    for name in ("case_id", "worker_id"):  # a parameter given must be valid, even empty
        ids[name] = parse_id(query[name]) if name in query else None
        if name in query and ids[name] is None:
            raise Invalid(name, N_("Please enter a number."))
    days = {name: audit_trail.parse_day(name, query[name]) if name in query else None
            for name in ("since", "until")}
    wanted = audit_trail.AuditFilter(ids["case_id"], ids["worker_id"], days["since"],
                                     days["until"])
    text = await audit_trail.export_csv(request.app[STORE], f"worker:{admin.id}", wanted,
                                        request.app[CONFIG].timezone)
    day = clock.to_local(clock.now(), request.app[CONFIG].timezone).date()
    return web.Response(text=text, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="audit-{day}.csv"'})
