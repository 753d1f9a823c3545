"""The daily retention run (``services/retention.py``): every process looks once an hour, and the
one that claims the day first (a row per job and day, ``job_runs``) runs it; the others find the
day taken. A run that fails is logged and tried again the next day (or by
``proxima retention run``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from server.base.settings import Config
from server.services import retention
from server.storage.repositories import Store

log = logging.getLogger("proxima.jobs")

CHECK_SECONDS = 3600.0


async def retain_daily(store: Store, config: Config, every: float = CHECK_SECONDS) -> None:
    """Claim and run today's retention, then look again every ``every`` seconds."""
    claimer = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        try:
            await retention.run_daily(store, config, claimer)
        except Exception:
            log.exception("retention run failed")
        await asyncio.sleep(every)
