"""Pushing case-record entries to the endpoints (docs/webhooks.md): claim, sign, send, record.

Each ``Dispatcher`` claims one delivery at a time from the persistent queue (atomically, with a
lease, so several processes can run one each), builds the payload from the sealed entry, and
posts it signed. 2xx: delivered. 408, 429, 5xx, a timeout or no connection: tried again after a
doubling delay with jitter, until ``webhook_give_up_hours``, then 'failed'. Any other answer
(4xx, a redirect): that entry is 'stopped' at once. Both are shown to the administrator; neither
blocks the case's later entries. An entry erased meanwhile is dropped, never sent.

Delivery is at least once: a crash after the receiver's 2xx but before it is recorded sends the
entry again, with the same ``webhook-id`` (the receiver's idempotency key). The payload and the
receiver's answer are never logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import random

from server.base import clock
from server.base.settings import Config
from server.delivery import webhook
from server.domain import webhooks
from server.domain.webhooks import Delivery, RetryPolicy
from server.jobs.queue_worker import QueueWorker
from server.storage.repositories import Store

log = logging.getLogger("proxima.webhooks")

LEASE_SECONDS = 120.0


class Dispatcher(QueueWorker):
    """The background job that delivers the webhook queue."""

    def __init__(self, store: Store, config: Config) -> None:
        super().__init__(log, config.webhook_interval_seconds)
        self.store = store
        self.config = config
        self.policy = RetryPolicy(config.webhook_retry_seconds, config.webhook_retry_max_seconds,
                                  dt.timedelta(hours=config.webhook_give_up_hours))
        self.sender = webhook.Sender()

    async def run(self) -> None:
        try:
            await self.rounds()
        finally:
            await self.close()

    async def close(self) -> None:
        await self.sender.close()

    async def deliver_one(self) -> bool:
        """Send one due delivery; False when nothing is due."""
        delivery = await self.store.webhooks.claim(self.name, LEASE_SECONDS)
        if delivery is None:
            return False
        endpoint = await self.store.webhooks.endpoint(delivery.endpoint_id)
        entry = await self.store.entries.get(delivery.entry_id)
        case = await self.store.cases.get(delivery.case_id)
        if endpoint is None:  # removed while we claimed: its rows went with it
            return True
        if entry is None or case is None:
            await self.store.webhooks.drop(delivery, webhooks.ENTRY_GONE)
            log.info("webhook %s: entry %s is gone, not sent", endpoint.name, delivery.entry_id)
            return True
        answer = await self.sender.post(endpoint.url, endpoint.secret, delivery.webhook_id,
                                        webhooks.body(case, entry),
                                        self.config.webhook_timeout_seconds)
        await self._record(endpoint.name, delivery, answer)
        return True

    async def _record(self, endpoint: str, delivery: Delivery, answer: int | str) -> None:
        outcome = webhooks.http_outcome(answer) if isinstance(answer, int) else \
            "stop" if answer == webhooks.INVALID_URL else "retry"
        reason = webhooks.http_reason(answer) if isinstance(answer, int) else answer
        if outcome == "delivered":
            await self.store.webhooks.delivered(delivery)
            log.info("webhook %s: entry %s delivered (%s)", endpoint, delivery.entry_id, answer)
            return
        if outcome == "stop":
            await self.store.webhooks.failed_try(delivery, reason, "stopped", None)
            log.warning("webhook %s: entry %s refused (%s): stopped, shown to the administrator",
                        endpoint, delivery.entry_id, reason)
            return
        now = clock.now()
        retry_at = self.policy.next_try(delivery.attempts + 1, delivery.first_failed_at or now,
                                        now, random.random)
        await self.store.webhooks.failed_try(delivery, reason,
                                             "pending" if retry_at else "failed", retry_at)
        if retry_at is None:
            log.warning("webhook %s: entry %s failed: %s, given up after %s tries", endpoint,
                        delivery.entry_id, reason, delivery.attempts + 1)
        else:
            log.info("webhook %s: entry %s not delivered (%s), try %s; next at %s", endpoint,
                     delivery.entry_id, reason, delivery.attempts + 1, retry_at.isoformat())
