"""The beneficiary's side: ``/j/<token>`` and the appointment page ``/rdv/<id>``.

Opening a link exchanges the token for a cookie of this browser's own, bound to the appointment,
and redirects (303) to an address without the token, so it stays out of the history, of the
Referer and of every log. Each browser gets its own cookie; revoking the link cuts them all off.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from server.base import clock, i18n
from server.domain.consent import consent_hash, consent_lines
from server.domain.models import Appointment, Invitation
from server.edge.http import (
    CONFIG,
    GUEST_COOKIE,
    SCHEDULING,
    STORE,
    request_language,
    set_cookie,
    uses_media,
)

routes = web.RouteTableDef()

# A browser keeps its cookie this long after the link expires, so that reloading the page then
# still shows "this link has expired" with the worker's number (the cookie is a random value whose
# hash names the browser: it holds nothing personal, and opens nothing once the link is over).
COOKIE_OUTLIVES_LINK = dt.timedelta(weeks=4)


def _cookie_name(appointment: Appointment) -> str:
    return f"{GUEST_COOKIE}-{appointment.public_id}"


def _language(request: web.Request, case_language: str) -> str:
    if request.query.get("lang") in i18n.LANGUAGES:
        return request.query["lang"]
    return case_language


async def _ended_page(request: web.Request, state: str, invitation: Invitation | None,
                      ) -> web.Response:
    """The plain-language page of a link that does not (or no longer) work."""
    store, config = request.app[STORE], request.app[CONFIG]
    appointment = phone = None
    lang = request_language(request)
    replaced = False
    if invitation is not None:
        appointment = await store.appointments.get(invitation.appointment_id)
        if appointment is not None:
            case = await store.cases.get(appointment.case_id)
            lang = _language(request, case.language if case else lang)
            phone = appointment.incident_phone
            current = await store.invitations.current(appointment.id)
            replaced = (state == "revoked" and appointment.status == "planned"
                        and current is not None and current.id != invitation.id
                        and current.state(clock.now()) == "valid")
            if appointment.status == "cancelled":
                state = "cancelled"
    html = i18n.render(lang, "join/ended.html", state=state, phone=phone, replaced=replaced,
                       service_name=config.service_name, worker=None, csrf=None,
                       lang_links=True)
    status = 404 if state == "unknown" else 403 if state == "full" else 410
    return web.Response(text=html, status=status, content_type="text/html")


async def _case_id(request: web.Request, invitation: Invitation) -> int | None:
    appointment = await request.app[STORE].appointments.get(invitation.appointment_id)
    return appointment.case_id if appointment else None


@routes.get("/j/{token}")
async def open_link(request: web.Request) -> web.StreamResponse:
    """Exchange the invitation token for this browser's cookie, then leave the token behind."""
    scheduling, store = request.app[SCHEDULING], request.app[STORE]
    state, invitation = await scheduling.open_link(request.match_info["token"])
    if state != "valid" or invitation is None:
        return await _ended_page(request, state, invitation)
    appointment = await store.appointments.get(invitation.appointment_id)
    assert appointment is not None
    response = web.HTTPSeeOther(f"/rdv/{appointment.public_id}")
    existing = request.cookies.get(_cookie_name(appointment))
    if existing:
        known_state, _, known = await scheduling.guest(existing)
        if known_state == "valid" and known is not None and known.id == invitation.id:
            raise response
    admitted = await scheduling.admit_browser(invitation, request.headers.get("User-Agent", ""))
    if admitted is None:
        await store.audit.record("anonymous", "open_link", "refused:too_many_browsers",
                                 case_id=await _case_id(request, invitation))
        return await _ended_page(request, "full", invitation)
    cookie, _ = admitted
    lifetime = invitation.expires_at + COOKIE_OUTLIVES_LINK - clock.now()
    set_cookie(response, _cookie_name(appointment), cookie,
               max_age=max(int(lifetime.total_seconds()), 60))
    raise response


@routes.get("/rdv/{public_id}")
@uses_media
async def appointment_page(request: web.Request) -> web.Response:
    """The appointment in plain words, the device check and when the waiting room opens."""
    store, config = request.app[STORE], request.app[CONFIG]
    appointment = await store.appointments.by_public_id(request.match_info["public_id"])
    cookie = request.cookies.get(_cookie_name(appointment)) if appointment else None
    if appointment is None or not cookie:
        return await _ended_page(request, "unknown", None)
    state, _, invitation = await request.app[SCHEDULING].guest(cookie)
    if state != "valid" or invitation is None or invitation.appointment_id != appointment.id:
        return await _ended_page(request, state if invitation else "unknown", invitation)
    case = await store.cases.get(appointment.case_id)
    worker = await store.workers.get(appointment.worker_id)
    assert case is not None and worker is not None
    lang = _language(request, case.language)
    fmt = i18n.Formatter(lang, config.timezone)
    now = clock.now()
    # A person's appointment in a group session: the group's name, how many take part (never who)
    # and its rule, for the consent step and the call's grid.
    group = await store.groups.get(appointment.group_id) if appointment.group_id else None
    people = len(await store.groups.members(group.id)) + 1 if group else 0
    html = i18n.render(
        lang, "join/appointment.html", appointment=appointment, host=worker,
        service_name=config.service_name, date=fmt.date(appointment.starts_at),
        start=fmt.time(appointment.starts_at), end=fmt.time(appointment.ends_at),
        test_time=fmt.time(appointment.test_opens_at),
        test_open=now >= appointment.test_opens_at, started=now >= appointment.starts_at,
        consent_lines=consent_lines(lang), consent_hash=consent_hash(lang),
        group=group, people=people, upstream_kbps=config.upstream_kbps,
        worker=None, csrf=None, lang_links=True)
    return web.Response(text=html, content_type="text/html")
