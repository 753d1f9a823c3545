"""The live access check: closes the sockets that lost their access where no live notice reaches
(``proxima disable-worker``, another process, a link that expired).

The acts that change access check at once (see ``server/services/live_access.py``); this job is
the net under them. Each process checks its own connections.
"""

from __future__ import annotations

import asyncio
import logging

from server.services.live_access import RECHECK_SECONDS, LiveAccess

log = logging.getLogger("proxima.jobs")


async def recheck_access(access: LiveAccess, every: float = RECHECK_SECONDS) -> None:
    """Every ``every`` seconds, close the live connections that lost their access."""
    while True:
        await asyncio.sleep(every)
        try:
            await access.recheck()
        except Exception:
            log.exception("live access check failed")
