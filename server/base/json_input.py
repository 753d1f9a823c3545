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
import re
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


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: a float too large to be finite
        raise JsonInputError("not_finite", "numbers must be finite")
    return value


# A lone surrogate can only come from a \uD800-\uDFFF escape (UTF-8 text cannot hold one): where
# the text has no such escape, no string needs checking, only the nesting (the hot path).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB]")


_DECODER = json.JSONDecoder(parse_constant=_no_constants, parse_float=_finite)  # made once


def loads(raw: str | bytes, max_depth: int = MAX_DEPTH) -> object:
    """Parse ``raw`` and check it (see the module's docstring); raises ``JsonInputError``.

    Any JSON value may come: the caller checks that it has the shape it wants."""
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
        value = _DECODER.decode(text)
    except JsonInputError:
        raise
    except RecursionError:
        raise JsonInputError("too_deep", "nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise JsonInputError("malformed", "not valid JSON") from None
    check(value, max_depth, texts=bool(_SURROGATE_ESCAPE.search(text)))
    return value


def check(value: object, max_depth: int = MAX_DEPTH, texts: bool = True) -> None:
    """Refuse lone surrogates (unless ``texts`` is False: known to hold none), non-finite numbers
    and nesting deeper than ``max_depth``."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= max_depth:
                raise JsonInputError("too_deep", f"nested more than {max_depth} levels")
            for key, inner in item.items():
                if texts:
                    _text(key)
                stack.append((inner, depth + 1))
        elif isinstance(item, list):
            if depth >= max_depth:
                raise JsonInputError("too_deep", f"nested more than {max_depth} levels")
            stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            if texts:
                _text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise JsonInputError("not_finite", "numbers must be finite")


def _text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonInputError("bad_text", "text must be valid Unicode (no lone surrogate)") from None


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: object) -> str:
    """Compact JSON that never holds NaN or Infinity (a ``ValueError`` instead)."""
    return _ENCODER.encode(value)
