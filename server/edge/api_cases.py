"""Case records and their appointments: ``/api/cases`` and ``/api/appointments``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.base import clock
from server.domain.models import N_, BrowserGroup, Invalid
from server.edge.access import appointment_for, case_for, int_id, parse_id, visible_cases
from server.edge.http import CASES, SCHEDULING, STORE, ApiError, json_body, require_worker
from server.services.cases import case_fields
from server.services.scheduling import AppointmentForm

routes = web.RouteTableDef()

async def _assignee(request: web.Request, data: dict[str, Any], default: int | None) -> int | None:
    if "worker_id" not in data:
        return default
    worker = await require_worker(request)
    if not worker.is_admin:
        raise ApiError(403, "admin_only", N_("Only an administrator can assign cases."))
    if data["worker_id"] is None:
        return None
    target_id = parse_id(data["worker_id"])
    target = None if target_id is None else await request.app[STORE].workers.get(target_id)
    if target is None:
        raise Invalid("worker_id", N_("This worker does not exist."))
    return target.id


@routes.get("/api/cases")
async def list_cases(request: web.Request) -> web.Response:
    """The cases assigned to me (every case for an administrator)."""
    cases = await visible_cases(request, await require_worker(request))
    return web.json_response({"cases": [c.public() for c in cases]})


@routes.post("/api/cases")
async def create_case(request: web.Request) -> web.Response:
    """Open a case record (assigned to me, or to ``worker_id`` by an administrator)."""
    worker = await require_worker(request)
    data = await json_body(request)
    fields = case_fields(data)
    case = await request.app[CASES].open(worker, fields,
                                         await _assignee(request, data, worker.id))
    return web.json_response({"case": case.public()}, status=201)


@routes.get("/api/cases/{id}")
async def get_case(request: web.Request) -> web.Response:
    """A case with its chronological record and its appointments."""
    worker = await require_worker(request)
    case = await case_for(request, worker, int_id(request), "read_case")
    store = request.app[STORE]
    entries = await store.entries.for_case(case.id)
    appointments = await store.appointments.for_case(case.id)
    return web.json_response({"case": case.public(), "record": [e.public() for e in entries],
                              "appointments": [a.public() for a in appointments]})


@routes.patch("/api/cases/{id}")
async def update_case(request: web.Request) -> web.Response:
    """Change a case's details; an administrator may reassign it (``worker_id``)."""
    worker = await require_worker(request)
    case = await case_for(request, worker, int_id(request), "update_case")
    data = await json_body(request)
    fields = case_fields(data)
    updated = await request.app[CASES].change(case, fields,
                                              await _assignee(request, data, case.worker_id))
    return web.json_response({"case": updated.public()})


@routes.post("/api/cases/{id}/appointments")
async def create_appointment(request: web.Request) -> web.Response:
    """Plan an appointment and send the invitation; the new link is in the answer, once."""
    worker = await require_worker(request)
    case = await case_for(request, worker, int_id(request), "create_appointment")
    form = AppointmentForm.from_json(await json_body(request))
    appointment, link = await request.app[SCHEDULING].create(worker, case, form)
    return web.json_response({"appointment": appointment.public(), "link": link}, status=201)


async def _appointment_view(request: web.Request, appointment_id: int) -> dict[str, Any]:
    store = request.app[STORE]
    appointment = await store.appointments.get(appointment_id)
    assert appointment is not None
    invitation = await store.invitations.current(appointment.id)
    browsers = await store.invitations.browsers(appointment.id)
    messages = await store.outbox.listing(None, appointment.id)
    current = [b for b in browsers if invitation is not None and b.invitation_id == invitation.id]
    return {
        "appointment": appointment.public(),
        "invitation": invitation.public(clock.now()) if invitation else None,
        "browsers": [b.public() for b in current],
        "browser_groups": [g.public() for g in BrowserGroup.fold(current)],
        "messages": [m.public() for m in messages],
    }


@routes.get("/api/appointments/{id}")
async def get_appointment(request: web.Request) -> web.Response:
    """An appointment, its link's state, the browsers that opened it and its messages."""
    worker = await require_worker(request)
    _, appointment = await appointment_for(request, worker, int_id(request), "read_appointment")
    return web.json_response(await _appointment_view(request, appointment.id))


@routes.put("/api/appointments/{id}")
async def move_appointment(request: web.Request) -> web.Response:
    """Move or change an appointment: the person gets the updated event and a new link."""
    worker = await require_worker(request)
    case, appointment = await appointment_for(request, worker, int_id(request),
                                              "move_appointment")
    form = AppointmentForm.from_json(await json_body(request))
    link = await request.app[SCHEDULING].move(worker, case, appointment, form)
    return web.json_response({**await _appointment_view(request, appointment.id), "link": link})


@routes.post("/api/appointments/{id}/cancel")
async def cancel_appointment(request: web.Request) -> web.Response:
    """Cancel: the link stops working and the person gets the cancelled event."""
    worker = await require_worker(request)
    case, appointment = await appointment_for(request, worker, int_id(request),
                                              "cancel_appointment")
    await request.app[SCHEDULING].cancel(worker, case, appointment)
    return web.json_response(await _appointment_view(request, appointment.id))


@routes.post("/api/appointments/{id}/revoke")
async def revoke_link(request: web.Request) -> web.Response:
    """Revoke the link: every browser that opened it is cut off."""
    worker = await require_worker(request)
    case, appointment = await appointment_for(request, worker, int_id(request), "revoke_link")
    await request.app[SCHEDULING].revoke(case, appointment)
    return web.json_response(await _appointment_view(request, appointment.id))


@routes.post("/api/appointments/{id}/reissue")
async def reissue_link(request: web.Request) -> web.Response:
    """Revoke the link and send a new one; the new link is in the answer, once."""
    worker = await require_worker(request)
    case, appointment = await appointment_for(request, worker, int_id(request), "reissue_link")
    link = await request.app[SCHEDULING].reissue(worker, case, appointment)
    return web.json_response({**await _appointment_view(request, appointment.id), "link": link})
