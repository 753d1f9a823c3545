"""Schemathesis hooks for tests/test_api_schema.py: loaded by the schemathesis run, not by pytest.

Schemathesis's ``positive_data_acceptance`` (ST202) fails when a request that docs/openapi.yaml
calls valid is refused. A few refusals depend on what no schema can say: the clock (a date that
is already past), the database (an email already in use, a worker that does not exist, a
cancelled appointment, a case without a mobile number, one's own account) or a secret (the
current password). ``valid_data_accepted`` is that same check with exactly those refusals let
through, each recognised by its operation, error code and field; any other refusal of valid data
still fails as ST202.

``map_case`` moves the dates of valid appointment and group forms into the coming year: drawn
from years 1 to 9999, nearly all of them are refused (past, or more than five years ahead) before
the rest of the form is even looked at. A valid group form invites the two people of the cases the
test made (ids 1 and 2) and no co-worker: drawn at random, its case ids would name no case (or not
two of them), and the rest of the form would never be looked at either.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

_FORMS = ("POST /api/cases/{id}/appointments", "PUT /api/appointments/{id}",
          "POST /api/appointments/{id}/session/closing")
_GROUP = "POST /api/groups"
_TIMED = (*_FORMS, _GROUP)
GROUP_CASES = (1, 2)  # the cases tests/test_api_schema.py opens before the run

# (operation, error, field) -> why the description cannot tell.
RULES_NO_SCHEMA_CAN_STATE: dict[tuple[str, str, str | None], str] = {
    **{(op, "invalid", "date"): "ahead, but at most 5 years ahead (the clock)"
       for op in _TIMED},
    **{(op, "invalid", "time"): "a time skipped when the clocks change (the calendar)"
       for op in _TIMED},
    **{(op, "invalid", "occurrence"): "only a time the clocks repeat has a second (the calendar)"
       for op in _TIMED},
    **{(op, "invalid", "sms_reminder"): "an SMS needs a mobile number on the case (the case)"
       for op in _FORMS},
    **{(op, "invalid", "incident_phone"): "empty means the worker's phone, which may be empty"
       for op in _TIMED},
    (_GROUP, "invalid", "people"): "2 to 6 participants with the co-workers, each person once, "
    "a case that exists and is mine or a colleague's who agreed (the database)",
    (_GROUP, "invalid", "workers"): "a co-worker who exists, is not disabled, is not me, each "
    "once (the database, who is asking)",
    (_GROUP, "invalid", "agenda"): "the agenda's minutes add up to the duration at most (a sum)",
    **{(op, "invalid", "status"): "the appointment was cancelled (the appointment)"
       for op in ("PUT /api/appointments/{id}", "POST /api/appointments/{id}/cancel",
                  "POST /api/appointments/{id}/reissue")},
    ("POST /api/password", "wrong_password", None): "the current password (a secret)",
    ("POST /api/password", "same_password", "new_password"): "the current password (a secret)",
    ("POST /api/workers", "invalid", "email"): "an account with this email exists (the database)",
    ("PATCH /api/workers/{id}", "invalid", "disabled"): "one's own account (who is asking)",
    ("POST /api/cases", "invalid", "worker_id"): "no worker has this id (the database)",
    ("PATCH /api/cases/{id}", "invalid", "worker_id"): "no worker has this id (the database)",
    ("POST /api/webhooks", "invalid", "name"): "an endpoint has this name (the database)",
    ("DELETE /api/webhooks/{id}", "invalid", "id"): "an endpoint from the settings (the settings)",
    **{("POST /api/webhooks/{id}/replay", "invalid", field): "a day or time that exists, and "
       "an end after the start (the calendar)" for field in ("since", "until")},
}


def refusal(case: Any, response: Any) -> tuple[str, str, str | None] | None:
    """(operation, error, field) of a 400 answer, or None."""
    if response.status_code != 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    return case.operation.label, body.get("error"), body.get("field")


@schemathesis.check
def valid_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """ST202 (schema-valid request refused), except the refusals listed above."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if refusal(case, response) in RULES_NO_SCHEMA_CAN_STATE:
            return None
        raise


def _next_year(day: Any) -> Any:
    """``YYYY-MM-DD`` moved to the same day next year (28 February for a 29th); else unchanged."""
    if not isinstance(day, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day):
        return day
    year = dt.datetime.now(dt.UTC).year + 1
    month, mday = int(day[5:7]), int(day[8:10])
    if (month, mday) == (2, 29) and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        mday = 28
    return f"{year:04d}-{month:02d}-{mday:02d}"


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    """Valid appointment and group forms (and closing forms' next appointment) get a date next
    year; valid group forms invite the people of the test's two cases."""
    meta = case.meta
    if case.operation.label not in _TIMED or meta is None or not meta.generation.mode.is_positive:
        return case
    body = case.body if isinstance(case.body, dict) else {}
    form = body.get("next_appointment") if case.operation.label == _FORMS[2] else body
    if isinstance(form, dict) and "date" in form:
        form["date"] = _next_year(form["date"])
    if case.operation.label == _GROUP and "people" in body:
        body["people"] = [{"case_id": case_id} for case_id in GROUP_CASES]
        body["workers"] = []
    return case
