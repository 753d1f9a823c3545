"""Who connects to whom in a room, and who is polite on each link: one decision per topology.

A room's media flows browser to browser. ``Mesh`` (today's only topology) links every member of
the call with every other one; each link is a perfect-negotiation pair in which one side is
impolite and makes the first offer (so that no offers cross at the start) and the other is polite.
An SFU topology later links each member to the SFU instead; the room asks the topology, not the
other way round.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from server.domain.ids import ParticipantId

# Who offers first on a link: the host worker, then a co-worker, then a person's browser; between
# two of the same kind, the lower number. The first kind in this order is impolite.
_OFFER_ORDER = {"w": 0, "g": 1, "t": 2}


@dataclasses.dataclass(frozen=True)
class Link:
    """A browser-to-browser link: ``impolite`` makes the first offer, ``polite`` answers it."""

    impolite: ParticipantId
    polite: ParticipantId

    def other(self, member: ParticipantId) -> ParticipantId:
        return self.polite if member == self.impolite else self.impolite

    def is_polite(self, member: ParticipantId) -> bool:
        return member == self.polite


class Mesh:
    """Every member of the call linked with every other (full mesh, for small rooms)."""

    @staticmethod
    def link(a: ParticipantId, b: ParticipantId) -> Link:
        """The link between two members, with its polite side decided the same way each time."""
        key_a, key_b = (_OFFER_ORDER[a.kind], a.number), (_OFFER_ORDER[b.kind], b.number)
        return Link(a, b) if key_a < key_b else Link(b, a)

    def links_for(self, member: ParticipantId, others: Iterable[ParticipantId]) -> list[Link]:
        """The links ``member`` has (or makes, on arrival) with the other members present."""
        return [self.link(member, other) for other in sorted(set(others)) if other != member]
