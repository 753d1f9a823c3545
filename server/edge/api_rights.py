"""The person's rights over their case (``services/rights.py``): their data as one file (right
of access), the legal hold, and erasure. Another worker's case answers 404, as a case that does
not exist; every request and its outcome are audited.
"""

from __future__ import annotations

from aiohttp import web

from server.base import clock
from server.domain.models import N_, Case, Invalid, Worker, check_text
from server.edge.access import case_for, int_id
from server.edge.http import CONFIG, LIVE_ACCESS, STORE, ApiError, json_body, require_worker
from server.services import rights

routes = web.RouteTableDef()


async def _case(request: web.Request, worker: Worker, action: str) -> Case:
    """The case asked for (audited by ``case_for``); another worker's is "not found"."""
    try:
        return await case_for(request, worker, int_id(request), action)
    except ApiError as error:
        if error.status == 403:
            raise ApiError(404, "case_not_found", N_("This case does not exist.")) from None
        raise


def _refused(error: rights.RightsRefused) -> ApiError:
    return ApiError(error.status, error.code, error.message)


@routes.get("/api/cases/{id}/personal-data")
async def personal_data(request: web.Request) -> web.Response:
    """The person's data as one zip file: donnees.json and donnees.html (to read and print)."""
    worker = await require_worker(request)
    case = await _case(request, worker, "export_personal_data")
    config = request.app[CONFIG]
    # The page is the person's: in their language (the case's language of invitations).
    body = await rights.access_file(request.app[STORE], case, case.language, config.timezone,
                                    config.service_name)
    name = f"donnees-dossier-{case.id}-{clock.now().date().isoformat()}.zip"
    return web.Response(body=body, content_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


@routes.put("/api/cases/{id}/legal-hold")
async def set_legal_hold(request: web.Request) -> web.Response:
    """Put the case under a legal hold, with why (its worker or an administrator)."""
    worker = await require_worker(request)
    case = await _case(request, worker, "request_legal_hold")
    data = await json_body(request)
    unknown = sorted(set(data) - {"reason"})
    if unknown:
        raise Invalid(unknown[0], N_("Unknown field."))
    reason = check_text("reason", data.get("reason", ""), rights.HOLD_REASON_MAX)
    hold = await rights.set_hold(request.app[STORE], worker, case, reason)
    return web.json_response({"legal_hold": hold.public()})


@routes.delete("/api/cases/{id}/legal-hold")
async def lift_legal_hold(request: web.Request) -> web.Response:
    """Lift the legal hold (an administrator)."""
    worker = await require_worker(request)
    case = await _case(request, worker, "request_lift_legal_hold")
    try:
        await rights.lift_hold(request.app[STORE], worker, case)
    except rights.RightsRefused as error:
        raise _refused(error) from None
    return web.json_response({"legal_hold": None})


@routes.post("/api/cases/{id}/erase")
async def erase_case(request: web.Request) -> web.Response:
    """Erase the case and everything of it (an administrator; refused under a legal hold)."""
    worker = await require_worker(request)
    case = await _case(request, worker, "request_erasure")
    try:
        counts = await rights.erase_as(request.app[STORE], worker, case)
    except rights.RightsRefused as error:
        raise _refused(error) from None
    await request.app[LIVE_ACCESS].recheck()  # the person's open pages lose their link now
    return web.json_response({"erased": case.id, "rows": sum(counts.values())})
