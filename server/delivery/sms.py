"""SMS reminders posted to an HTTP gateway, and what its answer means (a 4xx other than 408 and
429 is a refusal; the rest is worth another try)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp

from server.delivery.errors import DeliveryError


def sms_failure(status: int, body: str) -> DeliveryError:
    """What an SMS gateway's HTTP answer means: 4xx is a refusal, except 408 and 429."""
    reply = f"HTTP {status} {body}".strip()
    if 400 <= status < 500 and status not in (408, 429):
        return DeliveryError("sms_refused", reply)
    return DeliveryError("sms_gateway_deferred", reply)


async def send_sms_http(template: str, payload: dict[str, Any], ref: str) -> None:
    """Post an SMS to an HTTP gateway whose URL template holds {to} and {text} (and optionally
    {ref}, the same on every attempt, for gateways that fold duplicates)."""
    url = template.format(to=quote(payload["to"]), text=quote(payload["text"]), ref=quote(ref))
    timeout = aiohttp.ClientTimeout(total=20)
    try:
        async with (aiohttp.ClientSession(timeout=timeout) as session,
                    session.post(url) as response):
            if response.status < 300:
                return
            status, body = response.status, (await response.text(errors="replace"))[:300]
    except (aiohttp.ClientError, OSError) as exc:
        raise DeliveryError("sms_gateway_unreachable", f"{type(exc).__name__}: {exc}") from exc
    raise sms_failure(status, body)
