"""Retention: what has outlived its time is deleted, once a day, and by ``proxima retention run``
(docs/retention.md; the policy is ``domain/retention.py``).

A run deletes, in this order: the cases whose last contact is older than
``retention_case_days`` (whole, as an erasure does, one act each; never a case under a legal
hold), the group sessions none of whose persons' cases is left (planned as long ago), the
connection-test results older than ``retention_test_days``, the workers' login
sessions that no longer let anyone in, and last the audit entries older than
``retention_audit_days`` (so that the run's own entries are kept), moving the chain's anchor.
Each deletion is audited by ids and counts only (a run that found nothing writes only its day's
row). A dry run counts and deletes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from server.base import clock
from server.base.settings import Config
from server.domain.retention import JOB, RetentionPolicy, RetentionReport
from server.services.audit_trail import PRUNE_ACTION
from server.storage.repositories import Store

log = logging.getLogger("proxima.retention")


def policy(config: Config) -> RetentionPolicy:
    return RetentionPolicy(config.retention_case_days, config.retention_test_days,
                           config.retention_audit_days)


async def run(store: Store, config: Config, actor: str, dry_run: bool = False,
              ) -> RetentionReport:
    """Apply the retention policy now (or, with ``dry_run``, say what it would delete)."""
    now = clock.now()
    cutoffs = policy(config).cutoffs(now)
    report = RetentionReport(dry_run)
    report.held = len(await store.personal_data.held_cases())
    if cutoffs.last_contact is not None:
        report.cases = await store.retention.cases_past(cutoffs.last_contact)
    if not dry_run:
        for case_id in report.cases:
            await _delete_case(store, actor, case_id)
    if cutoffs.last_contact is not None:
        report.groups = await store.retention.groups_past(cutoffs.last_contact,
                                                          delete=not dry_run)
    if cutoffs.tests is not None:
        report.tests, report.test_entries = await store.retention.tests_past(
            cutoffs.tests, delete=not dry_run)
    report.logins = await store.retention.expired_logins(
        now - dt.timedelta(minutes=config.session_idle_minutes),
        now - dt.timedelta(hours=config.session_max_hours), delete=not dry_run)
    if not dry_run and report.deleted_anything:
        await store.audit.record(actor, "retention_run", "ok", target=report.summary())
    if cutoffs.audit is not None:
        report.audit_entries = await _prune_audit(store, actor, cutoffs.audit, dry_run)
    if not dry_run and (report.deleted_anything or report.audit_entries):
        await store.db.checkpoint()
    return report


async def _delete_case(store: Store, actor: str, case_id: int) -> None:
    async with store.atomic():
        counts = await store.personal_data.erase(case_id)
        if counts:  # None: a hold was set meanwhile; empty: erased meanwhile
            await store.audit.record(actor, "retention_delete_case", "ok", case_id=case_id,
                                     target=f"{sum(counts.values())} rows")


async def _prune_audit(store: Store, actor: str, before: dt.datetime, dry_run: bool) -> int:
    """Delete the audit entries older than ``before``; the prune's own entry names the new
    anchor (``proxima audit verify`` checks they agree)."""
    if dry_run:
        return await store.audit.count_before(clock.to_db(before))
    async with store.atomic():
        pruned = await store.audit.prune(clock.to_db(before))
        if pruned is None:
            return 0
        anchor, deleted = pruned
        await store.audit.record(actor, PRUNE_ACTION, "ok",
                                 target=f"{anchor.describe()} ({deleted} entries deleted)")
    return deleted


def today(config: Config) -> dt.date:
    """The service's day now (its time zone): one run per local day."""
    return clock.now().astimezone(ZoneInfo(config.timezone)).date()


async def run_daily(store: Store, config: Config, claimer: str) -> RetentionReport | None:
    """Today's run, if this process claims it first (None: already claimed, here or in another
    process)."""
    day = today(config)
    if not await store.retention.claim_day(JOB, day, claimer):
        return None
    report = await run(store, config, "retention")
    await store.retention.finish_day(JOB, day, report.summary())
    # Said only when something went: a start's first login stays the last thing on the screen.
    level = logging.INFO if report.deleted_anything or report.audit_entries else logging.DEBUG
    log.log(level, "retention %s: %s", day.isoformat(), report.summary())
    return report
