"""The session of an appointment: its log, the notes the worker types during the call
(``/api/appointments/{id}/call-notes``), and the closing form
(``/api/appointments/{id}/session``)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from server.domain.models import N_, Invalid
from server.edge.access import appointment_for, int_id
from server.edge.http import SCHEDULING, STORE, ApiError, json_body, require_worker
from server.services import call_notes, session_closing
from server.services.session_closing import ClosingForm

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
            "id": session.id, "status": session.status, "log": session.log.to_json(),
            "started_at": session.started_at.isoformat(),
            "ended_at": session.ended_at.isoformat() if session.ended_at else None},
        "consents": [c.public() for c in consents]})


@routes.post("/api/appointments/{id}/session/closing")
async def close_session(request: web.Request) -> web.Response:
    """The closing form: notes, follow-ups and, optionally, the next appointment (invited)."""
    worker = await require_worker(request)
    case, appointment = await appointment_for(request, worker, int_id(request), "close_session")
    form = ClosingForm.from_json(await json_body(request))
    try:
        closing, link = await session_closing.close_session(
            request.app[STORE], request.app[SCHEDULING], worker, case, appointment, form)
    except session_closing.NoSession:
        raise ApiError(409, "no_session", N_("This appointment has no session yet.")) from None
    return web.json_response({"closing": closing, "link": link})


def _notes_view(notes: str, saved_at: dt.datetime | None) -> dict[str, object]:
    return {"notes": notes, "saved_at": saved_at.isoformat() if saved_at else None}


@routes.get("/api/appointments/{id}/call-notes")
async def get_call_notes(request: web.Request) -> web.Response:
    """The notes typed during the call (a draft, until the closing form takes them); only the
    appointment's own worker reads them, and each read is audited."""
    worker = await require_worker(request)
    _, appointment = await appointment_for(request, worker, int_id(request), "read_call_notes")
    try:
        notes, saved_at = await call_notes.read_notes(request.app[STORE], worker, appointment)
    except call_notes.NotYourNotes:
        raise _not_yours() from None
    return web.json_response(_notes_view(notes, saved_at))


@routes.put("/api/appointments/{id}/call-notes")
async def save_call_notes(request: web.Request) -> web.Response:
    """Replace the notes typed during the call (the live page sends them as the worker types)."""
    worker = await require_worker(request)
    _, appointment = await appointment_for(request, worker, int_id(request), "save_call_notes")
    data = await json_body(request)
    unknown = set(data) - {"notes"}
    if unknown:
        raise Invalid(sorted(unknown)[0], N_("Unknown field."))
    if "notes" not in data:
        raise Invalid("notes", N_("Some fields are missing or wrong."))
    try:
        notes, saved_at = await call_notes.save_notes(request.app[STORE], worker, appointment,
                                                      data["notes"])
    except call_notes.NotYourNotes:
        raise _not_yours() from None
    return web.json_response(_notes_view(notes, saved_at))


def _not_yours() -> ApiError:
    return ApiError(403, "not_your_notes",
                    N_("These notes are the appointment's own worker's only."))
