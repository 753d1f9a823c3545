"""The audit trail's head in the log output: its last entry's id and hash, on a schedule.

Someone who can write the database could rewrite the whole hash chain so that it verifies again;
the heads already written to the logs (kept elsewhere, by the system's journal or a log
collector) would then no longer match (``proxima audit verify --head ID:HASH``). Each process
writes the head it reads: harmless with several.
"""

from __future__ import annotations

import asyncio
import logging

from server.storage.repositories import Store

log = logging.getLogger("proxima.audit")


async def log_head(store: Store) -> None:
    """Write the chain's head to the log output once."""
    head = await store.audit.head()
    if head is None:
        log.info("audit trail head: empty")
    else:
        log.info("audit trail head: entry %d hash %s", head.id, head.hash)


async def log_heads(store: Store, every_minutes: float) -> None:
    """Every ``every_minutes``, write the chain's head to the log output (not at once: what
    ``proxima serve`` prints at start, the first login, stays the last thing on the screen)."""
    while True:
        await asyncio.sleep(every_minutes * 60)
        try:
            await log_head(store)
        except Exception:
            log.exception("could not read the audit trail's head")
