"""The workers' live pages: a 1:1 interview (readiness checklist, waiting room, call, plan B,
closing) and a group session (the facilitator's room: the same steps, and the group's tools)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from server.base import clock
from server.domain.ids import ParticipantId
from server.domain.models import N_
from server.edge.access import appointment_for, int_id
from server.edge.console import _clock_changes, _console_worker, _page
from server.edge.http import CONFIG, STORE, ApiError, uses_media
from server.services import call_notes
from server.services.groups import group_for
from server.services.scheduling import BROWSER_AND_DEVICE_NAMES

routes = web.RouteTableDef()


@routes.get("/appointments/{id}/live")
@uses_media
async def live_page(request: web.Request) -> web.Response:
    worker = await _console_worker(request)
    case, appointment = await appointment_for(request, worker, int_id(request), "open_interview")
    store = request.app[STORE]
    tests = await store.interviews.tests(appointment.id)
    for t in tests:
        t["at_dt"] = dt.datetime.fromisoformat(t["at"])
    # The call panel: the notes typed so far (the appointment's own worker's only; the read is
    # audited), and how long the session in progress has lasted (a reload keeps the timer).
    notes = None
    if call_notes.may_keep_notes(worker, appointment):
        notes, _ = await call_notes.read_notes(store, worker, appointment)
    session = await store.interviews.active(appointment.id)
    elapsed = 0 if session is None else max(0, int((clock.now() - session.started_at)
                                                   .total_seconds()))
    return _page(request, "console/live.html", worker, case=case, appointment=appointment,
                 tests=tests, device_names=BROWSER_AND_DEVICE_NAMES, notes=notes,
                 session_active=session is not None, elapsed_seconds=elapsed)


@routes.get("/appointments/{id}/postpone")
async def postpone_page(request: web.Request) -> web.Response:
    """After "Postpone" in the call: the appointment's form, prefilled (the person, topic,
    modality, outline), to choose the new date; saving it moves the appointment and sends the
    person the new time and a new link."""
    worker = await _console_worker(request)
    case, appointment = await appointment_for(request, worker, int_id(request),
                                              "read_appointment")
    if appointment.status != "planned" or appointment.group_id is not None:
        raise web.HTTPSeeOther(f"/appointments/{appointment.id}")
    config = request.app[CONFIG]
    local = clock.to_local(appointment.starts_at, config.timezone)
    tomorrow = clock.to_local(clock.now(), config.timezone).date() + dt.timedelta(days=1)
    return _page(request, "console/postpone.html", worker, case=case, appointment=appointment,
                 local_date=tomorrow.isoformat(), local_time=local.strftime("%H:%M"),
                 local_occurrence="first", clock_changes=_clock_changes(config))


@routes.get("/groups/{id}/live")
@uses_media
async def group_live_page(request: web.Request) -> web.Response:
    """The group session's room, for its workers (the facilitator hosts; audited)."""
    worker = await _console_worker(request)
    store = request.app[STORE]
    group_id = int_id(request)
    found = await group_for(store, worker, group_id)
    if found is None:
        await store.audit.record(f"worker:{worker.id}", "open_group_session", "denied",
                                 target=f"group:{group_id}")
        raise ApiError(404, "group_not_found", N_("This group session does not exist."))
    group, members = found
    await store.audit.record(f"worker:{worker.id}", "open_group_session", "ok",
                             target=f"group:{group_id}")
    hosting = worker.id == group.facilitator_id or worker.is_admin
    # The group's workers and their roles, for the attendance sheet (persons come with the lobby).
    roles = {str(ParticipantId.worker(m.worker_id)): m.role for m in members
             if m.worker_id is not None}
    roles[str(ParticipantId.worker(group.facilitator_id))] = "facilitator"
    return _page(request, "console/group_live.html", worker, group=group,
                 members=len(members) + 1, hosting=hosting, roles=roles,
                 device_names=BROWSER_AND_DEVICE_NAMES)
