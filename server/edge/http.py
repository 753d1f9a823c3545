"""The HTTP edge: application keys, security headers, Origin checks, errors, authentication.

Everything a request meets before the domain: the headers every response carries, the refusal of
cross-site state changes, the mapping of exceptions to a stable error code with a plain message,
and the worker's session cookie.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from server.base import clock, crypto, i18n, json_input
from server.base.settings import Config
from server.domain.models import N_, Invalid, Worker
from server.jobs.outbox import Postman
from server.live.bus import LiveBus
from server.live.limits import Clock, LoginThrottle, SignallingLimits
from server.services.cases import Cases
from server.services.connection_tests import ConnectionTests
from server.services.groups import Groups
from server.services.interview import InterviewService
from server.services.live_access import LiveAccess
from server.services.scheduling import Scheduling
from server.storage.audit import audit_recorded, start_audit_scope
from server.storage.db import StorageUnavailable
from server.storage.repositories import Store

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
SCHEDULING = web.AppKey("scheduling", Scheduling)
POSTMAN = web.AppKey("postman", Postman)
THROTTLE = web.AppKey("throttle", LoginThrottle)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")  # monotonic seconds; tests move theirs
SIGNALLING_LIMITS = web.AppKey("signalling_limits", SignallingLimits)
BUS = web.AppKey("bus", LiveBus)
INTERVIEWS = web.AppKey("interviews", InterviewService)
LIVE_ACCESS = web.AppKey("live_access", LiveAccess)
CASES = web.AppKey("cases", Cases)
GROUPS = web.AppKey("groups", Groups)
TESTS = web.AppKey("tests", ConnectionTests)
# Open signalling sockets, closed on shutdown.
WEBSOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("websockets")
# The Worker behind the session cookie, or None; looked up once a request.
WORKER: web.RequestKey[Worker | None] = web.RequestKey("worker")
# An error response's stable code, for the refusal's audit entry.
ERROR_CODE = web.ResponseKey("error_code", str)

SESSION_COOKIE = "__Host-proxima-session"
GUEST_COOKIE = "__Host-proxima-guest"
LANG_COOKIE = "proxima-lang"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_JSON = 64 * 1024

CSP = ("default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
NO_MEDIA = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), display-capture=()"
WITH_MEDIA = ("camera=(self), microphone=(self), geolocation=(), payment=(), usb=(), "
              "display-capture=()")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger("proxima.http")


class ApiError(Exception):
    """An error with a stable code, an HTTP status and a plain message."""

    def __init__(self, status: int, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def uses_media(handler: Handler) -> Handler:
    """Mark a page that may open the camera and microphone (Permissions-Policy)."""
    handler.uses_media = True  # type: ignore[attr-defined]  # a mark edge_middleware reads back
    return handler


def _secure_headers(request: web.Request, response: web.StreamResponse, media: bool) -> None:
    h = response.headers
    h["Content-Security-Policy"] = CSP
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h["X-Frame-Options"] = "DENY"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Permissions-Policy"] = WITH_MEDIA if media else NO_MEDIA
    if request.secure and request.app[CONFIG].hsts:
        h["Strict-Transport-Security"] = "max-age=31536000"
    if "Cache-Control" not in h and not request.path.startswith("/static/"):
        h["Cache-Control"] = "no-store"


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", "")


def error_response(request: web.Request, status: int, code: str, message: str,
                   **extra: object) -> web.Response:
    """The one place where errors become responses: JSON for the API, a page for people."""
    if _wants_json(request):
        response = web.json_response({"error": code, "message": message, **extra},
                                     status=status)
    else:
        lang = request_language(request)
        html = i18n.render(lang, "error.html", status=status, code=code, message=message,
                           worker=None, csrf=None)
        response = web.Response(text=html, status=status, content_type="text/html")
    response[ERROR_CODE] = code
    return response


_HTTP_CODES = {400: "bad_request", 401: "login_required", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 429: "too_many_requests"}


def _http_message(request: web.Request, status: int) -> str:
    tr = i18n.translations(request_language(request))
    messages = {
        404: tr.gettext("This page does not exist."),
        405: tr.gettext("This action is not allowed this way."),
        413: tr.gettext(N_("What was sent is too large.")),
    }
    return messages.get(status, tr.gettext("The request could not be handled."))


# Refusals of access: each leaves a trace in the audit log (unless the code refusing already
# wrote a more precise one). 400s (a form to correct) and unknown addresses are not refusals.
_REFUSALS = {401: "denied", 403: "denied", 404: "not_found", 410: "gone", 429: "throttled"}


async def audit_refusal(request: web.Request, status: int, code: str) -> None:
    """Write one audit entry for a refused request: who, which route, which outcome."""
    route = request.match_info.route
    if status not in _REFUSALS or route.resource is None or request.path.startswith("/static/"):
        return
    if STORE not in request.app or audit_recorded():
        return
    worker = await session_worker(request) if SESSION_COOKIE in request.cookies else None
    actor = f"worker:{worker.id}" if worker is not None else "anonymous"
    action = getattr(route.handler, "__name__", "request")
    ids = ",".join(f"{k}={v[:40]}" for k, v in request.match_info.items() if k != "token")
    target = f"{request.method} {route.resource.canonical}" + (f" {ids}" if ids else "")
    await request.app[STORE].audit.record(actor, action, f"{_REFUSALS[status]}:{code}",
                                          target=target[:200])


@web.middleware
async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Origin check, error mapping, refusals audited and security headers, for every route."""
    media = getattr(handler, "uses_media", False)
    start_audit_scope()
    try:
        if request.method in STATE_CHANGING:
            check_origin(request)
        response = await handler(request)
    except ApiError as exc:
        tr = i18n.translations(request_language(request))
        response = error_response(request, exc.status, exc.code,
                                  _fill(tr.gettext(exc.message), exc.extra), **exc.extra)
        if "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
    except Invalid as exc:
        tr = i18n.translations(request_language(request))
        response = error_response(request, 400, "invalid",
                                  _fill(tr.gettext(exc.message), exc.params), field=exc.field)
    except web.HTTPException as exc:
        if exc.status < 400:
            _secure_headers(request, exc, media)
            raise
        response = error_response(request, exc.status, _HTTP_CODES.get(exc.status, "error"),
                                  _http_message(request, exc.status))
        for name in ("Allow", "Retry-After"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
    except StorageUnavailable as exc:  # a full or read-only disk: the machine's fault, for now
        log.warning("%s %s: %s", request.method, redact(request.path), exc)
        tr = i18n.translations(request_language(request))
        response = error_response(request, 503, "storage_unavailable", tr.gettext(
            "The server cannot save anything right now. Please try again in a few minutes; "
            "if it lasts, tell your administrator."))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, redact(request.path))
        tr = i18n.translations(request_language(request))
        response = error_response(request, 500, "internal", tr.gettext(
            "Something went wrong on our side. Please try again."))
    if response.status in _REFUSALS:
        try:
            await audit_refusal(request, response.status, _error_code(response))
        except Exception:  # a failing audit must not hide the answer
            log.exception("could not audit a refusal on %s", redact(request.path))
    _secure_headers(request, response, media)
    return response


def _error_code(response: web.StreamResponse) -> str:
    return response[ERROR_CODE] if ERROR_CODE in response else str(response.status)


def _fill(message: str, params: Mapping[str, object]) -> str:
    try:
        return message.format(**params)
    except (KeyError, IndexError, ValueError):
        return message


def allowed_origins(request: web.Request) -> set[str]:
    public = urlsplit(request.app[CONFIG].effective_public_url)
    return {f"{public.scheme}://{public.netloc}", f"{request.scheme}://{request.host}"}


def check_origin(request: web.Request) -> None:
    """Refuse a state change coming from another site (Origin, else Sec-Fetch-Site)."""
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin not in allowed_origins(request):
            raise ApiError(403, "foreign_origin", N_("Requests from another site are refused."))
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise ApiError(403, "foreign_origin", N_("Requests from another site are refused."))


_JSON_PROBLEMS = {
    "bad_text": N_("The request holds characters that are not valid text."),
    "not_finite": N_("Numbers must be finite."),
    "too_deep": N_("The request is nested too deeply."),
}


async def json_body(request: web.Request) -> dict[str, object]:
    """The request's JSON object, or a clear 400/413."""
    if request.content_length is not None and request.content_length > MAX_JSON:
        raise ApiError(413, "too_large", N_("What was sent is too large."))
    raw = await request.content.read(MAX_JSON + 1)
    if len(raw) > MAX_JSON:
        raise ApiError(413, "too_large", N_("What was sent is too large."))
    try:
        data = json_input.loads(raw or b"{}")
    except json_input.JsonInputError as exc:
        raise ApiError(400, "malformed_json", _JSON_PROBLEMS.get(
            exc.code, N_("The request is not valid JSON."))) from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", N_("The request must be a JSON object."))
    return data


def request_language(request: web.Request) -> str:
    return i18n.pick(request.query.get("lang") or request.cookies.get(LANG_COOKIE),
                     request.headers.get("Accept-Language"))


def client_ip(request: web.Request) -> str:
    """The client's address: the peer's, or, behind a trusted proxy, the one it names.

    Only a peer listed in ``trusted_proxies`` is believed, and in a chain (``a, b, proxy``) the
    rightmost address that is not a trusted proxy is the client: what comes before it could have
    been written by the client itself."""
    remote = request.remote or "unknown"
    config = request.app[CONFIG]
    trusted = _networks(config.trusted_proxies)
    if not trusted or not _within(remote, trusted):
        return remote
    chain = [part.strip() for part in
             ",".join(request.headers.getall(config.client_address_header, [])).split(",")]
    for address in reversed([a for a in chain if a]):
        if not _within(address, trusted):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote  # a malformed header: believe nothing in it
    return remote


@functools.cache
def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in text.split(",")
                 if n.strip())


def _within(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
            ) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def set_cookie(response: web.StreamResponse, name: str, value: str,
               max_age: int | None = None) -> None:
    """A ``__Host-`` cookie: Secure, HttpOnly, SameSite=Strict, Path=/, no Domain."""
    response.set_cookie(name, value, secure=True, httponly=True, samesite="Strict", path="/",
                        max_age=max_age)


# -- the worker's session ---------------------------------------------------------------------

async def start_session(request: web.Request, response: web.StreamResponse,
                        worker: Worker) -> None:
    value = crypto.new_token()
    await request.app[STORE].sessions.create(crypto.token_hash(value), worker.id)
    set_cookie(response, SESSION_COOKIE, value,
               max_age=request.app[CONFIG].session_max_hours * 3600)


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        await request.app[STORE].sessions.delete(crypto.token_hash(value))
    response.del_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")


async def session_worker(request: web.Request) -> Worker | None:
    """The logged-in worker, or None (also when the session timed out or was disabled)."""
    if WORKER in request:
        return request[WORKER]
    worker = None
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        store, config = request.app[STORE], request.app[CONFIG]
        key = crypto.token_hash(value)
        session = await store.sessions.get(key)
        now = clock.now()
        if session is not None:
            idle = now - session["last_seen_at"] > dt.timedelta(minutes=config.session_idle_minutes)
            old = now - session["created_at"] > dt.timedelta(hours=config.session_max_hours)
            candidate = await store.workers.get(session["worker_id"])
            if idle or old or candidate is None or candidate.disabled:
                await store.sessions.delete(key)
            else:
                worker = candidate
                if now - session["last_seen_at"] > dt.timedelta(seconds=30):
                    try:
                        await store.sessions.touch(key)
                    except StorageUnavailable:  # a full disk: reading still works, untouched
                        log.warning("could not record the session's activity: storage full")
    request[WORKER] = worker
    return worker


async def require_worker(request: web.Request, allow_password_change: bool = False) -> Worker:
    worker = await session_worker(request)
    if worker is None:
        raise ApiError(401, "login_required", N_("Please log in."))
    if worker.must_change_password and not allow_password_change:
        raise ApiError(403, "password_change_required", N_("Please choose a new password first."))
    return worker


async def require_admin(request: web.Request) -> Worker:
    worker = await require_worker(request)
    if not worker.is_admin:
        raise ApiError(403, "admin_only", N_("Only an administrator can do this."))
    return worker


# -- logs never hold a token ------------------------------------------------------------------

def redact(path: str) -> str:
    """A path fit for a log: invitation tokens are replaced."""
    if path.startswith("/j/"):
        return "/j/<token>"
    return path


class AccessLogger(AbstractAccessLogger):
    """Access log without query strings or invitation tokens."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.0fms", request.method, redact(request.path),
                         response.status, time * 1000)
