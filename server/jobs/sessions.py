"""The session sweep: ends (and logs) the sessions whose worker has gone for good.

Safe with several processes: a session is ended by ``UPDATE ... WHERE status = 'active'``, so
only one process writes its log to the case record.
"""

from __future__ import annotations

import asyncio
import logging

from server.services.interview import InterviewService

log = logging.getLogger("proxima.jobs")

SWEEP_SECONDS = 30.0


async def end_sessions(interviews: InterviewService, every: float = SWEEP_SECONDS) -> None:
    """Every ``every`` seconds, end the sessions whose worker left ``session_end_minutes`` ago."""
    while True:
        try:
            await interviews.sweep()
        except Exception:
            log.exception("session sweep failed")
        await asyncio.sleep(every)
