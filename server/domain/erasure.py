"""What an erasure leaves of a person in what others keep: no I/O.

A person's own case is deleted whole (``storage/personal_data.py``). A group session they took
part in stays with the group (its other members' attendance and records), so its log keeps that
someone came, but not who: their name, their consents and the follow-ups written for them go.
"""

from __future__ import annotations

from typing import Any

ERASED_NAME = ""  # the attendance sheet shows an empty name for an erased person


def scrub_group_log(log: dict[str, Any], participants: set[str],
                    member_ids: set[int]) -> dict[str, Any]:
    """A group session's log (``SessionLog.to_json``) without the erased person: ``participants``
    are their ids in the log (``g:<browser>``, ``a:<appointment>``), ``member_ids`` their rows
    in the group (follow-ups name ``person:<member id>``)."""
    out = dict(log)
    out["participants"] = {
        pid: ({**p, "name": ERASED_NAME} if pid in participants else p)
        for pid, p in (log.get("participants") or {}).items()}
    out["consents"] = [c for c in log.get("consents") or []
                       if c.get("participant") not in participants]
    closing = log.get("closing")
    if isinstance(closing, dict):
        theirs = {f"person:{m}" for m in member_ids}
        out["closing"] = {**closing, "follow_ups": [
            f for f in closing.get("follow_ups") or [] if f.get("who") not in theirs]}
    return out
