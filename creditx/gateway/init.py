"""``creditx gateway init``: lay out a gateway directory from the CA's gateway credentials.

Copies the gateway's TLS certificate/key, signing certificate/key, CA certificate and CRL into
``DIR/tls/`` (keys 0600 in a 0700 directory, SEC-060) and writes ``DIR/gateway.json`` with
every limit at its safe default, and version 1 of the member registry from the seed data
(``creditx.gateway.members``). Refuses to overwrite an existing configuration.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from creditx.gateway.config import CONFIG_NAME, GatewayConfig, save_config
from creditx.gateway.members import seed
from creditx.gateway.store.engine import is_url
from creditx.pki import files
from creditx.standard.errors import InputError

_COPIES = (
    (files.CA_CERT, 0o644),
    (files.CRL, 0o644),
    (files.TLS_CERT, 0o644),
    (files.TLS_KEY, 0o600),
    (files.SIGNING_CERT, 0o644),
    (files.SIGNING_KEY, 0o600),
)


def init_gateway_dir(
    directory: Path,
    creds_dir: Path,
    *,
    cfg: GatewayConfig | None = None,
    listen: str | None = None,
    name: str | None = None,
    store: str | None = None,
    **settings: Any,  # further GatewayConfig fields, e.g. metrics_listen
) -> Path:
    directory, creds_dir = Path(directory), Path(creds_dir)
    if (directory / CONFIG_NAME).exists():
        raise InputError(f"{directory / CONFIG_NAME} already exists", hint="use another --dir or edit that file")
    missing = [n for n, _ in _COPIES if not (creds_dir / n).exists()]
    if missing:
        raise InputError(
            f"{creds_dir} lacks {', '.join(missing)}",
            hint="point --ca-dir at the CA directory (its gateway/ folder is used) or at the "
            "output of `creditx certs issue-gateway --out`",
        )
    if store and is_url(store):
        check_store(store)  # before anything is written: a wrong URL leaves no half-made directory
    tls = directory / "tls"
    files.private_dir(directory)  # SEC-090: the database beside it holds ID numbers in clear
    tls.mkdir(mode=0o700, exist_ok=True)
    for name_, mode in _COPIES:
        fd = os.open(tls / name_, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write((creds_dir / name_).read_bytes())
    seed(directory, tls / files.SIGNING_KEY, datetime.now(UTC))  # SEC-036: member registry v1
    cfg = cfg or GatewayConfig()
    if listen:
        cfg = replace(cfg, listen=listen)
    if name:
        cfg = replace(cfg, name=name)
    if settings:
        cfg = replace(cfg, **settings)
    if store:
        cfg = replace(cfg, database=store)
    return save_config(directory, cfg)


def check_store(spec: str) -> None:
    """Open a PostgreSQL database once (creating and migrating its schema), or say why it cannot be used."""
    from creditx.gateway.store.engine import open_store

    try:
        open_store(spec).close()
    except Exception as exc:  # noqa: BLE001 — any reason the database refuses us is the operator's to fix
        shown = str(spec).split("@")[-1]  # never echo a password
        raise InputError(
            f"cannot open the gateway database {shown}: {type(exc).__name__}: {exc}".strip(),
            hint="for PostgreSQL give postgresql://USER@HOST:PORT/DBNAME of an existing database "
            "the user may create tables in",
        ) from None
