"""Why a message was not handed over: a stable reason code (no personal data) and, apart, the
other side's own reply (which may quote the address or the number: sealed, never logged)."""

from __future__ import annotations

from server.domain.outbox import OutboxMessage

PERMANENT = OutboxMessage.PERMANENT_REASONS
REASONS = PERMANENT | OutboxMessage.TEMPORARY_REASONS


class DeliveryError(Exception):
    """A message was not handed over: why (``reason``, a code in ``REASONS`` with no personal
    data), and the other side's own ``reply`` (which may quote the address: sealed, never logged).
    """

    def __init__(self, reason: str, reply: str = "") -> None:
        assert reason in REASONS, reason
        super().__init__(reason)
        self.reason = reason
        self.reply = reply

    @property
    def permanent(self) -> bool:
        """Trying again cannot help: the message is marked failed at once."""
        return self.reason in PERMANENT
