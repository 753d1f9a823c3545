"""Secrets and sealing: the secret key, personal data encrypted at rest, token hashing.

Personal data (names, contact details, notes, appointment topics) is stored as a sealed JSON blob:
AES-GCM with a key derived from the secret key, so a copy of the database alone reveals nothing.
Tokens (invitation links, session and browser cookies) are high-entropy random values; only their
SHA-256 is stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN_BYTES = 32  # 256 random bits; the issue asks for at least 128.


def new_token() -> str:
    """A fresh URL-safe random token of ``TOKEN_BYTES`` bytes."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


KEY_FILE = "secret.key"
SEALED_FORMAT = b"\x01"  # first byte of every sealed value (AES-GCM, key derived with HKDF)


def key_file(data_dir: Path) -> Path:
    """Where the secret key is kept when ``PROXIMA_SECRET_KEY`` is empty."""
    return data_dir / KEY_FILE


def load_secret_key(configured: str, data_dir: Path) -> bytes | None:
    """The configured secret key, else the one kept in ``data_dir/secret.key``, else None.

    Never makes a key: ``server/storage.py`` decides whether a new one may be made."""
    if configured:
        return configured.encode("utf-8")
    try:
        return key_file(data_dir).read_bytes().strip()
    except FileNotFoundError:
        return None


def create_secret_key(data_dir: Path) -> bytes:
    """Write a new random key to ``data_dir/secret.key`` (0600, on disk before it is used).

    Never replaces a key: when another process made one first, that one is returned."""
    path = key_file(data_dir)
    key = base64.urlsafe_b64encode(os.urandom(32))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    try:
        os.write(fd, key)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink()
        raise
    os.close(fd)
    directory = os.open(data_dir, os.O_RDONLY)  # the file's name is on disk too
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return key


class SealError(ValueError):
    """A sealed value could not be opened (wrong key or damaged data)."""


class Sealer:
    """Encrypts and decrypts the personal data kept in the database."""

    def __init__(self, secret_key: bytes) -> None:
        self._aead = AESGCM(_derive(secret_key, b"proxima at-rest v1"))

    def seal(self, value: object) -> bytes:
        """``value`` (anything JSON can hold) encrypted, with a fresh nonce."""
        nonce = os.urandom(12)
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return SEALED_FORMAT + nonce + self._aead.encrypt(nonce, data, None)

    def open(self, blob: bytes | None) -> Any:
        """The value ``seal`` was given (None for None). Typed Any on purpose: each repository
        sealed the shape it reads back, and makes its domain value from it."""
        if blob is None:
            return None
        if blob[:1] != SEALED_FORMAT:
            raise SealError("unknown sealed format")
        try:
            data = self._aead.decrypt(blob[1:13], blob[13:], None)
        except (InvalidTag, ValueError):  # another key, or a value cut short
            raise SealError("sealed data cannot be opened with this secret key") from None
        return json.loads(data)


def _derive(secret_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret_key)
