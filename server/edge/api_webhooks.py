"""Webhook endpoints, for administrators (``/api/webhooks``; docs/webhooks.md): add one (its
secret in the answer, once), pause or resume it, remove it, watch its queue, replay a range."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from server.domain.models import N_, Invalid
from server.domain.webhooks import Endpoint
from server.edge.access import int_id
from server.edge.http import CONFIG, STORE, ApiError, json_body, require_admin
from server.jobs.webhooks import Dispatcher
from server.services import webhooks

DISPATCHER = web.AppKey("webhook_dispatcher", Dispatcher)

routes = web.RouteTableDef()


async def _endpoint(request: web.Request) -> Endpoint:
    endpoint = await request.app[STORE].webhooks.endpoint(int_id(request))
    if endpoint is None:
        raise ApiError(404, "webhook_not_found", N_("This endpoint does not exist."))
    return endpoint


def _wake(request: web.Request) -> None:
    if DISPATCHER in request.app:
        request.app[DISPATCHER].wake()


@routes.get("/api/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    """Every endpoint with the state of its queue."""
    admin = await require_admin(request)
    states = await webhooks.states(request.app[STORE], f"worker:{admin.id}")
    return web.json_response({"endpoints": states})


@routes.post("/api/webhooks")
async def add_webhook(request: web.Request) -> web.Response:
    """Add an endpoint; its signing secret is in the answer, once."""
    admin = await require_admin(request)
    data = await json_body(request)
    unknown = set(data) - {"name", "url"}
    if unknown:
        raise Invalid(sorted(unknown)[0], N_("Unknown field."))
    endpoint, secret = await webhooks.add(request.app[STORE], f"worker:{admin.id}",
                                          data.get("name"), data.get("url"))
    return web.json_response({"endpoint": endpoint.public(), "secret": secret}, status=201)


@routes.patch("/api/webhooks/{id}")
async def update_webhook(request: web.Request) -> web.Response:
    """Pause or resume an endpoint."""
    admin = await require_admin(request)
    endpoint = await _endpoint(request)
    data = await json_body(request)
    unknown = set(data) - {"paused"}
    if unknown:
        raise Invalid(sorted(unknown)[0], N_("Unknown field."))
    if "paused" in data:
        if not isinstance(data["paused"], bool):
            raise Invalid("paused", N_("Some fields are missing or wrong."))
        await webhooks.set_paused(request.app[STORE], f"worker:{admin.id}", endpoint,
                                  data["paused"])
        _wake(request)
    updated = await request.app[STORE].webhooks.endpoint(endpoint.id)
    assert updated is not None
    return web.json_response({"endpoint": updated.public()})


@routes.delete("/api/webhooks/{id}")
async def remove_webhook(request: web.Request) -> web.Response:
    """Remove an endpoint added in the console, and its queue."""
    admin = await require_admin(request)
    endpoint = await _endpoint(request)
    await webhooks.remove(request.app[STORE], f"worker:{admin.id}", endpoint)
    return web.json_response({"ok": True})


@routes.post("/api/webhooks/{id}/replay")
async def replay_webhook(request: web.Request) -> web.Response:
    """Send again the entries written from ``since`` to ``until`` (local time), same ids."""
    admin = await require_admin(request)
    endpoint = await _endpoint(request)
    data = await json_body(request)
    zone = request.app[CONFIG].timezone
    bounds: dict[str, dt.datetime] = {}
    for name in ("since", "until"):
        value = data.get(name)
        if not isinstance(value, str):
            raise Invalid(name, N_("Please give a date as YYYY-MM-DD, with a time as HH:MM if "
                                   "you wish."))
        bounds[name] = webhooks.parse_moment(name, value, zone, end_of_day=name == "until")
    count = await webhooks.replay(request.app[STORE], f"worker:{admin.id}", bounds["since"],
                                  bounds["until"], endpoint)
    _wake(request)
    return web.json_response({"queued": count})
