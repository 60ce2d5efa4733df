"""On-disk layout of the provincial PKI and the credentials it hands out; safe file writing.

Invariants: private keys are written 0600 and the directories that hold them 0700 (SEC-060),
created with those modes (never chmod-ed after the data is in place); nothing here prints or
logs a key. Files are replaced atomically (write to a temporary file, then ``os.replace``), so
a reader (the gateway reloading its certificate, a node reading ``crl.pem``) never sees half a
file.

CA directory (``creditx certs init-ca --dir DIR``)::

    DIR/ca.crt          the provincial root CA certificate (PEM) — give this to everyone
    DIR/ca.key          its private key (PEM, PKCS#8, optionally passphrase-encrypted), 0600
    DIR/issuance.db     SQLite issuance database: every certificate, serial, holder, role,
                        region, validity, status (valid / superseded / revoked)
    DIR/crl.pem         the current signed CRL, rewritten after every revoke (SEC-040)
    DIR/issued/<SERIAL>.crt   a copy of every certificate ever issued
    DIR/nodes/<region>-<name>/  default output of issue-node
    DIR/gateway/                default output of issue-gateway
    DIR/operators/<name>/       default output of issue-operator

A node's credentials (``creditx certs issue-node --out OUT``)::

    OUT/ca.crt          the CA certificate (trust anchor for the gateway's TLS certificate)
    OUT/auth.crt        TLS client certificate, role node-auth, EKU clientAuth
    OUT/auth.key        its private key, 0600
    OUT/signing.crt     record-signing certificate, role node-signing, creditx signing EKU
    OUT/signing.key     its private key, 0600
    OUT/crl.pem         the CRL current when the credentials were issued

The gateway's (``creditx certs issue-gateway --out OUT``)::

    OUT/ca.crt, OUT/tls.crt, OUT/tls.key            TLS server certificate, role gateway-tls
    OUT/signing.crt, OUT/signing.key                receipts / checkpoints, role gateway-signing
    OUT/crl.pem

An operator's (``creditx certs issue-operator --out OUT``)::

    OUT/ca.crt, OUT/operator.crt, OUT/operator.key  TLS client certificate, role operator

Both certificates of a node name its region in the SAN URI ``urn:creditx:region:<code>`` and
its role in ``urn:creditx:role:<role>`` (see creditx/pki/profiles.py).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
ISSUANCE_DB = "issuance.db"
CRL = "crl.pem"
CRL_URL = "crl-url"  # where the CA publishes crl.pem; named in every leaf's CRL distribution point (SEC-043)
ISSUED = "issued"

AUTH_CERT, AUTH_KEY = "auth.crt", "auth.key"
SIGNING_CERT, SIGNING_KEY = "signing.crt", "signing.key"
TLS_CERT, TLS_KEY = "tls.crt", "tls.key"
OPERATOR_CERT, OPERATOR_KEY = "operator.crt", "operator.key"
DEPARTMENT_CERT, DEPARTMENT_KEY = "department.crt", "department.key"

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents with mode 0700; tighten ``path`` if it exists."""
    path = Path(path)
    for missing in reversed([p for p in (path, *path.parents) if not p.exists()]):
        missing.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def write_atomic(path: Path, data: bytes, mode: int) -> Path:
    """Write ``data`` to ``path`` atomically; the file never exists with a wider mode."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_cert(path: Path, cert: x509.Certificate) -> Path:
    return write_atomic(path, cert.public_bytes(serialization.Encoding.PEM), PUBLIC_FILE_MODE)


def write_key(path: Path, key, passphrase: bytes | None = None) -> Path:
    """Write a private key as PKCS#8 PEM, 0600, encrypted when a passphrase is given."""
    enc = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    return write_atomic(path, data, PRIVATE_FILE_MODE)


def read_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(Path(path).read_bytes())


def read_key(path: Path, passphrase: bytes | None = None):
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=passphrase)
