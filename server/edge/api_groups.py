"""Group sessions: ``/api/groups`` (plan one, list mine, read one)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.base import clock, i18n
from server.domain.groups import DEFAULT_RULE, DEFAULT_SPEAKING_RULES, GroupMember, GroupSession
from server.domain.models import N_
from server.edge.access import int_id
from server.edge.http import GROUPS, STORE, ApiError, json_body, request_language, require_worker
from server.services.groups import GroupForm, group_for
from server.storage.repositories import Store

routes = web.RouteTableDef()


@routes.post("/api/groups")
async def create_group(request: web.Request) -> web.Response:
    """Plan a group session and invite each person; the new links are in the answer, once."""
    worker = await require_worker(request)
    form = GroupForm.from_json(await json_body(request), worker.phone)
    tr = i18n.translations(request_language(request))
    group, links = await request.app[GROUPS].create(
        worker, form, tr.gettext(DEFAULT_RULE), tr.gettext(DEFAULT_SPEAKING_RULES))
    view = await group_view(request.app[STORE], group,
                            await request.app[STORE].groups.members(group.id))
    return web.json_response({**view, "links": [
        {"appointment_id": appointment_id, "link": link} for appointment_id, link in links]},
        status=201)


@routes.get("/api/groups")
async def list_groups(request: web.Request) -> web.Response:
    """The group sessions I lead or take part in (all of them for an administrator)."""
    worker = await require_worker(request)
    store = request.app[STORE]
    groups = await store.groups.for_worker(None if worker.is_admin else worker.id)
    await store.audit.record(f"worker:{worker.id}", "list_groups", "ok",
                             target=f"{len(groups)} groups")
    return web.json_response({"groups": [g.public() for g in groups]})


@routes.get("/api/groups/{id}")
async def get_group(request: web.Request) -> web.Response:
    """A group session, its members and each person's link state."""
    worker = await require_worker(request)
    store = request.app[STORE]
    group_id = int_id(request)
    found = await group_for(store, worker, group_id)
    if found is None:
        await store.audit.record(f"worker:{worker.id}", "read_group", "denied",
                                 target=f"group:{group_id}")
        raise ApiError(404, "group_not_found", N_("This group session does not exist."))
    await store.audit.record(f"worker:{worker.id}", "read_group", "ok",
                             target=f"group:{group_id}")
    return web.json_response(await group_view(store, *found))


async def group_view(store: Store, group: GroupSession,
                     members: list[GroupMember]) -> dict[str, Any]:
    """The group for its workers: who leads it, the members with their names, and each
    person's appointment and link state."""
    facilitator = await store.workers.get(group.facilitator_id)
    out = []
    for m in members:
        entry = m.public()
        if m.worker_id is not None:
            worker = await store.workers.get(m.worker_id)
            entry["name"] = worker.display_name if worker else ""
        elif m.appointment_id is not None:
            appointment = await store.appointments.get(m.appointment_id)
            case = await store.cases.get(appointment.case_id) if appointment else None
            invitation = await store.invitations.current(m.appointment_id)
            entry["name"] = case.person_name if case else ""
            entry["case_id"] = case.id if case else None
            entry["appointment_status"] = appointment.status if appointment else None
            entry["link_state"] = invitation.state(clock.now()) if invitation else None
        out.append(entry)
    return {"group": group.public(),
            "facilitator": {"id": group.facilitator_id,
                            "name": facilitator.display_name if facilitator else ""},
            "members": out}
