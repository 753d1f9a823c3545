"""Invitation emails by SMTP (aiosmtplib): the message, built the same on every attempt, and
what the mail server's answer means (a 5xx refusal is permanent; a 4xx or a lost connection is
worth another try). docs/delivery.md says why every attempt sends the same bytes."""

from __future__ import annotations

import email.message
import email.utils
import hashlib
import ssl
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from server.delivery.errors import DeliveryError
from server.domain.outbox import OutboxMessage


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
    msg["Message-ID"] = f"<{message.ref}@{public_host}>"
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


async def send_email(message: OutboxMessage, sender: str, public_host: str, smtp_url: str,
                     ) -> None:
    """Hand ``message`` to the mail server of ``smtp_url``; aiosmtplib's errors as they come
    (``smtp_failure`` says what each means)."""
    await aiosmtplib.send(build_email(message, sender, public_host), **smtp_options(smtp_url))
