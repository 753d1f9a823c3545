"""Delivering the outbox: invitation emails by SMTP and SMS reminders through a gateway.

Messages are never lost. Without ``PROXIMA_SMTP_URL`` (or with the ``file`` SMS gateway) a message
is kept in the outbox as 'manual': the worker sees it and sends the link their own way. Otherwise
it is 'pending' and the ``Postman`` claims it atomically (safe with several processes) and sends it.

Delivery is at least once (docs/delivery.md): a crash after the mail server accepted a message but
before it is marked sent sends it again, so every attempt sends the same message (the same
Message-ID, Date and bytes) for mail systems and clients to fold the duplicate.

A refusal (SMTP 5xx; HTTP 4xx other than 408 and 429 from the SMS gateway) is permanent: the
message is marked 'failed' at once. A 'try later' (SMTP 4xx; HTTP 5xx, 408, 429) or a connection
error is retried with a doubling delay, up to ``outbox_max_attempts`` and while the link is valid,
then marked 'failed'. A failed message keeps its link and text for the worker to send another way.
Why it failed is a stable reason code, kept in clear and logged; the other side's reply, which may
quote the address or number, is kept sealed and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from server.base import clock
from server.base.settings import Config
from server.domain.outbox import OutboxMessage
from server.storage.repositories import Store

log = logging.getLogger("proxima.outbox")

MAX_RETRY_DELAY = 3600.0

PERMANENT = OutboxMessage.PERMANENT_REASONS
REASONS = PERMANENT | OutboxMessage.TEMPORARY_REASONS


class DeliveryError(Exception):
    """A message was not handed over: why (``reason``, a code in ``REASONS`` with no personal
    data), and the other side's own ``reply`` (which may quote the address: sealed, never logged).
    """

    def __init__(self, reason: str, reply: str = "") -> None:
        assert reason in REASONS, reason
        super().__init__(reason)
        self.reason = reason
        self.reply = reply

    @property
    def permanent(self) -> bool:
        """Trying again cannot help: the message is marked failed at once."""
        return self.reason in PERMANENT


def smtp_failure(exc: Exception) -> DeliveryError:
    """What an aiosmtplib error means: a 5xx reply is permanent, a 4xx or a lost connection not."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        reply = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        if exc.recipients and all(500 <= r.code < 600 for r in exc.recipients):
            return DeliveryError("recipient_refused", reply)
        return DeliveryError("mail_server_deferred", reply)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reply = f"{exc.code} {exc.message}"
        if 500 <= exc.code < 600:
            if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
                return DeliveryError("recipient_refused", reply)
            if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
                return DeliveryError("mail_login_refused", reply)
            return DeliveryError("message_refused", reply)
        if 400 <= exc.code < 500:
            return DeliveryError("mail_server_deferred", reply)
    if isinstance(exc, (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError,
                        aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPResponseException, OSError)):
        return DeliveryError("mail_server_unreachable", f"{type(exc).__name__}: {exc}")
    return DeliveryError("unexpected", f"{type(exc).__name__}: {exc}")


def sms_failure(status: int, body: str) -> DeliveryError:
    """What an SMS gateway's HTTP answer means: 4xx is a refusal, except 408 and 429."""
    reply = f"HTTP {status} {body}".strip()
    if 400 <= status < 500 and status not in (408, 429):
        return DeliveryError("sms_refused", reply)
    return DeliveryError("sms_gateway_deferred", reply)


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
    msg.set_content(payload["text"])
    msg.add_alternative(payload["html"], subtype="html")
    method = payload.get("method", "REQUEST")
    msg.add_attachment(payload["ics"].encode("utf-8"), maintype="text", subtype="calendar",
                       filename="rendez-vous.ics", params={"method": method, "charset": "utf-8"})
    # Content-Language last: set_content() drops Content-* headers and each multipart wrapping
    # moves them into the inner part. On the message and on the texts (what screen readers use).
    language = payload.get("lang", "fr")
    msg["Content-Language"] = language
    for part in msg.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            part["Content-Language"] = language
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
    try:
        async with (aiohttp.ClientSession(timeout=timeout) as session,
                    session.post(url) as response):
            if response.status < 300:
                return
            status, body = response.status, (await response.text(errors="replace"))[:300]
    except (aiohttp.ClientError, OSError) as exc:
        raise DeliveryError("sms_gateway_unreachable", f"{type(exc).__name__}: {exc}") from exc
    raise sms_failure(status, body)


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
            except Exception:  # the job must survive anything
                log.exception("outbox round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.outbox_interval_seconds)
            self._wake.clear()

    async def deliver_one(self) -> bool:
        """Send one due message; False when nothing is due."""
        message = await self.store.outbox.claim(self.name, lease_seconds=120)
        if message is None:
            return False
        try:
            await self._send(message)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded
            failure = _failure(message, exc)
            if failure.reason == "unexpected":
                log.error("outbox message %s: unexpected %s", message.id, type(exc).__name__)
            await self._failed(message, failure)
        else:
            await self.store.outbox.delivered(message.id)
            await self._record(message, "invitation_sent" if message.channel == "email"
                               else "reminder_sent", {"channel": message.channel})
            log.info("outbox message %s sent (%s)", message.id, message.channel)
        return True

    async def _send(self, message: OutboxMessage) -> None:
        if message.channel == "email":
            host = urlsplit(self.config.effective_public_url).hostname or "localhost"
            await aiosmtplib.send(build_email(message, self.config.mail_from, host),
                                  **smtp_options(self.config.smtp_url))
        else:
            await send_sms_http(self.config.sms_gateway, message.payload or {},
                                message_ref(message))

    async def _failed(self, message: OutboxMessage, error: DeliveryError) -> None:
        attempts = message.attempts + 1
        retry_at: dt.datetime | None = None
        if not error.permanent and attempts < self.config.outbox_max_attempts:
            delay = min(self.config.outbox_retry_seconds * 2 ** message.attempts, MAX_RETRY_DELAY)
            retry_at = clock.now() + dt.timedelta(seconds=delay)
            invitation = (await self.store.invitations.get(message.invitation_id)
                          if message.invitation_id else None)
            if invitation is not None and invitation.state(clock.now()) != "valid":
                retry_at = None
        await self.store.outbox.attempt_failed(message.id, error.reason, error.reply, retry_at)
        # Never the reply: it may quote the address or the number.
        if retry_at is not None:
            log.warning("outbox message %s (%s) not sent, attempt %s of %s: %s; next at %s",
                        message.id, message.channel, attempts, self.config.outbox_max_attempts,
                        error.reason, retry_at.isoformat())
        else:
            log.warning("outbox message %s (%s) failed after %s attempt(s): %s (%s)",
                        message.id, message.channel, attempts, error.reason,
                        "refused" if error.permanent else "no more attempts")
        if message.attempts == 0 or retry_at is None:
            await self._record(message, "invitation_failed", {
                "channel": message.channel, "reason": error.reason, "attempts": attempts,
                "will_retry": retry_at is not None})

    async def _record(self, message: OutboxMessage, kind: str, data: dict[str, Any]) -> None:
        if message.appointment_id is None:
            return
        appointment = await self.store.appointments.get(message.appointment_id)
        if appointment is not None:
            data = {"message": message.kind, **data}
            await self.store.entries.add(appointment.case_id, kind, data, appointment.id)


def _failure(message: OutboxMessage, exc: Exception) -> DeliveryError:
    if isinstance(exc, DeliveryError):
        return exc
    if message.channel == "email":
        return smtp_failure(exc)
    return DeliveryError("unexpected", f"{type(exc).__name__}: {exc}")
