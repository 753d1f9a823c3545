"""How long each kind of data is kept (docs/retention.md): no I/O.

- **Case data**: ``case_days`` after the last contact with the person, the latest of the case's
  opening, its record's entries, its appointments' planned starts and its sessions' starts (so
  an appointment planned ahead keeps the case). CNIL's framework for social support files: two
  years after the last contact. A group session goes once none of its persons' cases is left
  and it started longer than ``case_days`` ago.
- **Connection-test results**: ``test_days`` after the test (three months): the results kept
  with the appointment and the record's entries that copy them.
- **The security log** (the audit trail): ``audit_days`` after each entry (twelve months).
  Workers' login sessions are deleted once they no longer let anyone in.

A case under a legal hold keeps everything, its test results included. A number of days of 0
(or less) keeps that kind of data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

JOB = "retention"  # the daily run's name in job_runs


@dataclasses.dataclass(frozen=True)
class RetentionPolicy:
    """The days each kind of data is kept; 0 or less: kept."""

    case_days: int
    test_days: int
    audit_days: int

    def cutoffs(self, now: dt.datetime) -> RetentionCutoffs:
        """What is older than these moments goes."""
        return RetentionCutoffs(_before(now, self.case_days), _before(now, self.test_days),
                                _before(now, self.audit_days))


@dataclasses.dataclass(frozen=True)
class RetentionCutoffs:
    """Moments before which each kind of data goes (None: it is kept)."""

    last_contact: dt.datetime | None
    tests: dt.datetime | None
    audit: dt.datetime | None


def _before(now: dt.datetime, days: int) -> dt.datetime | None:
    return now - dt.timedelta(days=days) if days > 0 else None


@dataclasses.dataclass
class RetentionReport:
    """What a run deleted, or would delete (a dry run)."""

    dry_run: bool
    cases: list[int] = dataclasses.field(default_factory=list)
    groups: list[int] = dataclasses.field(default_factory=list)
    held: int = 0
    tests: int = 0
    test_entries: int = 0
    audit_entries: int = 0
    logins: int = 0

    @property
    def deleted_anything(self) -> bool:
        """Whether the run found cases, test results or login sessions to delete (the audit
        entries are pruned after it)."""
        return bool(self.cases or self.groups or self.tests or self.test_entries
                    or self.logins)

    def summary(self) -> str:
        """One line, for the CLI, the logs and the audit entry (ids and counts only)."""
        verb = "would delete" if self.dry_run else "deleted"
        cases = ", ".join(str(c) for c in self.cases) or "none"
        groups = f", {len(self.groups)} group sessions left without any person" \
            if self.groups else ""
        return (f"{verb}: {len(self.cases)} cases ({cases}){groups}, {self.tests} connection-test "
                f"results and {self.test_entries} record entries of tests, "
                f"{self.audit_entries} audit entries, {self.logins} expired login sessions; "
                f"{self.held} cases kept under a legal hold")
