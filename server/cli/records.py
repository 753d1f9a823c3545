"""The commands over the audit trail, the keys and the pushes to the case-record software:
``proxima audit verify|export``, ``proxima keys new|rotate``, ``proxima webhooks
list|replay|secret``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from server.base import crypto, settings
from server.cli.common import positive, with_store
from server.storage.repositories import Store


def add_commands(sub: Any) -> None:
    """``audit``, ``keys`` and ``webhooks`` on the ``proxima`` command's subparsers."""
    audit = sub.add_parser("audit", help="check or export the audit trail").add_subparsers(
        dest="audit_command", required=True)
    verify = audit.add_parser("verify", help="check the audit trail's hash chain")
    verify.add_argument("--head", help="an entry id and hash from the logs (ID:HASH)")
    export = audit.add_parser("export", help="the audit trail as CSV (stdout or --output)")
    export.add_argument("--case", type=positive, help="only this case (its number)")
    export.add_argument("--worker", help="only what this worker did (account id or email)")
    export.add_argument("--since", help="from this day (YYYY-MM-DD, local time)")
    export.add_argument("--until", help="to this day, included (YYYY-MM-DD, local time)")
    export.add_argument("--output", help="write the CSV to this file")
    keys = sub.add_parser("keys", help="the secret key: new, rotate").add_subparsers(
        dest="keys_command", required=True)
    keys.add_parser("new", help="print a fresh secret key")
    rotate = keys.add_parser("rotate", help="re-seal every protected field under the current "
                                            "key (the old one in PROXIMA_OLD_SECRET_KEY)")
    rotate.add_argument("--batch", type=positive, default=200, help="values per transaction")
    rotate.add_argument("--batches", type=positive, help="stop after this many batches")
    hooks = sub.add_parser("webhooks", help="endpoints that receive the case records: list, "
                           "replay, secret").add_subparsers(dest="webhooks_command", required=True)
    hooks.add_parser("list", help="each endpoint, its state and queue")
    replay = hooks.add_parser("replay", help="send again the entries written in a range")
    replay.add_argument("--since", required=True, help="YYYY-MM-DD[ HH:MM], local time")
    replay.add_argument("--until", help="YYYY-MM-DD[ HH:MM], included (default: now)")
    replay.add_argument("--endpoint", help="only this endpoint (its name)")
    hooks.add_parser("secret", help="print a fresh signing secret (for PROXIMA_WEBHOOKS)")


def cmd_audit(config: settings.Config, args: argparse.Namespace) -> int:
    """``audit verify``: check the hash chain; ``audit export``: the trail as CSV."""
    from server.domain.models import Invalid
    from server.services import audit_trail

    if args.audit_command == "verify":
        head = _head(args.head) if args.head else None
        if args.head and head is None:
            print("proxima: --head takes an entry id and its hash, as the logs give them: "
                  "ID:HASH", file=sys.stderr)
            return 2
        verdict = with_store(config, lambda store: audit_trail.verify(store, head))
        print(verdict.line, file=sys.stdout if verdict.ok else sys.stderr)
        return 0 if verdict.ok else 1

    async def export(store: Store) -> str:
        worker_id = None
        if args.worker:
            number = args.worker.isascii() and args.worker.isdigit() and len(args.worker) < 19
            found = (await store.workers.get(int(args.worker)) if number else
                     (await store.workers.by_email(args.worker) or (None,))[0])
            if found is None:
                raise Invalid("--worker", "no account {worker}", worker=args.worker)
            worker_id = found.id
        wanted = audit_trail.AuditFilter(
            args.case, worker_id,
            audit_trail.parse_day("--since", args.since) if args.since else None,
            audit_trail.parse_day("--until", args.until) if args.until else None)
        return await audit_trail.export_csv(store, "cli", wanted, config.timezone)

    try:
        text = with_store(config, export)
    except Invalid as exc:
        print(f"proxima: {exc}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _head(text: str) -> tuple[int, str] | None:
    entry, _, digest = text.partition(":")
    if not (entry.isascii() and entry.isdigit() and len(digest) == 64):
        return None
    return int(entry), digest


def cmd_keys(config: settings.Config, args: argparse.Namespace) -> int:
    """``keys new``: print a fresh secret key; ``keys rotate``: re-seal under the current key."""
    from server.storage import key_rotation

    if args.keys_command == "new":
        print(crypto.new_secret_key().decode("ascii"))
        return 0

    async def rotate(store: Store) -> tuple[int, int]:
        sealer = store.cases.sealer
        done, left = await key_rotation.rotate(
            store.db, sealer, args.batch, args.batches,
            lambda total: print(f"re-sealed {total} values so far", flush=True))
        await store.audit.record("cli", "rotate_keys", "ok" if left == 0 else "partial",
                                 target=f"{done} values re-sealed, {left} left")
        return done, left

    try:
        done, left = with_store(config, rotate)
    except key_rotation.RotationProblem as exc:
        print(f"proxima: {exc}", file=sys.stderr)
        return 2
    if left:
        print(f"Stopped: {done} values re-sealed, {left} still sealed with the old key; run "
              "`proxima keys rotate` again to finish (keep PROXIMA_OLD_SECRET_KEY until then).")
        return 3
    print(f"Done: {done} values re-sealed; every protected field is sealed with the current "
          "key. PROXIMA_OLD_SECRET_KEY may now be emptied (then restart Proxima).")
    return 0


def cmd_webhooks(config: settings.Config, args: argparse.Namespace) -> int:
    """``webhooks list``, ``webhooks replay --since ...``, ``webhooks secret``."""
    from server.domain.models import Invalid
    from server.services import webhooks

    wanted = {k: getattr(args, k, None) for k in ("since", "until", "endpoint")}
    try:
        lines = [webhooks.new_secret()] if args.webhooks_command == "secret" else with_store(
            config, lambda s: webhooks.command(s, config.timezone, args.webhooks_command, **wanted))
    except Invalid as exc:
        print(f"proxima: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0
