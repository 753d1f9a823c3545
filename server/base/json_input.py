"""JSON that comes from outside (a WebSocket frame, an API request body), checked once on entry.

Everything Proxima stores, relays or sends back must encode cleanly, so what enters is refused
unless it is:
- standard JSON: no ``NaN``, ``Infinity`` or ``-Infinity``, and no number so large that it becomes
  an infinite float (``1e999``);
- valid Unicode text: no lone surrogate (``"\\ud800"`` decodes to a string that UTF-8 cannot
  encode; relayed, it broke the writers of both participants);
- nested at most ``MAX_DEPTH`` levels (a deeper value blew the stack when dumped again).
"""

from __future__ import annotations

import json
import math
from typing import NoReturn

MAX_DEPTH = 16


class JsonInputError(ValueError):
    """The text is not acceptable JSON: a stable ``code`` and a plain (English) reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _no_constants(name: str) -> NoReturn:
    raise JsonInputError("not_finite", f"{name} is not a number JSON allows")


def loads(raw: str | bytes, max_depth: int = MAX_DEPTH) -> object:
    """Parse ``raw`` and check it (see the module's docstring); raises ``JsonInputError``.

    Any JSON value may come: the caller checks that it has the shape it wants."""
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except JsonInputError:
        raise
    except RecursionError:
        raise JsonInputError("too_deep", "nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise JsonInputError("malformed", "not valid JSON") from None
    check(value, max_depth)
    return value


def check(value: object, max_depth: int = MAX_DEPTH) -> None:
    """Refuse lone surrogates, non-finite numbers and nesting deeper than ``max_depth``."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _text(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise JsonInputError("not_finite", "numbers must be finite")
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise JsonInputError("too_deep", f"nested more than {max_depth} levels")
            if isinstance(item, dict):
                for key, inner in item.items():
                    _text(key)
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)


def _text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonInputError("bad_text", "text must be valid Unicode (no lone surrogate)") from None


def dumps(value: object) -> str:
    """Compact JSON that never holds NaN or Infinity (a ``ValueError`` instead)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
