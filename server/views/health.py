"""Probes for supervisors: ``/healthz`` (the process answers) and ``/readyz`` (storage writable)."""

from __future__ import annotations

from aiohttp import web

from ..edge import STORE

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is alive."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """The database accepts writes."""
    if await request.app[STORE].db.writable():
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "database not writable"}, status=503)
