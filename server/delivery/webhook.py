"""One signed POST of a case-record entry to an endpoint (Standard Webhooks, docs/webhooks.md).

The signature is made by the ``standardwebhooks`` package (the convention's own Python library):
``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``. ``webhook-timestamp`` is
the real time of this try (receivers refuse one more than 5 minutes off), whatever clock the
queue runs on. Redirects are not followed: an endpoint moved is the administrator's to change.
The receiver's answer body is never read into a log or the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl

import aiohttp
from standardwebhooks.webhooks import Webhook

from server.domain import webhooks


def signed_headers(secret: str, webhook_id: str, body: str,
                   at: dt.datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent now (or ``at``)."""
    moment = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return {"webhook-id": webhook_id, "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": Webhook(secret).sign(webhook_id, moment, body)}


class Sender:
    """Posts signed entries over one HTTP client session (made at the first post)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, secret: str, webhook_id: str, body: str,
                   seconds: float) -> int | str:
        """POST ``body`` (within ``seconds``): the HTTP status, or a reason code when no answer
        came (``timeout``, ``tls_error``, ``unreachable``, ``invalid_url``)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return await _post(self._session, url, secret, webhook_id, body, seconds)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _post(session: aiohttp.ClientSession, url: str, secret: str, webhook_id: str,
                body: str, seconds: float) -> int | str:
    headers = {"Content-Type": "application/json", "User-Agent": "Proxima-Webhooks/1",
               **signed_headers(secret, webhook_id, body)}
    try:
        async with session.post(url, data=body.encode("utf-8"), headers=headers,
                                allow_redirects=False,
                                timeout=aiohttp.ClientTimeout(total=seconds)) as response:
            return response.status
    except TimeoutError:
        return webhooks.TIMEOUT
    except (aiohttp.ClientSSLError, ssl.SSLError):
        return webhooks.TLS_ERROR
    except (aiohttp.InvalidURL, ValueError):
        return webhooks.INVALID_URL
    except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError):
        return webhooks.UNREACHABLE
