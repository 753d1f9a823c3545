"""The outbox: messages waiting, sent, failed or left for the worker to send (``/api/outbox``)."""

from __future__ import annotations

from aiohttp import web

from ..access import int_id
from ..edge import STORE, ApiError, require_worker
from ..models import N_

routes = web.RouteTableDef()


@routes.get("/api/outbox")
async def list_outbox(request: web.Request) -> web.Response:
    """My messages (every message for an administrator), newest first."""
    worker = await require_worker(request)
    messages = await request.app[STORE].outbox.listing(None if worker.is_admin else worker.id)
    return web.json_response({"messages": [m.public() for m in messages]})


@routes.post("/api/outbox/{id}/done")
async def mark_sent_by_hand(request: web.Request) -> web.Response:
    """I sent this message myself: it leaves the outbox and its link is wiped from it."""
    worker = await require_worker(request)
    store = request.app[STORE]
    message = await store.outbox.get(int_id(request))
    if message is None or (message.worker_id != worker.id and not worker.is_admin):
        raise ApiError(404, "message_not_found", N_("This message does not exist."))
    if message.status not in ("manual", "failed"):
        raise ApiError(409, "not_manual", N_("This message is not waiting for you."))
    await store.outbox.set_status(message.id, "sent", wipe_payload=True)
    await store.audit.record(f"worker:{worker.id}", "outbox_sent_by_hand", "ok",
                             target=f"outbox:{message.id}")
    updated = await store.outbox.get(message.id)
    assert updated is not None
    return web.json_response({"message": updated.public()})
