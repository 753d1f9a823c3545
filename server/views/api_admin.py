"""Administration: worker accounts (``/api/workers``) and the audit log (``/api/audit``)."""

from __future__ import annotations

from aiohttp import web

from .. import accounts
from ..access import int_id, parse_id
from ..edge import STORE, ApiError, json_body, require_admin
from ..models import N_, ROLES, Invalid, check_choice, check_phone, check_text

routes = web.RouteTableDef()


@routes.get("/api/workers")
async def list_workers(request: web.Request) -> web.Response:
    """Every worker account."""
    await require_admin(request)
    workers = await request.app[STORE].workers.all()
    return web.json_response({"workers": [w.public() for w in workers]})


@routes.post("/api/workers")
async def create_worker(request: web.Request) -> web.Response:
    """Create an account; the one-time password is in the answer, once."""
    admin = await require_admin(request)
    data = await json_body(request)
    store = request.app[STORE]
    worker, password = await accounts.create_worker(
        store, str(data.get("email", "")), str(data.get("display_name", "")),
        str(data.get("phone", "")), str(data.get("role", "worker")))
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
    fields: dict[str, object] = {}
    if "display_name" in data:
        fields["display_name"] = check_text("display_name", str(data["display_name"]), 200)
    if "phone" in data:
        fields["phone"] = check_phone("phone", str(data["phone"]), required=False)
    if "role" in data:
        fields["role"] = check_choice("role", str(data["role"]), ROLES)
    if "disabled" in data:
        fields["disabled"] = bool(data["disabled"])
        if worker.id == admin.id and fields["disabled"]:
            raise Invalid("disabled", N_("You cannot disable your own account."))
    await store.workers.update(worker.id, **fields)
    if fields.get("disabled"):
        await store.sessions.delete_for_worker(worker.id)
    await store.audit.record(f"worker:{admin.id}", "update_worker", "ok",
                             target=f"worker:{worker.id}:{','.join(sorted(fields))}")
    updated = await store.workers.get(worker.id)
    assert updated is not None
    return web.json_response({"worker": updated.public()})


@routes.get("/api/audit")
async def audit_log(request: web.Request) -> web.Response:
    """The latest audit entries (``?case_id=`` for one case)."""
    await require_admin(request)
    case_id = request.query.get("case_id")
    wanted = parse_id(case_id) if case_id else None
    if case_id and wanted is None:
        raise Invalid("case_id", N_("Please enter a number."))
    entries = await request.app[STORE].audit.entries(wanted)
    return web.json_response({"entries": entries})
