"""The settings table and the typed ``Config`` say the same thing (server/base/settings.py).

``SETTINGS`` drives the environment variables, the TOML file, ``--help`` and the README;
``Config`` gives each setting a static type that mypy checks at every use. Nothing at run time
ties the two but ``load``, so these tests do: a row without its attribute (or the reverse), a
different order, a different type, a ``Literal`` that allows other values than the row's
``choices``, or a default the row's own conversion would not give back, each fails here.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest

from server import cli
from server.base import settings


def disagreements(table: tuple[settings.Setting, ...], config_class: type) -> list[str]:
    """Every way ``table`` and the attributes of ``config_class`` differ, in words."""
    problems = []
    rows = [s.name for s in table]
    attributes = [f.name for f in dataclasses.fields(config_class)]
    problems += [f"row {n} has no attribute" for n in rows if n not in attributes]
    problems += [f"attribute {n} has no row" for n in attributes if n not in rows]
    if not problems and rows != attributes:
        problems.append("rows and attributes are not in the same order")
    hints = typing.get_type_hints(config_class)
    for s in table:
        if s.name not in hints:
            continue
        hint = hints[s.name]
        if s.choices:
            if s.type is not str or typing.get_origin(hint) is not typing.Literal:
                problems.append(f"{s.name}: a row with choices is a Literal of text")
            elif typing.get_args(hint) != s.choices:
                problems.append(f"{s.name}: Literal{list(typing.get_args(hint))} but choices "
                                f"{list(s.choices)}")
        elif hint is not s.type:
            problems.append(f"{s.name}: attribute {hint} but row {s.type.__name__}")
        try:
            if settings._convert(s, s.default) != s.default:
                problems.append(f"{s.name}: the default {s.default!r} does not convert to itself")
        except settings.SettingsError as exc:
            problems.append(f"{s.name}: the default is refused ({exc})")
    return problems


def test_every_row_is_a_typed_attribute_and_the_reverse():
    assert disagreements(settings.SETTINGS, settings.Config) == []


def test_a_table_that_disagrees_with_the_attributes_is_caught():
    table = settings.SETTINGS
    port = settings.BY_NAME["port"]
    level = settings.BY_NAME["log_level"]
    retyped = tuple(dataclasses.replace(s, type=str, default="8443") if s is port else s
                    for s in table)
    assert disagreements(retyped, settings.Config) == [
        "port: attribute <class 'int'> but row str"]
    assert disagreements(table[1:], settings.Config) == ["attribute host has no row"]
    extra = settings.Setting("colour", str, "blue", "A setting without an attribute.")
    assert disagreements((*table, extra), settings.Config) == ["row colour has no attribute"]
    assert disagreements((table[1], table[0], *table[2:]), settings.Config) == [
        "rows and attributes are not in the same order"]
    narrowed = tuple(dataclasses.replace(s, choices=("INFO", "ERROR")) if s is level else s
                     for s in table)
    assert disagreements(narrowed, settings.Config) == [
        "log_level: Literal['DEBUG', 'INFO', 'WARNING', 'ERROR'] but choices ['INFO', 'ERROR']"]
    bad_default = tuple(dataclasses.replace(s, default="TRACE") if s is level else s
                        for s in table)
    assert disagreements(bad_default, settings.Config) == [
        ("log_level: the default is refused (PROXIMA_LOG_LEVEL: 'TRACE' is not one of DEBUG, "
         "INFO, WARNING, ERROR)")]


def test_values_read_as_text_get_their_row_types():
    environ = {s.env: str(s.default) for s in settings.SETTINGS}
    config = settings.load(environ=environ)
    for s in settings.SETTINGS:
        value = getattr(config, s.name)
        assert type(value) is s.type and value == s.default, s.name


def test_replace_converts_like_load_and_refuses_unknown_settings():
    config = settings.load(environ={}).replace(port="9443", hsts="off", log_level="debug")
    assert (config.port, config.hsts, config.log_level) == (9443, False, "DEBUG")
    assert config.effective_public_url == "https://localhost:9443"
    assert config.replace(public_url="https://rdv.example.org").effective_public_url == \
        "https://rdv.example.org"
    with pytest.raises(settings.SettingsError, match="colour"):
        config.replace(colour="blue")
    with pytest.raises(settings.SettingsError, match="PROXIMA_PORT: 'eighty'"):
        config.replace(port="eighty")


def test_an_unknown_log_level_is_one_plain_line(monkeypatch, capsys):
    """It was a traceback from logging.basicConfig; now the setting's own refusal."""
    monkeypatch.setenv("PROXIMA_LOG_LEVEL", "verbose")
    assert cli.main(["check"]) == 2
    err = capsys.readouterr().err
    assert err == ("proxima: PROXIMA_LOG_LEVEL: 'verbose' is not one of DEBUG, INFO, WARNING, "
                   "ERROR\n")
