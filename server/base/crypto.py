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
LEGACY_FORMAT = b"\x01"  # first byte of a value sealed before key ids: AES-GCM, no key id
SEALED_FORMAT = b"\x02"  # first byte of every value sealed now: then the key's id, nonce, data
SEALED_FORMATS = (LEGACY_FORMAT, SEALED_FORMAT)
KEY_ID_BYTES = 8


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
    key = new_secret_key()
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
    """Encrypts and decrypts the personal data kept in the database.

    Values are sealed with the current key and carry its id (``SEALED_FORMAT``, the key id, the
    nonce, the data), so that while keys are rotated (``proxima keys rotate``) a value sealed with
    an old key is still opened with it, and the values left to re-seal are found by their prefix.
    Values sealed before key ids (``LEGACY_FORMAT``) are opened by whichever known key fits."""

    def __init__(self, secret_key: bytes, old_keys: tuple[bytes, ...] = ()) -> None:
        self.key_id = key_id(secret_key)
        # For keyed hashes in the audit trail (``AuditLog.pseudonym``), apart from sealing.
        self.pseudonym_key = _derive(secret_key, b"proxima audit pseudonym v1")
        self._aead = AESGCM(_derive(secret_key, b"proxima at-rest v1"))
        self._keys: dict[bytes, AESGCM] = {self.key_id: self._aead}
        for old in old_keys:
            self._keys.setdefault(key_id(old), AESGCM(_derive(old, b"proxima at-rest v1")))

    @property
    def prefix(self) -> bytes:
        """How every value sealed with the current key starts."""
        return SEALED_FORMAT + self.key_id

    def seal(self, value: object) -> bytes:
        """``value`` (anything JSON can hold) encrypted with the current key, fresh nonce."""
        nonce = os.urandom(12)
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self.prefix + nonce + self._aead.encrypt(nonce, data, None)

    def open(self, blob: bytes | None) -> Any:
        """The value ``seal`` was given (None for None). Typed Any on purpose: each repository
        sealed the shape it reads back, and makes its domain value from it."""
        if blob is None:
            return None
        if blob[:1] == SEALED_FORMAT:
            aead = self._keys.get(blob[1:1 + KEY_ID_BYTES])
            if aead is None:
                raise SealError("sealed with a key that is not configured")
            return _decrypt(aead, blob[1 + KEY_ID_BYTES:])
        if blob[:1] != LEGACY_FORMAT:
            raise SealError("unknown sealed format")
        for aead in self._keys.values():
            try:
                return _decrypt(aead, blob[1:])
            except SealError:
                continue
        raise SealError("sealed data cannot be opened with this secret key")


def _decrypt(aead: AESGCM, rest: bytes) -> Any:
    try:
        data = aead.decrypt(rest[:12], rest[12:], None)
    except (InvalidTag, ValueError):  # another key, or a value cut short
        raise SealError("sealed data cannot be opened with this secret key") from None
    return json.loads(data)


def key_id(secret_key: bytes) -> bytes:
    """A short public name of a key (derived apart from the sealing key: it reveals nothing)."""
    return _derive(secret_key, b"proxima key id v1")[:KEY_ID_BYTES]


def new_secret_key() -> bytes:
    """A fresh random secret key, as ``create_secret_key`` writes it."""
    return base64.urlsafe_b64encode(os.urandom(32))


def _derive(secret_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret_key)
