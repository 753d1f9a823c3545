"""Logging in and out, and changing one's password: ``/api/session`` and ``/api/password``."""

from __future__ import annotations

from aiohttp import web

from server.base import passwords
from server.domain.models import N_
from server.edge.http import (
    LIVE_ACCESS,
    STORE,
    THROTTLE,
    ApiError,
    client_ip,
    end_session,
    json_body,
    require_worker,
    session_worker,
    start_session,
)
from server.services.login import Throttled, WrongCredentials, log_in

routes = web.RouteTableDef()


@routes.post("/api/session")
async def login(request: web.Request) -> web.Response:
    """Log in with email and password; throttled per account and per address."""
    data = await json_body(request)
    try:
        worker = await log_in(request.app[STORE], request.app[THROTTLE],
                              str(data.get("email", "")), str(data.get("password", "")),
                              client_ip(request))
    except Throttled as exc:
        raise ApiError(429, "too_many_attempts", N_(
            "Too many attempts. Please wait {retry_after} seconds and try again."),
            retry_after=exc.retry_after) from None
    except WrongCredentials:
        raise ApiError(401, "wrong_credentials", N_(
            "The email or the password is not right.")) from None
    response = web.json_response({"worker": worker.public()})
    await start_session(request, response, worker)
    return response


@routes.get("/api/session")
async def whoami(request: web.Request) -> web.Response:
    """The logged-in worker."""
    worker = await require_worker(request, allow_password_change=True)
    return web.json_response({"worker": worker.public()})


@routes.delete("/api/session")
async def logout(request: web.Request) -> web.Response:
    """Log out: the session ends on the server too."""
    worker = await session_worker(request)
    response = web.json_response({"ok": True})
    await end_session(request, response)
    if worker is not None:
        await request.app[STORE].audit.record(f"worker:{worker.id}", "logout", "ok")
        await request.app[LIVE_ACCESS].recheck()  # a live page of this session closes too
    return response


@routes.post("/api/password")
async def change_password(request: web.Request) -> web.Response:
    """Change one's own password (required after a one-time password)."""
    worker = await require_worker(request, allow_password_change=True)
    data = await json_body(request)
    store = request.app[STORE]
    found = await store.workers.by_email(worker.email)
    assert found is not None
    if not passwords.verify_password(found[1], str(data.get("current_password", ""))):
        raise ApiError(400, "wrong_password", N_("The current password is not right."))
    new = str(data.get("new_password", ""))
    if passwords.weakness(new):
        raise ApiError(400, "weak_password", N_(
            "The new password needs at least 12 characters."), field="new_password")
    if new == str(data.get("current_password", "")):
        raise ApiError(400, "same_password", N_(
            "The new password must be different."), field="new_password")
    await store.workers.update(worker.id, password_hash=passwords.hash_password(new),
                               must_change_password=False)
    await store.sessions.delete_for_worker(worker.id)
    response = web.json_response({"ok": True})
    await start_session(request, response, worker)
    await store.audit.record(f"worker:{worker.id}", "password_change", "ok")
    await request.app[LIVE_ACCESS].recheck()  # the other sessions' live pages close too
    return response
