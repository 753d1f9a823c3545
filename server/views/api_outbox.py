"""The outbox: messages waiting, sent, failed or left for the worker to send (``/api/outbox``)."""

from __future__ import annotations

from aiohttp import web

from ..access import int_id, may_access
from ..edge import STORE, ApiError, require_worker
from ..models import N_

routes = web.RouteTableDef()


@routes.get("/api/outbox")
async def list_outbox(request: web.Request) -> web.Response:
    """My messages (every message for an administrator), newest first."""
    worker = await require_worker(request)
    store = request.app[STORE]
    messages = await store.outbox.listing(None if worker.is_admin else worker.id)
    await store.audit.record(f"worker:{worker.id}", "read_outbox", "ok",
                             target=f"{len(messages)} messages")
    return web.json_response({"messages": [m.public() for m in messages]})


@routes.post("/api/outbox/{id}/done")
async def mark_sent_by_hand(request: web.Request) -> web.Response:
    """I sent this message myself: it leaves the outbox and its link is wiped from it."""
    worker = await require_worker(request)
    store = request.app[STORE]
    message_id = int_id(request)
    message = await store.outbox.get(message_id)
    case = None
    if message is not None and message.appointment_id is not None:
        appointment = await store.appointments.get(message.appointment_id)
        case = await store.cases.get(appointment.case_id) if appointment else None
    allowed = message is not None and (worker.is_admin or (case is not None
                                                           and may_access(worker, case)))
    if not allowed:
        # Another worker's message (or none): the same answer, and a trace.
        await store.audit.record(f"worker:{worker.id}", "outbox_sent_by_hand",
                                 "not_found" if message is None else "denied",
                                 case_id=case.id if case else None, target=f"outbox:{message_id}")
        raise ApiError(404, "message_not_found", N_("This message does not exist."))
    if message.status not in ("manual", "failed"):
        raise ApiError(409, "not_manual", N_("This message is not waiting for you."))
    await store.outbox.set_status(message.id, "sent", wipe_payload=True)
    await store.audit.record(f"worker:{worker.id}", "outbox_sent_by_hand", "ok",
                             target=f"outbox:{message.id}")
    updated = await store.outbox.get(message.id)
    assert updated is not None
    return web.json_response({"message": updated.public()})
