"""An email or SMS in the outbox, and the reasons one may not be sent (docs/delivery.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any


@dataclasses.dataclass
class OutboxMessage:
    """An email or SMS in the outbox, with why it was not sent yet (if it was not).

    ``last_error`` is a stable reason code, kept in clear and shown in plain words
    (``delivery_reason`` in console/_macros.html); ``error_reply`` is the mail server's or
    gateway's own reply, which may quote the address or number, so it is kept sealed.
    """

    # Not class fields: the reason codes. A permanent one is never retried.
    PERMANENT_REASONS = frozenset({"recipient_refused", "message_refused", "mail_login_refused",
                                   "sms_refused"})
    TEMPORARY_REASONS = frozenset({"mail_server_unreachable", "mail_server_deferred",
                                   "sms_gateway_unreachable", "sms_gateway_deferred",
                                   "unexpected"})

    id: int
    channel: str
    kind: str
    appointment_id: int | None
    invitation_id: int | None
    worker_id: int | None
    recipient_hint: str
    status: str
    attempts: int
    last_error: str
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None
    payload: dict[str, Any] | None
    error_reply: str = ""

    @property
    def ref(self) -> str:
        """The message's own name, the same on every attempt (and unique to this outbox row)."""
        return f"proxima.{self.id}.{self.created_at:%Y%m%d%H%M%S}"

    @property
    def gave_up(self) -> bool:
        """Failed after the temporary failures it was allowed (not refused outright)."""
        return self.status == "failed" and self.last_error not in self.PERMANENT_REASONS

    def public(self) -> dict[str, Any]:
        out = {"id": self.id, "channel": self.channel, "kind": self.kind,
               "appointment_id": self.appointment_id, "recipient": self.recipient_hint,
               "status": self.status, "attempts": self.attempts, "last_error": self.last_error,
               "created_at": self.created_at.isoformat(),
               "next_attempt_at": self.next_attempt_at.isoformat(),
               "sent_at": self.sent_at.isoformat() if self.sent_at else None}
        if self.status in ("manual", "failed") and self.payload:
            # What the worker needs to send it by hand: the link, the whole text (and subject),
            # and where to download the calendar file.
            out["link"] = self.payload.get("link")
            out["text"] = self.payload.get("text")
            if self.payload.get("subject"):
                out["subject"] = self.payload["subject"]
            if self.payload.get("ics"):
                out["calendar_file"] = f"/api/outbox/{self.id}/invitation.ics"
        if self.error_reply:
            out["server_reply"] = self.error_reply
        return out
