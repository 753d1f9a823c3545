"""ICE servers for clients: the organisation's own STUN and TURN, never a public one.

TURN credentials follow the TURN REST convention that coturn understands with
``use-auth-secret``: the username is ``<expiry unix time>:<opaque id>`` and the password is
base64(HMAC-SHA1(secret, username)). They expire after ``turn_ttl_seconds``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

from server.base.settings import Config


def turn_credentials(secret: str, ttl_seconds: int, now: float | None = None,
                     ) -> tuple[str, str]:
    """A short-lived (username, password) pair for coturn's use-auth-secret mode."""
    expiry = int((time.time() if now is None else now) + ttl_seconds)
    username = f"{expiry}:{secrets.token_hex(8)}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def _urls(text: str) -> list[str]:
    return [u.strip() for u in text.split(",") if u.strip()]


def ice_servers(config: Config) -> list[dict[str, Any]]:
    """RTCIceServer dictionaries for a client; empty when nothing is configured."""
    servers: list[dict[str, Any]] = []
    if config.stun_urls:
        servers.append({"urls": _urls(config.stun_urls)})
    if config.turn_urls and config.turn_secret:
        username, credential = turn_credentials(config.turn_secret, config.turn_ttl_seconds)
        servers.append({"urls": _urls(config.turn_urls), "username": username,
                        "credential": credential})
    return servers


def relay_only(config: Config) -> bool:
    """Whether clients must use only the TURN relay (it needs a TURN server to relay through)."""
    return config.relay_only and bool(config.turn_urls)
