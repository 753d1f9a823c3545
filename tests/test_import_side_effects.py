"""Importing Proxima changes no library: what is patched is patched by an explicit call at start-up
(``server.media.audio_level.install()``), never as a side effect of importing a module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# In a fresh interpreter: load the libraries, note every attribute of their modules, import every
# module of ``server``, and print what changed in the libraries' modules.
PROBE = r"""
import importlib, pkgutil, sys
import aiohttp, aioice, aiortc, av, aiosmtplib, cryptography, jinja2  # noqa: E401
LIBRARIES = ("aiohttp", "aioice", "aiortc", "av", "aiosmtplib", "cryptography", "jinja2")

def library_modules():
    return {name: module for name, module in list(sys.modules.items())
            if module is not None and name.split(".")[0] in LIBRARIES}

before = {name: dict(vars(module)) for name, module in library_modules().items()}
import server
for info in pkgutil.walk_packages(server.__path__, "server."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
for name, module in library_modules().items():
    for attribute, value in before.get(name, {}).items():
        if vars(module).get(attribute, None) is not value:
            print(f"{name}.{attribute}")
"""


def test_importing_the_server_patches_no_library():
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == []
