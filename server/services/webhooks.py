"""What an administrator does with webhook endpoints (console, API and ``proxima webhooks``):
add one (its signing secret shown once), pause, resume, remove, watch the queue, replay a range.
Every act is audited here, so the API and the command line audit alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from typing import Any

from server.base import clock
from server.base.settings import Config
from server.base.webhook_targets import SECRET_PREFIX, parse_endpoints
from server.domain.models import N_, Invalid
from server.domain.webhooks import Endpoint, check_endpoint
from server.storage.repositories import Store

_MOMENT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ]([0-9]{2}:[0-9]{2}(?::[0-9]{2})?))?")


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form: ``whsec_`` + base64 of 32 bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


async def add(store: Store, actor: str, name: object, url: object) -> tuple[Endpoint, str]:
    """A new endpoint and its secret (to show once: it is kept sealed, never shown again)."""
    clean_name, clean_url = check_endpoint(name, url)
    if any(e.name == clean_name for e in await store.webhooks.endpoints()):
        raise Invalid("name", N_("An endpoint already has this name."))
    secret = new_secret()
    endpoint = await store.webhooks.add_endpoint(clean_name, clean_url, secret, "console")
    await store.audit.record(actor, "add_webhook", "ok",
                             target=f"webhook:{endpoint.id}:{endpoint.name}")
    return endpoint, secret


async def set_paused(store: Store, actor: str, endpoint: Endpoint, paused: bool) -> None:
    await store.webhooks.set_paused(endpoint.id, paused)
    await store.audit.record(actor, "pause_webhook" if paused else "resume_webhook", "ok",
                             target=f"webhook:{endpoint.id}:{endpoint.name}")


async def remove(store: Store, actor: str, endpoint: Endpoint) -> None:
    if endpoint.source == "settings":
        raise Invalid("id", N_("This endpoint comes from the settings (PROXIMA_WEBHOOKS): "
                               "remove it there."))
    await store.webhooks.remove(endpoint.id)
    await store.audit.record(actor, "remove_webhook", "ok",
                             target=f"webhook:{endpoint.id}:{endpoint.name}")


async def states(store: Store, actor: str) -> list[dict[str, Any]]:
    """Each endpoint as the administrator watches it: active or paused, last success, last
    error, how many entries wait and for how long, and the entries failed or stopped."""
    endpoints = await store.webhooks.endpoints()
    queue = await store.webhooks.queue_state()
    now = clock.now()
    out = []
    for e in endpoints:
        q = queue.get(e.id, {})
        oldest = q.get("oldest_pending")
        out.append({**e.public(), "backlog": q.get("backlog", 0),
                    "oldest_pending_seconds": int((now - oldest).total_seconds())
                    if oldest else None,
                    "problems": [{"entry_id": d.entry_id, "case_id": d.case_id,
                                  "kind": d.kind, "status": d.status, "reason": d.last_error,
                                  "attempts": d.attempts, "webhook_id": d.webhook_id}
                                 for d in q.get("stuck", [])]})
    await store.audit.record(actor, "read_webhooks", "ok", target=f"{len(out)} endpoints")
    return out


def parse_moment(field: str, text: str, zone: str, end_of_day: bool = False) -> dt.datetime:
    """``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM[:SS]`` (or with ``T``), local time in ``zone``;
    a day alone is its start, or its last second when ``end_of_day``."""
    found = _MOMENT.fullmatch(text.strip())
    try:
        if found is None:
            raise ValueError(text)
        day = dt.date.fromisoformat(found[1])
        if found[2]:
            time = dt.time.fromisoformat(found[2])
        else:
            time = dt.time(23, 59, 59) if end_of_day else dt.time(0, 0)
        return clock.local_to_utc(dt.datetime.combine(day, time), zone)
    except (ValueError, OverflowError):
        raise Invalid(field, N_("Please give a date as YYYY-MM-DD, with a time as HH:MM if "
                                "you wish.")) from None


async def replay(store: Store, actor: str, since: dt.datetime, until: dt.datetime,
                 endpoint: Endpoint | None) -> int:
    """Queue again the entries written from ``since`` to ``until`` (the same webhook ids)."""
    if until < since:
        raise Invalid("until", N_("The end comes before the start."))
    count = await store.webhooks.replay(since, until, endpoint.id if endpoint else None)
    await store.audit.record(actor, "replay_webhooks", "ok", target=(
        f"webhook:{endpoint.name if endpoint else 'all'} {clock.to_db(since)}.."
        f"{clock.to_db(until)} {count} deliveries"))
    return count


async def sync_settings(store: Store, config: Config) -> None:
    """Make the endpoints of ``PROXIMA_WEBHOOKS`` those of the database (at start)."""
    await store.webhooks.sync_configured(parse_endpoints(config.webhooks))


def describe(state: dict[str, Any]) -> str:
    """One endpoint's state as ``proxima webhooks list`` prints it."""
    lines = [(f"{state['name']} {state['url']} ({'paused' if state['paused'] else 'active'}, "
              f"from the {state['source']})"),
             f"  last success: {state['last_success_at'] or 'none'}; last error: "
             f"{state['last_error'] or 'none'} {state['last_error_at'] or ''}".rstrip(),
             f"  waiting: {state['backlog']}" + (
                 f", the oldest for {state['oldest_pending_seconds']} s"
                 if state["oldest_pending_seconds"] is not None else "")]
    lines += [f"  {p['status']}: entry {p['entry_id']} ({p['kind']}) of case {p['case_id']}, "
              f"{p['reason']}, {p['attempts']} tries" for p in state["problems"]]
    return "\n".join(lines)


async def command(store: Store, zone: str, what: str, since: str | None = None,
                  until: str | None = None, endpoint: str | None = None) -> list[str]:
    """``proxima webhooks list`` and ``replay``: the lines to print (Invalid for bad input)."""
    if what == "list":
        return [describe(e) for e in await states(store, "cli")] or ["No webhook endpoint."]
    start = parse_moment("--since", since or "", zone)
    end = parse_moment("--until", until, zone, end_of_day=True) if until else clock.now()
    named = None
    if endpoint is not None:
        named = next((e for e in await store.webhooks.endpoints() if e.name == endpoint), None)
        if named is None:
            raise Invalid("--endpoint", "no endpoint named {name}", name=endpoint)
    count = await replay(store, "cli", start, end, named)
    return [(f"{count} deliveries queued again (the same webhook ids); a running Proxima sends "
             "them within PROXIMA_WEBHOOK_INTERVAL_SECONDS.")]
