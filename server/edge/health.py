"""Probes for supervisors: ``/healthz`` (the process answers) and ``/readyz`` (storage usable)."""

from __future__ import annotations

from aiohttp import web

from server.edge.http import STORE
from server.storage import startup as storage

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is alive."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """The secret key opens the database's data, and the database accepts writes."""
    store = request.app[STORE]
    problem = await storage.key_problem(store)
    if problem is not None:
        return web.json_response({"status": problem}, status=503)
    if await store.db.writable():
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "database not writable"}, status=503)
