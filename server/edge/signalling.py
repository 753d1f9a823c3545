"""The signalling WebSocket ``/ws/<appointment>``: the edge of the live interview.

Here, and only here: the Origin check, authentication (the worker's session or the person's
appointment cookie), the maximum message size (closed with 1009 beyond it), a per-connection rate
limit, the handshake deadline, ping/pong and the dead-client timeout. Everything else is
``InterviewService``'s business. The protocol is in docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from aiohttp import WSMsgType, web

from server.base import crypto, i18n
from server.domain import protocol as p
from server.domain.groups import GroupSession
from server.domain.ids import ParticipantId
from server.domain.models import N_, Appointment, Case, Worker
from server.domain.room import RoomRef
from server.edge.http import (
    CLOCK,
    GUEST_COOKIE,
    INTERVIEWS,
    LIVE_ACCESS,
    SCHEDULING,
    SESSION_COOKIE,
    SIGNALLING_LIMITS,
    STORE,
    TESTS,
    WEBSOCKETS,
    ApiError,
    allowed_origins,
    request_language,
    session_worker,
)
from server.live.bus import CloseReason, Connection, Credential
from server.live.limits import Clock, SignallingLimits
from server.services.participants import Participant

routes = web.RouteTableDef()
log = logging.getLogger("proxima.signalling")


# What a message refused by the parser means, by code, in words for the reader. ProtocolError's
# own text names fields and types for developers: it is logged, not sent.
PROTOCOL_MESSAGES = {
    "too_large": N_("This message is too large."),
    "malformed": N_("This message cannot be read."),
    "unknown_type": N_("This kind of message is not known."),
    "bad_field": N_("A field of this message is missing or wrong."),
    "bad_candidate": N_("This connection detail cannot be used."),
    "bad_chat": N_("A message has 1 to 1000 characters."),
    "bad_signal": N_("This connection message is not valid."),
    "insecure_sdp": N_("This connection is not encrypted as required."),
}


def refusal_message(exc: p.ProtocolError) -> str:
    """The catalog id to send for a refused message (the edge translates it)."""
    if isinstance(exc, p.Refused):
        return exc.message  # a catalog id already
    return PROTOCOL_MESSAGES.get(exc.code, N_("This message is not valid."))


class Service(Protocol):
    """What runs behind a socket: the interview (``InterviewService``) or the connection test."""

    async def join(self, part: Participant, connection: Connection, resume: bool) -> None: ...

    async def handle(self, part: Participant, msg: p.Message) -> None: ...

    async def leave(self, part: Participant, connection: Connection) -> None: ...


async def _participant(request: web.Request) -> Participant:
    """Who is connecting, or a 403/404 before any WebSocket exists."""
    if request.headers.get("Origin") not in allowed_origins(request):
        raise ApiError(403, "foreign_origin", N_("Requests from another site are refused."))
    store = request.app[STORE]
    public_id = request.match_info["public_id"]
    appointment = await store.appointments.by_public_id(public_id)
    if appointment is not None:  # a 1:1 interview, or a person's own way into their group
        group = await store.groups.get(appointment.group_id) if appointment.group_id else None
    else:  # a group's workers come by the group's own id
        group = await store.groups.by_public_id(public_id)
    if (appointment is None and group is None) or (appointment and appointment.status != "planned"):
        raise ApiError(404, "appointment_not_found", N_("This appointment does not exist."))
    room = RoomRef.of_group(group) if group else RoomRef.of_appointment(_given(appointment))
    host = await store.workers.get(room.host_id)
    case = await store.cases.get(appointment.case_id) if appointment else None
    assert host is not None
    worker = await session_worker(request)
    if worker is not None:
        found = await _as_worker(request, worker, room, host, appointment, case, group)
        if found is not None:
            return found
    cookie = request.cookies.get(f"{GUEST_COOKIE}-{public_id}") if appointment else None
    if cookie and appointment and case:
        _, guest, _ = await request.app[SCHEDULING].guest(cookie)
        credential = Credential(guest_browser_id=guest.id if guest else None)
        if guest is not None and await request.app[LIVE_ACCESS].allowed(room.public_id,
                                                                         credential):
            tester = request.query.get("purpose") == "test"  # the connection test's own socket
            return Participant(
                id=ParticipantId.tester(guest.id) if tester else ParticipantId.browser(guest.id),
                role="tester" if tester else "person", name=case.person_name, room_ref=room,
                appointment=appointment, case=case, host=host, guest=guest,
                lang=i18n.pick(request.query.get("lang"), case.language), credential=credential)
    if worker is not None:
        raise ApiError(403, "not_your_case", N_("This case is not assigned to you."))
    raise ApiError(403, "not_invited", N_("Open the link from your invitation."))


def _given(appointment: Appointment | None) -> Appointment:
    assert appointment is not None
    return appointment


async def _as_worker(request: web.Request, worker: Worker, room: RoomRef, host: Worker,
                     appointment: Appointment | None, case: Case | None,
                     group: GroupSession | None) -> Participant | None:
    """A logged-in worker with access to the room: its host (the appointment's worker, or the
    group's facilitator, whoever of the team opened it), or, in a group, a co-worker."""
    credential = Credential(worker_id=worker.id, session_hash=crypto.token_hash(
        request.cookies.get(SESSION_COOKIE, "")))
    if group is not None and appointment is not None:
        return None  # a person's own link in a group: the group's page is the workers' way in
    if not await request.app[LIVE_ACCESS].allowed(room.public_id, credential):
        return None
    await request.app[STORE].audit.record(f"worker:{worker.id}", "join_interview", "ok",
                                          case_id=case.id if case else None,
                                          target=f"group:{group.id}" if group else "")
    hosting = group is None or worker.id == group.facilitator_id or worker.is_admin
    return Participant(id=ParticipantId.worker(host.id if hosting else worker.id),
                       role="worker" if hosting else "coworker", name=worker.display_name,
                       room_ref=room, appointment=appointment, case=case, host=host,
                       guest=None, lang=request_language(request), credential=credential)


@routes.get("/ws/{public_id}")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Upgrade, then run one participant's signalling until it closes."""
    part = await _participant(request)
    limits = request.app[SIGNALLING_LIMITS]
    # aiohttp refuses a frame of max_msg_size bytes or more: allow exactly MAX_MESSAGE_BYTES.
    ws = web.WebSocketResponse(max_msg_size=p.MAX_MESSAGE_BYTES + 1,
                               heartbeat=limits.heartbeat_seconds, autoping=True)
    await ws.prepare(request)
    request.app[WEBSOCKETS].add(ws)
    try:
        service: Service = request.app[TESTS] if part.role == "tester" \
            else request.app[INTERVIEWS]
        hello = await _handshake(ws, part, limits)
        if hello is not None:
            await _run(ws, part, service, limits, request.app[CLOCK], resume=hello.resume)
        return ws
    finally:
        request.app[WEBSOCKETS].discard(ws)


async def _handshake(ws: web.WebSocketResponse, part: Participant, limits: SignallingLimits,
                     ) -> p.Hello | None:
    """A hello with our version within the deadline; otherwise the socket is closed."""
    tr = i18n.translations(part.lang)

    async def refuse(code: str, message: str, close: CloseReason) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(p.dump(p.Error(code=code, message=tr.gettext(message))))
        await ws.close(code=close[0], message=close[1])

    try:
        first = await ws.receive(timeout=limits.handshake_seconds)
    except TimeoutError:
        await refuse("handshake_timeout", N_("No hello in time."), (4408, b"handshake timeout"))
        return None
    hello = None
    if first.type == WSMsgType.TEXT:
        with contextlib.suppress(p.ProtocolError):
            hello = p.parse(first.data)
    if not isinstance(hello, p.Hello) or hello.version != p.VERSION:
        await refuse("bad_handshake", N_("The first message must be hello with version 1."),
                     (4400, b"bad handshake"))
        return None
    return hello


async def _run(ws: web.WebSocketResponse, part: Participant, service: Service,
               limits: SignallingLimits, clock: Clock, resume: bool) -> None:
    """One participant's messages, until the socket closes; ``leave`` always runs after."""
    connection = Connection(part.id, part.credential)
    writer = asyncio.create_task(_write(ws, connection))
    closing: CloseReason | None = None
    try:
        await service.join(part, connection, resume=resume)
        closing = await _serve(ws, part, service, limits, connection, clock)
    finally:
        try:
            if closing is not None:  # let the writer send what is queued, then close with the code
                with contextlib.suppress(asyncio.QueueFull, asyncio.TimeoutError):
                    connection.queue.put_nowait(closing)
                    await asyncio.wait_for(asyncio.shield(writer), 5)
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)  # its failure is logged there
            if closing is not None and not ws.closed:
                await ws.close(code=closing[0], message=closing[1])
        finally:
            await service.leave(part, connection)  # always: the session log depends on it
    if ws.close_code == 1009:
        log.info("signalling closed: message too large")


async def _serve(ws: web.WebSocketResponse, part: Participant, service: Service,
                 limits: SignallingLimits, connection: Connection, clock: Clock,
                 ) -> CloseReason | None:
    """Read, rate-limit, parse and hand over each frame; a close code when the edge ends it."""
    tr = i18n.translations(part.lang)

    def reply(code: str, message: str) -> None:
        """An error to this participant, through its writer (one sender per socket)."""
        with contextlib.suppress(asyncio.QueueFull):
            connection.queue.put_nowait(p.dump(p.Error(code=code, message=tr.gettext(message))))

    bucket = limits.bucket(clock)
    refused = 0
    async for frame in ws:
        if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            return None  # an error (e.g. too large: closed with 1009) or the close
        if not bucket.take():
            refused += 1
            if refused > limits.max_refused_in_a_row:
                return (1008, b"rate limit")
            reply("rate_limited", N_("Too many messages. Please slow down."))
            continue
        refused = 0
        if frame.type == WSMsgType.BINARY:
            reply("text_only", N_("Messages are JSON text."))
            continue
        try:
            await service.handle(part, p.parse(frame.data))
        except p.ProtocolError as exc:
            log.debug("refused from %s: %s (%s)", part.id, exc.code, exc.message)
            reply(exc.code, refusal_message(exc))
        except Exception:
            log.exception("signalling message from %s failed", part.id)
            reply("internal", N_("Something went wrong on our side. Please try again."))
    return None


async def _write(ws: web.WebSocketResponse, connection: Connection) -> None:
    """Drain the connection's queue into the socket; None closes it (replaced or declined).

    Whatever goes wrong here ends this socket only (the reader then ends and the participant
    leaves), never another participant's."""
    try:
        while True:
            text = await connection.queue.get()
            if text is None or isinstance(text, tuple):
                code, why = text or (4001, b"closed by the server")
                await ws.close(code=code, message=why)
                return
            await ws.send_str(text)
    except (ConnectionError, RuntimeError):
        return  # the socket is gone; the reader sees it too
    except Exception:
        log.exception("signalling writer of %s failed", connection.participant)
        with contextlib.suppress(Exception):
            await ws.close(code=1011, message=b"internal error")
