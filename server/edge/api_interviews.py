"""After the session: its log, and the worker's closing form
(``/api/appointments/{id}/session``)."""

from __future__ import annotations

from aiohttp import web

from server.domain.models import N_
from server.edge.access import appointment_for, int_id
from server.edge.http import SCHEDULING, STORE, ApiError, json_body, require_worker
from server.services import session_closing
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
