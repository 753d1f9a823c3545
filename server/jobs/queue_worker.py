"""What the jobs that empty a persistent queue share (the outbox's ``Postman``, the webhooks'
``Dispatcher``): a name that tells their claims apart across processes, a wake-up for work just
queued, and rounds that deliver everything due, then wait for the interval or a wake-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket


class QueueWorker:
    """Subclasses say how to deliver one due item (``deliver_one``)."""

    def __init__(self, log: logging.Logger, interval_seconds: float) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._log = log
        self._interval = interval_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the queue now (something was just queued, resumed or replayed)."""
        self._wake.set()

    async def deliver_one(self) -> bool:
        """Deliver one due item; False when nothing is due."""
        raise NotImplementedError

    async def rounds(self) -> None:
        """Deliver what is due, wait, and again, for ever; a failed round is logged, never fatal."""
        while True:
            try:
                while await self.deliver_one():
                    pass
            except Exception:  # noqa: BLE001 - the job must survive anything; logged
                self._log.exception("%s round failed", self._log.name.rsplit(".", 1)[-1])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
