"""After the session: its log, and the worker's closing form
(``/api/appointments/{id}/session``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from server.domain.models import N_, Invalid, check_text
from server.edge.access import appointment_for, int_id
from server.edge.http import SCHEDULING, STORE, ApiError, json_body, require_worker
from server.services.interview import clean_text
from server.services.scheduling import AppointmentForm

routes = web.RouteTableDef()


@routes.get("/api/appointments/{id}/session")
async def get_session(request: web.Request) -> web.Response:
    """The latest session of an appointment with its log, and every consent record."""
    worker = await require_worker(request)
    _, appointment = await appointment_for(request, worker, int_id(request), "read_session")
    store = request.app[STORE]
    session = await store.interviews.latest(appointment.id)
    consents = await store.interviews.consents(appointment.id)
    return web.json_response({
        "session": None if session is None else {
            "id": session.id, "status": session.status, "log": session.log,
            "started_at": session.started_at.isoformat(),
            "ended_at": session.ended_at.isoformat() if session.ended_at else None},
        "consents": [c.public() for c in consents]})


def _follow_ups(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or len(raw) > 20:
        raise Invalid("follow_ups", N_("Follow-ups must be a list."))
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise Invalid("follow_ups", N_("Follow-ups must be a list."))
        who = check_text("follow_ups.who", str(item.get("who", "")), 200, required=False)
        what = check_text("follow_ups.what", str(item.get("what", "")), 1000, required=False)
        if who or what:
            out.append({"who": who, "what": what})
    return out


@routes.post("/api/appointments/{id}/session/closing")
async def close_session(request: web.Request) -> web.Response:
    """The closing form: notes, follow-ups and, optionally, the next appointment (invited)."""
    worker = await require_worker(request)
    case, appointment = await appointment_for(request, worker, int_id(request), "close_session")
    data = await json_body(request)
    store = request.app[STORE]
    session = await store.interviews.latest(appointment.id)
    if session is None:
        raise ApiError(409, "no_session", N_("This appointment has no session yet."))
    notes = check_text("notes", clean_text(str(data.get("notes", ""))), 10_000, required=False)
    follow_ups = _follow_ups(data.get("follow_ups", []))
    closing: dict[str, Any] = {"notes": notes, "follow_ups": follow_ups, "next_appointment": None}
    link = None
    nxt = data.get("next_appointment")
    form = None
    if nxt:
        if not isinstance(nxt, dict):
            raise Invalid("next_appointment", N_("Some fields are missing or wrong."))
        base = {"duration_minutes": appointment.duration_minutes, "topic": appointment.topic,
                "incident_phone": appointment.incident_phone, "plan_b": appointment.plan_b,
                "attendees": [dataclasses.asdict(a) for a in appointment.attendees]}
        form = AppointmentForm.from_json({**base, **nxt})
    async with store.atomic():  # the notes, the next appointment and its invitation: all or none
        if form is not None:
            created, link = await request.app[SCHEDULING].create(worker, case, form)
            closing["next_appointment"] = {"id": created.id,
                                           "starts_at": created.starts_at.isoformat(),
                                           "modality": created.modality}
        session.log["closing"] = closing
        await store.interviews.amend(session)
        await store.entries.add(case.id, "session_closing", closing, appointment.id)
    return web.json_response({"closing": closing, "link": link})
