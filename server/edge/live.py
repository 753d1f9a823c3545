"""The worker's live interview page: readiness checklist, waiting room, call, plan B, closing."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from server.edge.access import appointment_for, int_id
from server.edge.console import _console_worker, _page
from server.edge.http import STORE, uses_media
from server.services.scheduling import BROWSER_AND_DEVICE_NAMES

routes = web.RouteTableDef()


@routes.get("/appointments/{id}/live")
@uses_media
async def live_page(request: web.Request) -> web.Response:
    worker = await _console_worker(request)
    case, appointment = await appointment_for(request, worker, int_id(request), "open_interview")
    tests = await request.app[STORE].interviews.tests(appointment.id)
    for t in tests:
        t["at_dt"] = dt.datetime.fromisoformat(t["at"])
    return _page(request, "console/live.html", worker, case=case, appointment=appointment,
                 tests=tests, device_names=BROWSER_AND_DEVICE_NAMES)
