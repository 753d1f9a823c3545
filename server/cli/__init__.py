"""The ``proxima`` command: serve, create-worker, disable-worker, make-certs, check; the trail's
and the records' commands (audit, keys, webhooks) are ``records.py``, the personal data's
(retention, cases) ``services/data_commands.py``."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import socket
import ssl
import sys
from pathlib import Path
from urllib.parse import urlsplit

from server.base import certs, crypto, settings
from server.cli import records
from server.cli.common import with_store
from server.services import accounts, data_commands
from server.storage import startup as storage
from server.storage.db import Database, StorageUnavailable
from server.storage.repositories import Store


def cmd_serve(config: settings.Config, args: argparse.Namespace) -> int:
    from aiohttp import web

    from server.app import create_app
    from server.edge.http import AccessLogger

    problem = certs.certificate_problem(config.cert_file, config.key_file)
    if problem:
        print(f"proxima: {problem}", file=sys.stderr)
        return 2
    first = with_store(config, accounts.ensure_first_admin)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(config.cert_file, config.key_file)
    except (OSError, ssl.SSLError) as exc:
        print(f"proxima: certificate {config.cert_file} or key {config.key_file} cannot be "
              f"used: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    app = create_app(config)
    for warning in settings.public_url_warnings(config):
        print(f"proxima: warning: {warning}", file=sys.stderr, flush=True)
    print(f"Proxima is serving {config.effective_public_url} (listening on "
          f"{config.host}:{config.port}); press Ctrl+C to stop.", flush=True)
    if first is not None:  # last, so that nothing scrolls it away
        print(first_login_notice(config.effective_public_url, first[0].email, first[1]),
              flush=True)
    try:
        web.run_app(app, host=config.host, port=config.port, ssl_context=context,
                    access_log_class=AccessLogger, print=None)
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        print(f"proxima: cannot listen on {config.host}:{config.port} (PROXIMA_HOST, "
              f"PROXIMA_PORT): {exc.strerror}", file=sys.stderr)
        return 2
    return 0


def first_login_notice(url: str, email: str, password: str) -> str:
    """The first administrator's login, framed, with how to make another administrator."""
    command = _own_command()
    lines = [
        "First administrator account created (shown only this once):",
        "",
        f"  open      {url.rstrip('/')}/login",
        f"  email:    {email}",
        f"  password: {password}",
        "",
        "This password works once: you choose your own at first login.",
        "Lost it? Make another administrator account, with its own:",
        f"  {command} create-worker --role admin \\",
        '      --email you@example.org --name "Your Name"',
    ]
    width = max(len(line) for line in lines)
    edge = "  +" + "-" * (width + 2) + "+"
    return "\n".join(["", edge, *(f"  | {line.ljust(width)} |" for line in lines), edge, ""])


def _own_command() -> str:
    """How this ``proxima`` was started (``.venv/bin/proxima`` under ``make run``)."""
    invoked = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if invoked is not None and invoked.name == "proxima":
        try:
            return str(invoked.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(invoked)
    return "proxima"


def cmd_create_worker(config: settings.Config, args: argparse.Namespace) -> int:
    from server.domain.models import Invalid, Worker

    async def create(store: Store) -> tuple[Worker, str]:
        worker, password = await accounts.create_worker(store, args.email, args.name, args.phone,
                                                        args.role)
        await store.audit.record("cli", "create_worker", "ok",
                                 target=f"worker:{worker.id}:{worker.role}")
        return worker, password

    try:
        worker, password = with_store(config, create)
    except Invalid as exc:
        print(f"proxima: {exc}", file=sys.stderr)
        return 2
    print(f"Created {worker.role} {worker.email}; one-time password: {password}")
    return 0


def cmd_disable_worker(config: settings.Config, args: argparse.Namespace) -> int:
    async def disable(store: Store) -> bool:
        found = await store.workers.by_email(args.email)
        if found is None:
            return False
        await store.workers.update(found[0].id, disabled=not args.enable)
        await store.sessions.delete_for_worker(found[0].id)
        await store.audit.record("cli", "enable_worker" if args.enable else "disable_worker",
                                 "ok", target=f"worker:{found[0].id}")
        return True

    if not with_store(config, disable):
        print(f"proxima: no account with email {args.email}", file=sys.stderr)
        return 2
    print(f"{args.email} is now {'enabled' if args.enable else 'disabled'}")
    return 0


def cmd_make_certs(config: settings.Config, args: argparse.Namespace) -> int:
    directory = Path(config.cert_file).parent
    try:
        made = certs.make_dev_certs(directory, force=args.force)
    except OSError as exc:
        print(f"proxima: cannot write certificates to {directory} (PROXIMA_CERT_FILE): "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 2
    if made:
        print(f"Development certificates written to {directory}/ (CA: {directory}/ca.pem)")
    else:
        print(f"Certificates already in {directory}/ (use --force to replace them)")
    return 0


def cmd_check(config: settings.Config, args: argparse.Namespace) -> int:
    """Say what is missing or wrong; exit 1 when anything is."""
    problems: list[str] = []
    fine: list[str] = []
    problem = certs.certificate_problem(config.cert_file, config.key_file)
    (problems.append(problem) if problem else fine.append("certificate and key are readable"))
    try:
        storage.prepare_data_dir(config)
        db = Database(config.database_path)
    except StorageUnavailable as exc:
        problems.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        problems.append(f"database {config.database_path} cannot be opened: {exc}")
    else:
        try:
            sealer = storage.unlock(config, db, first_use=False)
            fine.append(f"secret key present, and it opens the data in {config.database_path}")
            if config.old_secret_key:
                fine.append(_rotation_state(db, sealer))
        except storage.KeyProblem as exc:
            problems.append(str(exc))
        ok = asyncio.run(db.writable())
        db.close()
        (fine.append(f"database {config.database_path} is writable") if ok else
         problems.append(f"database {config.database_path} is not writable"))
    if config.smtp_url:
        from server.delivery.mail import smtp_options
        try:
            opts = smtp_options(config.smtp_url)
            with socket.create_connection((opts["hostname"], opts["port"]), timeout=5):
                pass
            fine.append(f"SMTP server {opts['hostname']}:{opts['port']} is reachable")
        except (OSError, ValueError) as exc:
            problems.append(f"SMTP server unreachable: {exc}")
    else:
        fine.append("no SMTP server configured: invitations wait in the outbox for workers")
    if urlsplit(config.effective_public_url).scheme != "https":
        problems.append("PROXIMA_PUBLIC_URL should start with https://")
    warnings = settings.public_url_warnings(config)
    if not warnings:
        fine.append(f"invitation links start with {config.effective_public_url}")
    for line in fine:
        print(f"ok: {line}")
    for line in warnings:
        print(f"WARNING: {line}")
    for line in problems:
        print(f"PROBLEM: {line}")
    return 1 if problems else 0


def _rotation_state(db: Database, sealer: crypto.Sealer) -> str:
    """What ``proxima check`` says while PROXIMA_OLD_SECRET_KEY is set."""
    from server.storage.key_rotation import left_to_reseal

    left = db.run_sync(lambda c: left_to_reseal(c, sealer.prefix))
    if left:
        return (f"key rotation under way: {left} values still sealed with the old key "
                "(run `proxima keys rotate`)")
    return "key rotation done: PROXIMA_OLD_SECRET_KEY may be emptied"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="proxima", description="Proxima: secure video interviews for social work.",
        epilog=settings.describe(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="TOML file with settings (also PROXIMA_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve HTTPS")
    cw = sub.add_parser("create-worker", help="create a worker account")
    cw.add_argument("--email", required=True)
    cw.add_argument("--name", required=True)
    cw.add_argument("--phone", default="")
    cw.add_argument("--role", default="worker", choices=("worker", "facilitator", "admin"))
    dw = sub.add_parser("disable-worker", help="disable (or --enable) a worker account")
    dw.add_argument("--email", required=True)
    dw.add_argument("--enable", action="store_true")
    mc = sub.add_parser("make-certs", help="make development certificates")
    mc.add_argument("--force", action="store_true")
    sub.add_parser("check", help="say what is missing or wrong")
    records.add_commands(sub)
    data_commands.add_commands(sub)
    return p


COMMANDS = {"serve": cmd_serve, "create-worker": cmd_create_worker,
            "disable-worker": cmd_disable_worker, "make-certs": cmd_make_certs,
            "check": cmd_check, "audit": records.cmd_audit, "keys": records.cmd_keys,
            "webhooks": records.cmd_webhooks,
            "retention": data_commands.run_command, "cases": data_commands.run_command}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = settings.load(toml_path=args.config)
    except (settings.SettingsError, OSError) as exc:
        print(f"proxima: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](config, args)
    except (StorageUnavailable, storage.KeyProblem) as exc:
        print(f"proxima: {exc}", file=sys.stderr)  # one plain line, never a traceback
        return 2
    except OSError as exc:  # a start-up fault on some other path: name it and its cause
        logging.getLogger("proxima").debug("start-up fault", exc_info=True)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"proxima: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
