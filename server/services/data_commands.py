"""The commands for sysadmins over personal data: ``proxima retention run [--dry-run]`` and
``proxima cases erase ID`` (``server/cli/`` registers them; the rules are
``services/retention.py`` and ``services/rights.py``). Each prints one plain line; a refusal
exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from server.base.settings import Config
from server.services import retention, rights
from server.storage import startup
from server.storage.repositories import Store

ACTOR = "cli"


def add_commands(sub: Any) -> None:
    """``retention run`` and ``cases erase`` on the ``proxima`` command's subparsers."""
    runs = sub.add_parser("retention", help="delete what has outlived its retention time").\
        add_subparsers(dest="retention_command", required=True)
    run = runs.add_parser("run", help="apply the retention policy now (also done daily)")
    run.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    cases = sub.add_parser("cases", help="a case's data: erase").add_subparsers(
        dest="cases_command", required=True)
    erase = cases.add_parser("erase", help="erase a case and all the person's data (refused "
                                           "under a legal hold)")
    erase.add_argument("id", help="the case's number")


async def _run(store: Store, config: Config, args: argparse.Namespace) -> tuple[int, str]:
    if args.command == "retention":
        report = await retention.run(store, config, ACTOR, dry_run=args.dry_run)
        return 0, ("Dry run: " if args.dry_run else "Done: ") + report.summary()
    text = str(args.id)
    case_id = int(text) if text.isascii() and text.isdigit() and len(text) < 19 else 0
    exists, _ = await store.cases.assignee(case_id) if case_id else (False, None)
    if not exists:
        return 2, f"proxima: there is no case {text}"
    try:
        counts = await rights.erase(store, ACTOR, case_id)
    except rights.RightsRefused:
        return 2, (f"proxima: case {case_id} is under a legal hold: it cannot be erased until "
                   "an administrator lifts the hold")
    return 0, f"Erased case {case_id}: {sum(counts.values())} rows deleted"


def run_command(config: Config, args: argparse.Namespace) -> int:
    """Run ``retention run`` or ``cases erase`` and print its line."""
    store = startup.open_store(config)
    try:
        code, line = asyncio.run(_run(store, config, args))
    finally:
        store.db.close()
    print(line, file=sys.stdout if code == 0 else sys.stderr)
    return code
