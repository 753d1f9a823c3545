"""The docs keep up with the code: the README's settings, the OpenAPI description, --help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from server.app import create_app
from server.base import settings

ROOT = Path(__file__).resolve().parent.parent


def readme_settings() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("<!-- settings:start")[1].split("<!-- settings:end -->")[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\| `(PROXIMA_[A-Z_]+)` \| (.*?) \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def shown(default: object) -> str:
    if isinstance(default, bool):
        return "`true`" if default else "`false`"
    return "(empty)" if default == "" else f"`{default}`"


def test_readme_settings_match_the_table():
    rows = readme_settings()
    assert set(rows) == {s.env for s in settings.SETTINGS}
    for s in settings.SETTINGS:
        assert rows[s.env] == shown(s.default), s.env


def test_help_lists_every_setting():
    out = subprocess.run([sys.executable, "-m", "server", "--help"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    for s in settings.SETTINGS:
        assert s.env in out


def api_routes_in_app() -> set[tuple[str, str]]:
    app = create_app(settings.load(environ={}), run_jobs=False)
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and route.method != "HEAD" and (path.startswith("/api/")
                                                 or path in ("/healthz", "/readyz")):
            found.add((route.method, path))
    return found


def test_openapi_describes_exactly_the_api():
    spec = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.1")
    described = {(method.upper(), path) for path, ops in spec["paths"].items()
                 for method in ops if method in ("get", "post", "put", "patch", "delete")}
    routes = api_routes_in_app()
    assert routes - described == set(), "routes missing from docs/openapi.yaml"
    assert described - routes == set(), "docs/openapi.yaml names routes that do not exist"


def test_settings_from_toml_and_environment(tmp_path):
    toml = tmp_path / "proxima.toml"
    toml.write_text('port = 9443\nservice_name = "CCAS de Lyon"\n', encoding="utf-8")
    config = settings.load(environ={"PROXIMA_PORT": "10443"}, toml_path=str(toml))
    assert config.port == 10443 and config.service_name == "CCAS de Lyon"
    toml.write_text('colour = "blue"\n', encoding="utf-8")
    try:
        settings.load(environ={}, toml_path=str(toml))
    except settings.SettingsError as exc:
        assert "colour" in str(exc)
    else:
        raise AssertionError("an unknown setting was accepted")


def test_protocol_document_describes_every_message_type():
    from server.domain import protocol
    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^### `([a-z_]+)`$", doc, re.M))
    assert set(protocol.MESSAGES) - headings == set(), "message types missing from docs/protocol.md"
    assert headings - set(protocol.MESSAGES) == set(), "docs/protocol.md names unknown types"
    assert f"version {protocol.VERSION}" in doc.lower() or f'"version": {protocol.VERSION}' in doc
