"""Development certificates: a local CA and a server certificate for localhost and 127.0.0.1.

Made with ``cryptography``. Production uses the organisation's own certificate (certs/README.md).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_dev_certs(directory: Path, names: tuple[str, ...] = ("localhost",),
                   addresses: tuple[str, ...] = ("127.0.0.1", "::1"), force: bool = False,
                   ) -> bool:
    """Write ca.pem, ca-key.pem, server.pem and server-key.pem; False when they already exist."""
    server_pem = directory / "server.pem"
    if server_pem.exists() and not force:
        return False
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Proxima development CA"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Proxima (development)")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=825))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a))
                                             for a in addresses]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=397))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    _write(directory / "ca.pem", ca.public_bytes(pem))
    _write(directory / "ca-key.pem", _key_pem(ca_key), private=True)
    _write(server_pem, cert.public_bytes(pem) + ca.public_bytes(pem))
    _write(directory / "server-key.pem", _key_pem(key), private=True)
    return True


def certificate_problem(cert_file: str, key_file: str) -> str | None:
    """What is wrong with the configured certificate, or None."""
    cert_path, key_path = Path(cert_file), Path(key_file)
    if not cert_path.exists():
        return f"certificate {cert_file} is missing (run: proxima make-certs)"
    if not key_path.exists():
        return f"private key {key_file} is missing"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, OSError) as exc:
        return f"certificate or key cannot be read: {exc}"
    if cert.not_valid_after_utc < dt.datetime.now(dt.UTC):
        return f"certificate {cert_file} expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    return None
