"""The outbox: messages waiting, sent, failed or left for the worker to send (``/api/outbox``)."""

from __future__ import annotations

from aiohttp import web

from server.domain.models import N_, Case, Worker
from server.domain.outbox import OutboxMessage
from server.edge.access import int_id, may_access
from server.edge.http import STORE, ApiError, require_worker

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


async def _waiting_for(request: web.Request, worker: Worker, action: str,
                       ) -> tuple[OutboxMessage, Case | None]:
    """The message in the route (and its case), if it is waiting for this worker to send it.

    Another worker's message (or none) answers 404, and the attempt leaves a trace naming the
    case; one that is not waiting (being sent, sent, withdrawn) answers 409."""
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
        await store.audit.record(f"worker:{worker.id}", action,
                                 "not_found" if message is None else "denied",
                                 case_id=case.id if case else None, target=f"outbox:{message_id}")
        raise ApiError(404, "message_not_found", N_("This message does not exist."))
    assert message is not None
    if message.status not in ("manual", "failed"):
        raise ApiError(409, "not_manual", N_("This message is not waiting for you."))
    return message, case


@routes.post("/api/outbox/{id}/done")
async def mark_sent_by_hand(request: web.Request) -> web.Response:
    """I sent this message myself: it leaves the outbox and its link is wiped from it."""
    worker = await require_worker(request)
    store = request.app[STORE]
    message, case = await _waiting_for(request, worker, "outbox_sent_by_hand")
    await store.outbox.set_status(message.id, "sent", wipe_payload=True)
    await store.audit.record(f"worker:{worker.id}", "outbox_sent_by_hand", "ok",
                             case_id=case.id if case else None, target=f"outbox:{message.id}")
    updated = await store.outbox.get(message.id)
    assert updated is not None
    return web.json_response({"message": updated.public()})


@routes.get("/api/outbox/{id}/invitation.ics")
async def outbox_calendar_file(request: web.Request) -> web.Response:
    """The calendar file of an invitation I must send by hand, to attach to my own message."""
    worker = await require_worker(request)
    store = request.app[STORE]
    message, case = await _waiting_for(request, worker, "read_outbox_calendar")
    calendar = (message.payload or {}).get("ics")
    if not calendar:
        raise ApiError(409, "no_calendar_file", N_("This message has no calendar file."))
    await store.audit.record(f"worker:{worker.id}", "read_outbox_calendar", "ok",
                             case_id=case.id if case else None, target=f"outbox:{message.id}")
    return web.Response(body=calendar.encode("utf-8"), content_type="text/calendar",
                        charset="utf-8", headers={
                            "Content-Disposition": 'attachment; filename="rendez-vous.ics"'})
