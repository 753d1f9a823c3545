"""Delivering the outbox: invitation emails by SMTP and SMS reminders through a gateway, each
handed over by server/delivery/ (mail.py, sms.py); this job claims, sends, retries and records.

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

import datetime as dt
import logging
from typing import Any
from urllib.parse import urlsplit

from server.base import clock
from server.base.settings import Config
from server.delivery import mail, sms
from server.delivery.errors import DeliveryError
from server.domain.outbox import OutboxMessage
from server.jobs.queue_worker import QueueWorker
from server.storage.repositories import Store

log = logging.getLogger("proxima.outbox")

MAX_RETRY_DELAY = 3600.0


class Postman(QueueWorker):
    """The background job that sends what is due in the outbox."""

    def __init__(self, store: Store, config: Config) -> None:
        super().__init__(log, config.outbox_interval_seconds)
        self.store = store
        self.config = config

    async def run(self) -> None:
        await self.rounds()

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
            await mail.send_email(message, self.config.mail_from, host, self.config.smtp_url)
        else:
            await sms.send_sms_http(self.config.sms_gateway, message.payload or {}, message.ref)

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
        return mail.smtp_failure(exc)
    return DeliveryError("unexpected", f"{type(exc).__name__}: {exc}")
