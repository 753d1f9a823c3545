"""Delivering the outbox: invitation emails by SMTP and SMS reminders through a gateway.

Messages are never lost. Without ``PROXIMA_SMTP_URL`` (or with the ``file`` SMS gateway) a message
is kept in the outbox as 'manual': the worker sees it and sends the link their own way. Otherwise
it is 'pending' and the ``Postman`` claims it atomically (safe with several processes), sends it,
and on failure keeps it with the error and retries with a doubling delay until the link expires;
then it is marked 'failed' and stays visible.

Delivery is at least once (docs/delivery.md): a crash after the mail server accepted a message but
before it is marked sent sends it again, so every attempt sends the same message (the same
Message-ID, Date and bytes) for mail systems and clients to fold the duplicate.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.message
import email.utils
import hashlib
import logging
import os
import socket
import ssl
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import aiohttp
import aiosmtplib

from . import clock
from .models import OutboxMessage
from .repositories import Store
from .settings import Config

log = logging.getLogger("proxima.outbox")

MAX_RETRY_DELAY = 3600.0


class DeliveryError(Exception):
    """A message could not be handed over; the text says why, without personal data."""


def smtp_options(url: str) -> dict[str, Any]:
    """aiosmtplib options from ``smtp://user:pass@host:587`` or ``smtps://host:465``."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("PROXIMA_SMTP_URL must start with smtp:// or smtps://")
    query = parse_qs(parts.query)
    options: dict[str, Any] = {
        "hostname": parts.hostname or "localhost",
        "port": parts.port or (465 if parts.scheme == "smtps" else 587),
        "use_tls": parts.scheme == "smtps",
        # None: upgrade with STARTTLS whenever the server offers it; ?starttls=required insists.
        "start_tls": True if query.get("starttls") == ["required"] else None,
        "timeout": 20,
    }
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    if "cafile" in query:
        options["tls_context"] = ssl.create_default_context(cafile=query["cafile"][0])
    return options


def message_ref(message: OutboxMessage) -> str:
    """The message's own name, the same on every attempt (and unique to this outbox row)."""
    return f"proxima.{message.id}.{message.created_at:%Y%m%d%H%M%S}"


def build_email(message: OutboxMessage, sender: str, public_host: str,
                ) -> email.message.EmailMessage:
    """A multipart email: text, HTML (no remote image, no tracking) and the .ics attached.

    Nothing in it depends on the attempt: the Message-ID and the MIME boundaries are derived from
    the outbox row, the Date is when the message was queued, the content was composed then.
    """
    payload = message.payload or {}
    msg = email.message.EmailMessage()
    msg["From"] = sender
    msg["To"] = payload["to"]
    msg["Subject"] = payload["subject"]
    msg["Date"] = email.utils.format_datetime(message.created_at)
    msg["Message-ID"] = f"<{message_ref(message)}@{public_host}>"
    msg["Content-Language"] = payload.get("lang", "fr")
    msg.set_content(payload["text"])
    msg.add_alternative(payload["html"], subtype="html")
    method = payload.get("method", "REQUEST")
    msg.add_attachment(payload["ics"].encode("utf-8"), maintype="text", subtype="calendar",
                       filename="rendez-vous.ics", params={"method": method})
    _stable_boundaries(msg, msg["Message-ID"])
    return msg


def _stable_boundaries(msg: email.message.EmailMessage, seed: str) -> None:
    """Name the MIME boundaries (random by default) after ``seed``, avoiding the content."""
    content = "\n".join(str(part.get_payload()) for part in msg.walk() if not part.is_multipart())
    digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:24]
    for n, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        boundary = f"=_proxima_{digest}_{n}"
        while boundary in content:
            boundary += "_"
        part.set_boundary(boundary)


async def send_sms_http(template: str, payload: dict[str, Any], ref: str) -> None:
    """Post an SMS to an HTTP gateway whose URL template holds {to} and {text} (and optionally
    {ref}, the same on every attempt, for gateways that fold duplicates)."""
    url = template.format(to=quote(payload["to"]), text=quote(payload["text"]), ref=quote(ref))
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.post(url) as response:
            if response.status >= 300:
                raise DeliveryError(f"SMS gateway answered HTTP {response.status}")


class Postman:
    """The background job that sends what is due in the outbox."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the outbox now (a message was just added)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                while await self.deliver_one():
                    pass
            except Exception:  # noqa: BLE001 - the job must survive anything
                log.exception("outbox round failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.config.outbox_interval_seconds)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def deliver_one(self) -> bool:
        """Send one due message; False when nothing is due."""
        message = await self.store.outbox.claim(self.name, lease_seconds=120)
        if message is None:
            return False
        try:
            await self._send(message)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded
            await self._failed(message, _describe(exc))
        else:
            await self.store.outbox.delivered(message.id)
            await self._record(message, "invitation_sent" if message.channel == "email"
                               else "reminder_sent", {"channel": message.channel})
            log.info("outbox message %s sent (%s)", message.id, message.channel)
        return True

    async def _send(self, message: OutboxMessage) -> None:
        if message.channel == "email":
            host = urlsplit(self.config.public_url).hostname or "localhost"
            await aiosmtplib.send(build_email(message, self.config.mail_from, host),
                                  **smtp_options(self.config.smtp_url))
        else:
            await send_sms_http(self.config.sms_gateway, message.payload or {},
                                message_ref(message))

    async def _failed(self, message: OutboxMessage, error: str) -> None:
        delay = min(self.config.outbox_retry_seconds * 2 ** message.attempts, MAX_RETRY_DELAY)
        retry_at: dt.datetime | None = clock.now() + dt.timedelta(seconds=delay)
        invitation = (await self.store.invitations.get(message.invitation_id)
                      if message.invitation_id else None)
        if invitation is not None and invitation.state(clock.now()) != "valid":
            retry_at = None
        await self.store.outbox.attempt_failed(message.id, error, retry_at)
        log.warning("outbox message %s not sent (attempt %s): %s", message.id,
                    message.attempts + 1, error)
        if message.attempts == 0 or retry_at is None:
            await self._record(message, "invitation_failed", {
                "channel": message.channel, "error": error, "will_retry": retry_at is not None})

    async def _record(self, message: OutboxMessage, kind: str, data: dict[str, Any]) -> None:
        if message.appointment_id is None:
            return
        appointment = await self.store.appointments.get(message.appointment_id)
        if appointment is not None:
            data = {"message": message.kind, **data}
            await self.store.entries.add(appointment.case_id, kind, data, appointment.id)


def _describe(exc: Exception) -> str:
    if isinstance(exc, (aiosmtplib.SMTPConnectError, ConnectionError, OSError)):
        return f"mail server unreachable ({type(exc).__name__})"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "recipient refused by the mail server"
    if isinstance(exc, aiosmtplib.SMTPException):
        return f"mail server error: {exc}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]
