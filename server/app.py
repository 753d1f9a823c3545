"""The application factory: ``create_app(config)`` wires the edge, the domain and the storage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from server.base.settings import WEB_DIR, Config
from server.edge import (
    api_account,
    api_admin,
    api_auth,
    api_cases,
    api_groups,
    api_interviews,
    api_outbox,
    api_rights,
    api_webhooks,
    case_exports,
    console,
    group_end,
    groups_pages,
    health,
    join,
    live,
    signalling,
)
from server.edge.http import (
    BUS,
    CASES,
    CLOCK,
    CONFIG,
    GROUPS,
    INTERVIEWS,
    LIVE_ACCESS,
    POSTMAN,
    SCHEDULING,
    SIGNALLING_LIMITS,
    STORE,
    TESTS,
    THROTTLE,
    WEBSOCKETS,
    edge_middleware,
)
from server.jobs.access import recheck_access
from server.jobs.audit_head import log_heads
from server.jobs.outbox import Postman
from server.jobs.retention import retain_daily
from server.jobs.sessions import end_sessions
from server.jobs.webhooks import Dispatcher
from server.live.bus import LiveBus
from server.live.limits import Clock, LoginThrottle, SignallingLimits
from server.live.timers import RoomClock, SystemRoomClock
from server.media import audio_level
from server.media.echo_peer import EchoPeers
from server.services import webhooks
from server.services.cases import Cases
from server.services.connection_tests import ConnectionTests
from server.services.groups import Groups
from server.services.interview import InterviewService
from server.services.live_access import LiveAccess
from server.services.scheduling import Scheduling
from server.storage import startup as storage

log = logging.getLogger("proxima")

ROOM_CLOCK: web.AppKey[RoomClock] = web.AppKey("room_clock")  # the rooms' wall time and timers


def create_app(config: Config, run_jobs: bool = True, *, clock: Clock = time.monotonic,
               limits: SignallingLimits | None = None,
               room_clock: RoomClock | None = None) -> web.Application:
    """A ready-to-serve Proxima; ``run_jobs=False`` leaves the outbox job to the caller.

    ``clock`` (monotonic seconds) times the login throttle and the signalling limits, which are
    ``limits`` (the defaults if None): tests pass a clock they move, or short limits, instead of
    sleeping or patching. ``room_clock`` (wall time and timers: a group's breaks and reminders)
    is the system's if None; tests pass a ``ManualRoomClock``.
    """
    audio_level.install()  # the echo peer's audio level, computed by numpy (see the module)
    app = web.Application(middlewares=[edge_middleware], client_max_size=256 * 1024)
    app[CONFIG] = config
    app[CLOCK] = clock
    app[ROOM_CLOCK] = room_clock or SystemRoomClock()
    app[SIGNALLING_LIMITS] = limits or SignallingLimits()
    app[THROTTLE] = LoginThrottle(config.login_free_attempts, config.login_delay_seconds,
                                  clock=clock,
                                  address_free_attempts=config.login_address_free_attempts)
    for module in (health, api_auth, api_account, api_cases, api_groups, api_admin, api_outbox,
                   api_interviews, api_rights, api_webhooks, case_exports, console, group_end,
                   groups_pages, join, live, signalling):
        app.router.add_routes(module.routes)
    app.router.add_static("/static/", WEB_DIR / "static", name="static")
    app.router.add_get("/favicon.ico", _favicon)  # browsers ask for it at the root
    app[WEBSOCKETS] = set()
    app.on_shutdown.append(_close_websockets)
    app.cleanup_ctx.append(_storage)
    if run_jobs:
        app.cleanup_ctx.append(_jobs)
    return app


async def _favicon(request: web.Request) -> web.FileResponse:
    """Proxima's own icon (two people side by side), drawn for it: nothing from elsewhere."""
    return web.FileResponse(WEB_DIR / "static" / "favicon.ico",
                            headers={"Content-Type": "image/x-icon",
                                     "Cache-Control": "public, max-age=86400"})


async def _storage(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    store = storage.open_store(config)  # refuses a missing or wrong key, a read-only or full disk
    app[STORE] = store
    app[POSTMAN] = Postman(store, config)
    await webhooks.sync_settings(store, config)  # the endpoints of PROXIMA_WEBHOOKS
    app[api_webhooks.DISPATCHER] = Dispatcher(store, config)
    app[BUS] = LiveBus()
    app[LIVE_ACCESS] = LiveAccess(store, app[BUS], config)
    app[CASES] = Cases(store, app[LIVE_ACCESS])
    app[SCHEDULING] = Scheduling(store, config, app[POSTMAN].wake,
                                 app[LIVE_ACCESS].recheck_appointments)
    app[GROUPS] = Groups(store, app[SCHEDULING])
    app[INTERVIEWS] = InterviewService(store, app[BUS], config, app[LIVE_ACCESS],
                                       scheduling=app[SCHEDULING], clock=app[ROOM_CLOCK])
    peers = EchoPeers(config)
    app[TESTS] = ConnectionTests(store, app[BUS], peers, config)
    yield
    await peers.close_all()
    store.db.close()


async def _close_websockets(app: web.Application) -> None:
    """Tell every signalling client we are going away; they reconnect by themselves."""
    sockets = app[WEBSOCKETS]  # a copy is walked: each socket leaves the set as it closes
    for ws in list(sockets):
        await ws.close(code=1001, message=b"server shutdown")


async def _jobs(app: web.Application) -> AsyncIterator[None]:
    """The background jobs (server/jobs/), stopped with the app."""
    tasks = [asyncio.create_task(app[POSTMAN].run(), name="outbox"),
             asyncio.create_task(app[api_webhooks.DISPATCHER].run(), name="webhooks"),
             asyncio.create_task(end_sessions(app[INTERVIEWS]), name="sessions"),
             asyncio.create_task(recheck_access(app[LIVE_ACCESS]), name="access"),
             asyncio.create_task(log_heads(app[STORE], app[CONFIG].audit_head_minutes),
                                 name="audit-head"),
             asyncio.create_task(retain_daily(app[STORE], app[CONFIG]), name="retention")]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
