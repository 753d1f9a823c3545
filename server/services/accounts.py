"""Worker accounts: creation with a one-time password, shared by the CLI, the API and the
console."""

from __future__ import annotations

from server.base import passwords
from server.domain.models import (
    N_,
    ROLES,
    Invalid,
    Worker,
    check_choice,
    check_email,
    check_phone,
    check_text,
)
from server.storage.repositories import Store


async def create_worker(store: Store, email: str, display_name: str, phone: str,
                        role: str) -> tuple[Worker, str]:
    """Create an account; returns it with a one-time password to change at first login."""
    email = check_email("email", email).lower()
    display_name = check_text("display_name", display_name, 200)
    phone = check_phone("phone", phone, required=False)
    check_choice("role", role, ROLES)
    if await store.workers.by_email(email) is not None:
        raise Invalid("email", N_("An account with this email already exists."))
    password = passwords.one_time_password()
    worker = await store.workers.create(email, display_name, phone, role,
                                        passwords.hash_password(password),
                                        must_change_password=True)
    return worker, password


async def ensure_first_admin(store: Store) -> tuple[Worker, str] | None:
    """When there is no account at all, create the first administrator."""
    if await store.workers.count() > 0:
        return None
    worker, password = await create_worker(store, "admin@localhost.localdomain",
                                           "Administrator", "", "admin")
    await store.audit.record("cli", "create_first_admin", "ok", target=f"worker:{worker.id}")
    return worker, password
