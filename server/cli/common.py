"""What the ``proxima`` commands share: the store opened for one command, a positive number."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from server.base import settings
from server.storage import startup as storage
from server.storage.repositories import Store

T = TypeVar("T")


def with_store(config: settings.Config, fn: Callable[[Store], Coroutine[Any, Any, T]]) -> T:
    store = storage.open_store(config)  # StorageUnavailable, KeyProblem: see main()
    try:
        return asyncio.run(fn(store))
    finally:
        store.db.close()


def positive(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 2**63):
        raise argparse.ArgumentTypeError("a whole number above 0")
    return int(text)
