"""The layers of server/ (docs/architecture.md): nothing imports from a layer above its own, layers
side by side do not import each other, and the libraries that belong to one layer stay in it."""

from __future__ import annotations

import ast
from pathlib import Path

import server

ROOT = Path(server.__file__).resolve().parent

# Lower first. Layers of the same rank sit side by side and do not import each other.
RANKS = {"base": 0, "domain": 1, "storage": 2, "live": 2, "media": 2, "delivery": 2,
         "services": 3, "jobs": 4, "edge": 5, "app": 6, "cli": 7, "__main__": 8,
         "translations": 0}

# Libraries that belong to one layer (or to the top, which wires everything).
ONLY_IN = {
    "aiohttp": {"edge", "delivery", "app", "cli"},  # the web server; delivery: the SMS gateway
    "sqlite3": {"storage"},
    "aiortc": {"media"},
    "av": {"media"},
    "aiosmtplib": {"delivery"},
}
# The domain does no I/O of any kind.
DOMAIN_REFUSES = {"aiohttp", "sqlite3", "aiortc", "av", "aiosmtplib", "asyncio", "socket"}


def layer_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return parts[0]


def imports(path: Path) -> list[str]:
    """The modules a file imports (absolute names; relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["server", *path.relative_to(ROOT).with_suffix("").parts[:-1]]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append(module)
            found.extend(f"{module}.{alias.name}" for alias in node.names)
    return found


def modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.parts)


def test_every_module_belongs_to_a_known_layer():
    assert {layer_of(p) for p in modules()} - {"__init__"} <= set(RANKS)


def test_no_module_imports_from_a_layer_above_its_own_or_beside_it():
    wrong = []
    for path in modules():
        mine = layer_of(path)
        if mine == "__init__":
            continue
        for name in imports(path):
            parts = name.split(".")
            if parts[0] != "server" or len(parts) < 2 or parts[1] not in RANKS:
                continue
            theirs = parts[1]
            if theirs != mine and RANKS[theirs] >= RANKS[mine]:
                wrong.append(f"{path.relative_to(ROOT)} ({mine}) imports {name} ({theirs})")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_libraries_stay_in_their_layer_and_the_domain_does_no_io():
    wrong = []
    for path in modules():
        mine = layer_of(path)
        for name in imports(path):
            top = name.split(".")[0]
            if top in ONLY_IN and mine not in ONLY_IN[top]:
                wrong.append(f"{path.relative_to(ROOT)} ({mine}) imports {top}")
            if mine == "domain" and top in DOMAIN_REFUSES:
                wrong.append(f"{path.relative_to(ROOT)} (domain) imports {top}")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_modules_and_functions_stay_small():
    """No module over 400 lines, no function over 60 (STYLE.md: readable in one sitting)."""
    long_modules, long_functions = [], []
    for path in modules():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 400:
            long_modules.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 60:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} "
                                          f"{node.name}: {length} lines")
    assert not long_modules and not long_functions, "\n".join(long_modules + long_functions)
