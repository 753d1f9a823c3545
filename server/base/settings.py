"""Proxima's settings, declared once.

Every setting is a row of ``SETTINGS``: its name, its default and a line of help. The table drives
the environment variables (``PROXIMA_<NAME>``), the optional TOML file, ``proxima --help`` and the
README's settings section (a test keeps the README in step with this table).

Precedence: environment variable, then the TOML file (``PROXIMA_CONFIG`` or ``--config``), then the
default.

``Config``, the values in force, has one typed attribute per row, in the table's order, so that
mypy checks every use of a setting; it is only ever made from the table (``load``, ``replace``),
and tests/test_settings.py fails when the rows and the attributes disagree.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from server.base import webhook_targets

WEB_DIR = Path(__file__).resolve().parents[2] / "web"


SettingValue = str | int | float | bool
SettingType = type[str] | type[int] | type[float] | type[bool]


@dataclasses.dataclass(frozen=True)
class Setting:
    """One configurable value: its name, its type, its default and what it does; ``choices``
    lists the allowed values of a text setting (a ``Literal`` in ``Config``)."""

    name: str
    type: SettingType
    default: SettingValue
    help: str
    choices: tuple[str, ...] = ()

    @property
    def env(self) -> str:
        return "PROXIMA_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("host", str, "127.0.0.1", "Address the HTTPS server listens on."),
    Setting("port", int, 8443, "Port the HTTPS server listens on."),
    Setting("public_url", str, "",
            "The address people use to reach Proxima; links in invitations start with it. "
            "Empty: made from host and port (https://localhost:<port> for a loopback host); "
            "set it behind a proxy or when people use another name."),
    Setting("data_dir", str, "data",
            "Directory holding the SQLite database and the secret key (kept 0700, its files "
            "0600)."),
    Setting("cert_file", str, "certs/server.pem", "TLS certificate chain (PEM) served over HTTPS."),
    Setting("key_file", str, "certs/server-key.pem", "Private key (PEM) of the TLS certificate."),
    Setting("ca_file", str, "certs/ca.pem",
            "Development CA certificate offered for download in the console (empty to hide it)."),
    Setting("secret_key", str, "",
            "Secret used to protect personal data at rest; when empty, the key in "
            "data_dir/secret.key is used, made on the first start only (while the database holds "
            "nothing sealed)."),
    Setting("old_secret_key", str, "",
            "While keys are rotated: the previous secret key, still accepted to open data sealed "
            "with it until `proxima keys rotate` has re-sealed everything; empty otherwise."),
    Setting("timezone", str, "Europe/Paris", "Time zone in which workers enter and read times."),
    Setting("service_name", str, "Service social", "Name of the service shown in invitations."),
    Setting("service_phone", str, "",
            "The service's phone number, shown so people know who is calling them."),
    Setting("smtp_url", str, "",
            "SMTP server for invitations: smtp://user:pass@host:587 (STARTTLS) or smtps://host:465 "
            "(TLS); empty keeps messages in the outbox for workers to send themselves."),
    Setting("mail_from", str, "proxima@localhost", "Sender address of invitation emails."),
    Setting("sms_gateway", str, "file",
            "SMS reminders: 'file' keeps them in the outbox, or an http(s):// URL template with "
            "{to} and {text} to which each SMS is posted."),
    Setting("sms_reminder_minutes", int, 120, "How long before the start an SMS reminder is sent."),
    Setting("test_slot_minutes", int, 15, "How long before the start the connection test opens."),
    Setting("link_grace_minutes", int, 60,
            "How long after the end of an appointment its link still works."),
    Setting("link_browsers_max", int, 20,
            "Browsers that may open one invitation link (mail scanners and forwarded links open "
            "it too); beyond it the link shows the worker's phone number instead."),
    Setting("session_idle_minutes", int, 30, "A worker's session ends after this much inactivity."),
    Setting("session_max_hours", int, 10,
            "A worker's session ends this long after login, whatever happens."),
    Setting("login_free_attempts", int, 3,
            "Failed logins allowed before the growing delay starts."),
    Setting("login_delay_seconds", float, 2.0,
            "First delay after too many failed logins; it doubles each time."),
    Setting("login_address_free_attempts", int, 50,
            "Failed logins allowed from one address, whatever the accounts, before the delay "
            "starts for that address (an office or a proxy shares one address)."),
    Setting("trusted_proxies", str, "",
            "Addresses (or networks, comma-separated) of your reverse proxies; only requests "
            "coming from them may name the client's address in client_address_header."),
    Setting("client_address_header", str, "X-Forwarded-For",
            "The header in which a trusted proxy names the client's address."),
    Setting("outbox_interval_seconds", float, 5.0,
            "How often the outbox looks for messages to send."),
    Setting("outbox_retry_seconds", float, 30.0,
            "First delay before a failed message is retried; it doubles each time."),
    Setting("outbox_max_attempts", int, 12,
            "Attempts at sending a message when the mail server or SMS gateway answers 'try later'"
            " or cannot be reached; then the message is marked failed for the worker to send."),
    Setting("webhooks", str, "",
            "Endpoints that receive every case-record entry, besides those added in the console: "
            "'name url secret' items separated by commas (the secret: whsec_..., from `proxima "
            "webhooks secret`); https:// only, http:// only to this machine."),
    Setting("webhook_interval_seconds", float, 5.0,
            "How often the webhook queue looks for entries to push."),
    Setting("webhook_timeout_seconds", float, 10.0,
            "How long one push may take before it counts as a timeout (and is retried)."),
    Setting("webhook_retry_seconds", float, 30.0,
            "First delay before a push that failed for now is retried; it doubles each time, "
            "with a random part."),
    Setting("webhook_retry_max_seconds", float, 3600.0, "The longest delay between two tries."),
    Setting("webhook_give_up_hours", float, 48.0,
            "How long an entry is retried before it is marked failed and shown to the "
            "administrator."),
    Setting("turn_urls", str, "",
            "Your TURN servers (coturn), comma-separated, e.g. "
            "turns:turn.example.org:443?transport=tcp; empty: no relay."),
    Setting("turn_secret", str, "",
            "coturn's static-auth-secret, to issue short-lived TURN credentials."),
    Setting("turn_ttl_seconds", int, 3600, "How long a TURN credential stays valid."),
    Setting("relay_only", bool, False,
            "Send all call media through your TURN server (iceTransportPolicy relay), so people's "
            "addresses stay hidden from each other; needs turn_urls."),
    Setting("stun_urls", str, "",
            "Your own STUN servers, comma-separated; empty: none (no public server is ever used)."),
    Setting("session_end_minutes", int, 10,
            "A session whose worker has left (and not come back) is ended and logged after this "
            "long, even if the person's page is still open."),
    Setting("test_peers_max", int, 8,
            "Connection tests running at once; beyond it the person is asked to retry in a "
            "minute."),
    Setting("upstream_kbps", int, 1200,
            "Each browser's total upstream in a call, in kbit/s, shared by its links: in a group "
            "of 6 (5 links) about 200 kbit/s of video and 32 of sound each, at 320x240 from 3 "
            "links on; one link keeps its own cap of about 500 kbit/s."),
    Setting("audit_head_minutes", float, 15.0,
            "How often the head of the audit trail's hash chain (its last entry's id and hash) "
            "is written to the log output, to check the trail against later."),
    Setting("retention_case_days", int, 730,
            "A case is deleted whole this many days after the last contact with the person (the "
            "latest entry of its record, appointment or session; CNIL: 2 years for social "
            "support files), unless it is under a legal hold; 0 keeps cases."),
    Setting("retention_test_days", int, 92,
            "Connection-test results are deleted after this many days (3 months); 0 keeps them."),
    Setting("retention_audit_days", int, 365,
            "Audit-log entries (the security log) are deleted after this many days (12 months); "
            "the chain stays verifiable from its anchor. 0 keeps them."),
    Setting("hsts", bool, True, "Send Strict-Transport-Security on HTTPS responses."),
    Setting("log_level", str, "INFO", "Logging level (DEBUG, INFO, WARNING, ERROR).",
            choices=("DEBUG", "INFO", "WARNING", "ERROR")),
)

BY_NAME = {s.name: s for s in SETTINGS}


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


def _convert(setting: Setting, raw: object) -> SettingValue:
    """``raw`` (text from the environment, a TOML value, a value given in code) as the row's type,
    or ``SettingsError`` naming the variable."""
    if isinstance(raw, setting.type) and not (setting.type is int and isinstance(raw, bool)):
        value: SettingValue = raw
    else:
        value = _parse(setting, str(raw).strip(), raw)
    if setting.choices:
        value = str(value).upper()
        if value not in setting.choices:
            raise SettingsError(f"{setting.env}: {raw!r} is not one of "
                                f"{', '.join(setting.choices)}")
    return value


def _parse(setting: Setting, text: str, raw: object) -> SettingValue:
    try:
        if setting.type is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        return setting.type(text)
    except ValueError:
        raise SettingsError(
            f"{setting.env}: {raw!r} is not a valid {setting.type.__name__}") from None


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


@dataclasses.dataclass(frozen=True)
class Config:
    """The values in force: one attribute per row of ``SETTINGS``, in the same order and of the
    row's type (a ``Literal`` of the row's ``choices``). Made by ``load`` and ``replace`` only."""

    host: str
    port: int
    public_url: str  # as set; ``effective_public_url`` is the address in force
    data_dir: str
    cert_file: str
    key_file: str
    ca_file: str
    secret_key: str
    old_secret_key: str
    timezone: str
    service_name: str
    service_phone: str
    smtp_url: str
    mail_from: str
    sms_gateway: str
    sms_reminder_minutes: int
    test_slot_minutes: int
    link_grace_minutes: int
    link_browsers_max: int
    session_idle_minutes: int
    session_max_hours: int
    login_free_attempts: int
    login_delay_seconds: float
    login_address_free_attempts: int
    trusted_proxies: str
    client_address_header: str
    outbox_interval_seconds: float
    outbox_retry_seconds: float
    outbox_max_attempts: int
    webhooks: str
    webhook_interval_seconds: float
    webhook_timeout_seconds: float
    webhook_retry_seconds: float
    webhook_retry_max_seconds: float
    webhook_give_up_hours: float
    turn_urls: str
    turn_secret: str
    turn_ttl_seconds: int
    relay_only: bool
    stun_urls: str
    session_end_minutes: int
    test_peers_max: int
    upstream_kbps: int
    audit_head_minutes: float
    retention_case_days: int
    retention_test_days: int
    retention_audit_days: int
    hsts: bool
    log_level: LogLevel

    def replace(self, **changes: object) -> Config:
        """These settings changed (converted and checked as ``load`` does), the others kept."""
        unknown = set(changes) - set(BY_NAME)
        if unknown:
            raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
        values = {s.name: getattr(self, s.name) for s in SETTINGS}
        for name, raw in changes.items():
            values[name] = _convert(BY_NAME[name], raw)
        return _config(values)

    @property
    def effective_public_url(self) -> str:
        """The address links start with: ``public_url`` as set, or else the one made from
        ``host`` and ``port``."""
        return self.public_url or served_url(self.host, self.port)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def database_path(self) -> Path:
        return self.data_path / "proxima.sqlite3"


def _config(values: Mapping[str, SettingValue]) -> Config:
    """The ``Config`` of the table's values, each already of its row's type (``_convert``).

    The one place where the table's run-time types meet the attributes' static ones: mypy cannot
    follow a value through the table, so the mapping is passed on as ``Any``, and
    tests/test_settings.py checks that every row and attribute agree in name, order and type."""
    fields: dict[str, Any] = dict(values)
    return Config(**fields)


def load(environ: Mapping[str, str] | None = None, toml_path: str | None = None) -> Config:
    """Read the settings from the environment and the optional TOML file."""
    environ = os.environ if environ is None else environ
    toml_path = toml_path or environ.get("PROXIMA_CONFIG") or None
    from_file: dict[str, object] = {}
    if toml_path:
        with open(toml_path, "rb") as f:
            from_file = tomllib.load(f)
        unknown = set(from_file) - set(BY_NAME)
        if unknown:
            raise SettingsError(f"{toml_path}: unknown settings: {', '.join(sorted(unknown))}")
    values: dict[str, SettingValue] = {}
    for s in SETTINGS:
        if s.env in environ:
            values[s.name] = _convert(s, environ[s.env])
        elif s.name in from_file:
            values[s.name] = _convert(s, from_file[s.name])
        else:
            values[s.name] = s.default
    config = _config(values)
    _check_networks(BY_NAME["trusted_proxies"], config.trusted_proxies)
    try:
        webhook_targets.parse_endpoints(config.webhooks)
    except ValueError as exc:
        raise SettingsError(f"PROXIMA_WEBHOOKS: {exc}") from None
    return config


def _check_networks(setting: Setting, text: str) -> None:
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise SettingsError(
                    f"{setting.env}: {part!r} is not an address or a network") from None


def served_url(host: str, port: int) -> str:
    """The HTTPS address of ``host``:``port`` as a browser writes it: ``localhost`` for a
    loopback address, this machine's name for all addresses (``0.0.0.0``, ``::``), no port for
    443."""
    name = host.strip("[]")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if name in ("", "localhost") or (address is not None and address.is_loopback):
        name = "localhost"
    elif address is not None and address.is_unspecified:
        name = socket.getfqdn()
    elif address is not None and address.version == 6:
        name = f"[{name}]"
    return f"https://{name}" + ("" if port == 443 else f":{port}")


def public_url_warnings(config: Config) -> list[str]:
    """Why invitation links may not reach this server (for ``proxima check`` and ``serve``)."""
    set_url = config.public_url
    url = urlsplit(config.effective_public_url)
    warnings = []
    try:
        public_port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        return [f"PROXIMA_PUBLIC_URL {set_url!r} has no valid port"]
    if set_url and public_port != config.port and not config.trusted_proxies:
        warnings.append(
            f"PROXIMA_PUBLIC_URL {set_url} is on port {public_port}, but Proxima listens on "
            f"port {config.port} (PROXIMA_PORT) and no proxy is declared "
            f"(PROXIMA_TRUSTED_PROXIES): invitation links will not reach it. Leave "
            f"PROXIMA_PUBLIC_URL empty to use {served_url(config.host, config.port)}, or "
            f"declare the proxy that serves port {public_port} in PROXIMA_TRUSTED_PROXIES.")
    listens_for_others = not _is_loopback_host(config.host)
    if listens_for_others and _is_loopback_host(url.hostname or ""):
        warnings.append(
            f"invitation links start with {config.effective_public_url}, which only this "
            f"machine can open, while Proxima listens on {config.host}: set PROXIMA_PUBLIC_URL "
            "to the address people use.")
    elif not set_url and listens_for_others:
        warnings.append(
            "PROXIMA_PUBLIC_URL is not set: invitation links start with "
            f"{config.effective_public_url}, made from PROXIMA_HOST and PROXIMA_PORT; set "
            "PROXIMA_PUBLIC_URL if people use another address.")
    return warnings


def _is_loopback_host(host: str) -> bool:
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def describe() -> str:
    """The settings table as text, for ``proxima --help``."""
    lines = ["settings (environment variable, default, meaning):"]
    for s in SETTINGS:
        lines.append(f"  {s.env} (default: {s.default!r})\n      {s.help}")
    return "\n".join(lines)
