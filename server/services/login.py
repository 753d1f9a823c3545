"""Logging in: a password checked, throttled per account and (much later) per address.

The throttle's rule is in ``server/live/limits.py``; what a refusal and a success write to the
audit log is here: never the email typed (``refused_actor``).
"""

from __future__ import annotations

import math

from server.base import passwords
from server.domain.ids import actor_of_worker
from server.domain.models import Worker
from server.live.limits import LoginThrottle
from server.storage.repositories import Store


class Throttled(Exception):
    """Too many failures: ``retry_after`` seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class WrongCredentials(Exception):
    """No such account, a wrong password, or a disabled account (one answer for all three)."""


def refused_actor(store: Store, worker: Worker | None, email: str) -> str:
    """Who a refused login names in the audit trail: the account when it exists, else a keyed
    hash of the typed email (the same typing gives the same hash, to see one address tried
    often; never the address itself: the trail is immutable, and retention alone deletes it)."""
    if worker is not None:
        return actor_of_worker(worker.id)
    return f"login:unknown:{store.audit.pseudonym(email)}"


async def log_in(store: Store, throttle: LoginThrottle, email: str, password: str,
                 address: str) -> Worker:
    """The worker these credentials open; ``Throttled`` or ``WrongCredentials`` otherwise."""
    email = email.strip().lower()
    keys = ("account:" + email, "ip:" + address)
    wait = throttle.retry_after(*keys)
    if wait > 0:
        raise Throttled(math.ceil(wait))
    found = await store.workers.by_email(email) if email else None
    stored_hash = found[1] if found else None
    if not passwords.verify_password(stored_hash, password) or found is None or found[0].disabled:
        throttle.failed(*keys)
        await store.audit.record(refused_actor(store, found[0] if found else None, email),
                                 "login", "refused")
        raise WrongCredentials()
    throttle.succeeded(*keys)
    await store.audit.record(actor_of_worker(found[0].id), "login", "ok")
    return found[0]
