"""The wire format of the signalling protocol: messages as typed dataclasses, the registry of
message types, what a refusal carries, and the JSON of a frame.

The message types themselves are in ``messages.py``; parsing and validating a client's frame is
in ``protocol.py``, which also re-exports all of this (``from server.domain import protocol as
p``; ``p.Signal``, ``p.parse``, ``p.dump``). Specified in ``docs/protocol.md``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar, Literal, TypeVar

from server.base import json_input

VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
MAX_CHAT_CHARS = 1000
MAX_SDP_CHARS = 60_000
MAX_DEPTH = 4  # the deepest client message: {"signal": {"description": {...}}} is 2 levels


class ProtocolError(ValueError):
    """A message that cannot be accepted: a stable ``code`` and a plain message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Refused(ProtocolError):
    """A valid message that is not allowed now (not admitted, worker only...).

    Its ``message`` is a catalog id (``N_("...")``): the edge sends it translated into the
    reader's language, where a parser's message is for developers and stays in the log."""


Direction = Literal["client", "server", "both"]


@dataclasses.dataclass
class Message:
    type: ClassVar[str] = ""
    direction: ClassVar[Direction] = "both"  # to the server ("client"), from it, or both

    def to_json(self) -> dict[str, Any]:
        """The wire form: ``from_`` is sent as ``from``; absent optional values are left out."""
        out: dict[str, Any] = {"type": self.type}
        for attribute, wire in _wire_names(type(self)):
            value = getattr(self, attribute)
            if value is not None:
                out[wire] = value
        return out


MESSAGES: dict[str, type[Message]] = {}
M = TypeVar("M", bound=Message)


@typing.dataclass_transform()
def message(cls: type[M]) -> type[M]:
    """Register a message type (a dataclass, which mypy sees as one)."""
    registered = dataclasses.dataclass(cls)
    MESSAGES[registered.type] = registered
    return registered


_WIRE_NAMES: dict[type[Message], tuple[tuple[str, str], ...]] = {}


def _wire_names(cls: type[Message]) -> tuple[tuple[str, str], ...]:
    """Each field's attribute name and wire name (``from_`` is ``from``), computed once."""
    names = _WIRE_NAMES.get(cls)
    if names is None:
        names = _WIRE_NAMES[cls] = tuple((f.name, "from" if f.name == "from_" else f.name)
                                         for f in dataclasses.fields(cls))
    return names


Check = Callable[[Any], bool]


def _checker(hint: Any) -> tuple[Check, str]:
    """A check of a JSON value against a field's declared type, and the type's name."""
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType)
    if optional:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    base: type = typing.get_origin(hint) or hint
    if base is bool:
        def test(v: Any) -> bool:
            return isinstance(v, bool)
    elif base is int:
        def test(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)
    else:
        def test(v: Any) -> bool:
            return isinstance(v, base)
    if optional:
        return (lambda v: v is None or test(v)), base.__name__
    return test, base.__name__


_SCHEMAS: dict[type[Message], dict[str, tuple[str, Check, str]]] = {}


def _schema(cls: type[Message]) -> dict[str, tuple[str, Check, str]]:
    """By wire name: the attribute, its check and its type's name (computed once per type)."""
    schema = _SCHEMAS.get(cls)
    if schema is None:
        hints = typing.get_type_hints(cls)
        schema = _SCHEMAS[cls] = {wire: (attribute, *_checker(hints[attribute]))
                                  for attribute, wire in _wire_names(cls)}
    return schema


def dump(msg: Message) -> str:
    """A server message as the text of one WebSocket frame (never NaN or Infinity)."""
    return json_input.dumps(msg.to_json())


def dump_relayed(msg: Message, sender: str) -> str:
    """A client's message as relayed to another member: the same, with ``from`` set."""
    out = msg.to_json()
    out["from"] = sender
    return json_input.dumps(out)
