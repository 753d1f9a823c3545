"""The worker's console: server-rendered pages whose forms call the JSON API (``web/static``).

Pages only read; every change goes through ``/api/`` from ``console.js``, the same API that
integrators use.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from aiohttp import web

from server.base import clock, i18n
from server.base.settings import Config
from server.domain.models import N_, BrowserGroup, Worker
from server.edge.access import appointment_for, case_for, int_id, visible_cases
from server.edge.http import CONFIG, LANG_COOKIE, STORE, ApiError, request_language, session_worker
from server.services import webhooks
from server.services.scheduling import FURTHEST_AHEAD

routes = web.RouteTableDef()


def _page(request: web.Request, template: str, worker: Worker | None, **context: Any,
          ) -> web.Response:
    lang = _console_language(request, worker)
    config = request.app[CONFIG]
    fmt = i18n.Formatter(lang, config.timezone)
    html = i18n.render(lang, template, worker=worker, fmt=fmt, config=config,
                       ca_available=bool(config.ca_file) and Path(config.ca_file).exists(),
                       lang_links=True, path=request.path, **context)
    response = web.Response(text=html, content_type="text/html")
    if request.query.get("lang") in i18n.LANGUAGES:
        response.set_cookie(LANG_COOKIE, request.query["lang"], secure=True, httponly=True,
                            samesite="Strict", path="/", max_age=365 * 86400)
    elif worker is not None and worker.language and request.cookies.get(LANG_COOKIE) != lang:
        # The API's messages in this browser follow the language chosen on "My account".
        response.set_cookie(LANG_COOKIE, lang, secure=True, httponly=True, samesite="Strict",
                            path="/", max_age=365 * 86400)
    return response


def _console_language(request: web.Request, worker: Worker | None) -> str:
    """?lang= for this page, else the language the worker chose on "My account", else the
    browser's (cookie, Accept-Language)."""
    if request.query.get("lang") not in i18n.LANGUAGES and worker and worker.language:
        return worker.language
    return request_language(request)


async def _console_worker(request: web.Request) -> Worker:
    """The logged-in worker, or a redirect to the login page (or to the password change)."""
    worker = await session_worker(request)
    if worker is None:
        raise web.HTTPSeeOther("/login")
    if worker.must_change_password and request.path != "/password":
        raise web.HTTPSeeOther("/password")
    return worker


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    await _console_worker(request)
    raise web.HTTPSeeOther("/cases")


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    return _page(request, "console/login.html", None)


@routes.get("/password")
async def password_page(request: web.Request) -> web.Response:
    worker = await _console_worker(request)
    return _page(request, "console/password.html", worker)


@routes.get("/account")
async def account_page(request: web.Request) -> web.Response:
    """My account: name, phone, console language and password."""
    worker = await _console_worker(request)
    return _page(request, "console/account.html", worker, saved=request.query.get("saved"))


@routes.get("/cases")
async def cases_page(request: web.Request) -> web.Response:
    worker = await _console_worker(request)
    cases = await visible_cases(request, worker)
    store = request.app[STORE]
    workers = {w.id: w for w in await store.workers.all()} if worker.is_admin else {}
    return _page(request, "console/cases.html", worker, cases=cases, workers=workers)


@routes.get("/cases/{id}")
async def case_page(request: web.Request) -> web.Response:
    worker = await _console_worker(request)
    case = await case_for(request, worker, int_id(request), "read_case")
    store = request.app[STORE]
    workers = await store.workers.all() if worker.is_admin else []
    return _page(request, "console/case.html", worker, case=case,
                 record=await store.entries.for_case(case.id),
                 appointments=await store.appointments.for_case(case.id), workers=workers,
                 hold=await store.personal_data.hold(case.id))


@routes.get("/cases/{id}/appointments/new")
async def new_appointment_page(request: web.Request) -> web.Response:
    worker = await _console_worker(request)
    case = await case_for(request, worker, int_id(request), "read_case")
    config = request.app[CONFIG]
    tomorrow = clock.to_local(clock.now(), config.timezone).date() + dt.timedelta(days=1)
    return _page(request, "console/appointment_form.html", worker, case=case, appointment=None,
                 default_date=tomorrow.isoformat(), clock_changes=_clock_changes(config))


def _clock_changes(config: Config) -> list[dict[str, str]]:
    """The clock changes an appointment may fall on (for the form's choice of a repeated time)."""
    today = clock.to_local(clock.now(), config.timezone).date()
    return [change.public() for change in clock.clock_changes(
        config.timezone, today - dt.timedelta(days=1), today + FURTHEST_AHEAD)]


@routes.get("/appointments/{id}")
async def appointment_page(request: web.Request) -> web.Response:
    worker = await _console_worker(request)
    case, appointment = await appointment_for(request, worker, int_id(request),
                                              "read_appointment")
    store, config = request.app[STORE], request.app[CONFIG]
    invitation = await store.invitations.current(appointment.id)
    browsers = [b for b in await store.invitations.browsers(appointment.id)
                if invitation is not None and b.invitation_id == invitation.id]
    local = clock.to_local(appointment.starts_at, config.timezone)
    tests = await store.interviews.tests(appointment.id)
    for test in tests:
        test["at_dt"] = dt.datetime.fromisoformat(test["at"])
    return _page(request, "console/appointment.html", worker, case=case,
                 appointment=appointment, invitation=invitation,
                 state=invitation.state(clock.now()) if invitation else None,
                 browsers=BrowserGroup.fold(browsers), browser_count=len(browsers),
                 browsers_max=config.link_browsers_max,
                 messages=await store.outbox.listing(None, appointment.id),
                 tests=tests, local_date=local.strftime("%Y-%m-%d"),
                 local_time=local.strftime("%H:%M"),
                 local_occurrence="second" if local.fold else "first",
                 clock_changes=_clock_changes(config))


@routes.get("/outbox")
async def outbox_page(request: web.Request) -> web.Response:
    worker = await _console_worker(request)
    store = request.app[STORE]
    messages = await store.outbox.listing(None if worker.is_admin else worker.id)
    await store.audit.record(f"worker:{worker.id}", "read_outbox", "ok",
                             target=f"{len(messages)} messages")
    return _page(request, "console/outbox.html", worker, messages=messages)


@routes.get("/admin/workers")
async def workers_page(request: web.Request) -> web.Response:
    worker = await _console_worker(request)
    if not worker.is_admin:
        raise ApiError(403, "admin_only", N_("Only an administrator can do this."))
    store = request.app[STORE]
    workers = await store.workers.all()
    await store.audit.record(f"worker:{worker.id}", "list_workers", "ok",
                             target=f"{len(workers)} accounts")
    return _page(request, "console/workers.html", worker, workers=workers)


@routes.get("/admin/webhooks")
async def webhooks_page(request: web.Request) -> web.Response:
    """Webhook endpoints: their state and queue, add, pause, resume, remove (admin only)."""
    worker = await _console_worker(request)
    if not worker.is_admin:
        raise ApiError(403, "admin_only", N_("Only an administrator can do this."))
    endpoints = await webhooks.states(request.app[STORE], f"worker:{worker.id}")
    for e in endpoints:  # moments to format in the reader's words
        for key in ("last_success", "last_error"):
            e[f"{key}_dt"] = dt.datetime.fromisoformat(e[f"{key}_at"]) if e[f"{key}_at"] \
                else None
    return _page(request, "console/webhooks.html", worker, endpoints=endpoints)


@routes.get("/ca.pem")
async def ca_certificate(request: web.Request) -> web.StreamResponse:
    """The development CA certificate, so a worker's browser can trust this server."""
    path = request.app[CONFIG].ca_file
    try:
        body = await asyncio.to_thread(Path(path).read_bytes) if path else None
    except FileNotFoundError:
        body = None
    if body is None:
        raise web.HTTPNotFound()
    return web.Response(body=body, content_type="application/x-x509-ca-cert",
                        headers={"Content-Disposition": 'attachment; filename="proxima-ca.pem"'})
