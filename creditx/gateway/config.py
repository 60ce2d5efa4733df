"""Gateway configuration: paths and every limit as a setting with a safe default (ADR 0013).

Stored as ``DIR/gateway.json``. Relative paths are relative to DIR. Unknown keys are an error
naming the key, so a typo does not silently fall back to a default.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from creditx.gateway.store.engine import is_url
from creditx.standard.errors import InputError

CONFIG_NAME = "gateway.json"
RUN_NAME = "run.json"


@dataclass(frozen=True)
class GatewayConfig:
    name: str = "gateway"
    listen: str = "127.0.0.1:0"  # mutual-TLS gRPC (Exchange, Operator, Audit, Distribution)
    advertise_address: str = ""  # host:port nodes reach this gateway at, named by a standby (SYNC-018); "" = listen
    metrics_listen: str = "127.0.0.1:9741"  # Prometheus /metrics over HTTP ("" = off)
    health_listen: str = "127.0.0.1:9742"  # plaintext grpc.health.v1, no client certificate ("" = off)
    console_listen: str = "127.0.0.1:9743"  # the operator's web status page over HTTPS ("" = off)
    console_token: str = "console.token"  # file with the page's access token (created 0600 if missing)
    tls_server_name: str = ""  # TLS name operators' tools check ("" = taken from tls_cert)
    log_level: str = "info"  # debug, info, warning or error
    log_format: str = "json"  # json (JSON lines), logfmt or text
    log_file: str = ""  # appended to; "" = stderr
    ca_cert: str = "tls/ca.crt"
    crl: str = "tls/crl.pem"
    tls_cert: str = "tls/tls.crt"
    tls_key: str = "tls/tls.key"
    signing_cert: str = "tls/signing.crt"
    signing_key: str = "tls/signing.key"
    database: str = "gateway.db"
    subject_key: str = "subject.key"
    # limits (SYNC-040)
    max_batch_records: int = 500
    max_message_bytes: int = 8 * 1024 * 1024
    max_in_flight_batches: int = 4
    # SYNC-042: each caller (node, operator) gets per_node_streams + per_node_unary_calls of the
    # handler threads; 20 callers (16 cities, the province, operators) fit in 160 threads.
    max_concurrent_streams: int = 192
    handler_threads: int = 160
    per_node_streams: int = 4  # SYNC-042: concurrent streams (Push, Subscribe, Snapshot) of one caller
    per_node_unary_calls: int = 4  # SYNC-042: concurrent unary calls of one caller
    verify_workers: int = 2
    keepalive_time_s: int = 60
    keepalive_timeout_s: int = 20
    min_ping_interval_s: int = 4  # nodes ping every 5 s to find a black-holed connection
    stale_after_s: int = 300
    crl_reload_s: int = 30  # SEC-043: fetch the CA's CRL this often
    crl_url: str = ""  # "" = the CRL distribution point of tls_cert
    stream_lock_timeout_s: float = 10.0
    shutdown_grace_s: float = 10.0
    # bounds on what one node may send or cost (SYNC-041)
    max_node_name_chars: int = 128  # SYNC-041: a Handshake's node_name, printable characters
    rejected_payload_prefix_bytes: int = 1024  # SYNC-041: bytes of a rejected payload kept (with its SHA-256)
    reject_budget_bytes: int = 64 * 1024 * 1024  # SYNC-041: stored bytes of rejected records per node per window
    reject_budget_window_s: int = 3600  # SYNC-041: the window of reject_budget_bytes
    # list distribution (DIST-034, DIST-071, DIST-021)
    list_max_batch_changes: int = 500
    list_max_batch_bytes: int = 4 * 1024 * 1024
    list_max_chunk_bytes: int = 1024 * 1024
    list_max_chunk_entries: int = 2000
    list_expiry_interval_s: int = 3600
    list_expiry_clock_tolerance_s: int = 3600  # DIST-023: expiry waits while the clock and its witnesses disagree more
    list_expiry_witness_age_s: int = 3600  # DIST-023: a node's heartbeat vouches for the clock this long
    # audit checkpoints (AUD-027) and fail-closed grace (AUD-040)
    checkpoint_interval_s: int = 60
    checkpoint_grace_s: int = 300
    # the store's own tuning (bench/store_growth.py)
    store_cache_mib: int = 256  # SQLite page cache of the store's connection, MiB (the hot indexes stay in memory)

    def path(self, base: Path, name: str) -> Path:
        p = Path(getattr(self, name))
        return p if p.is_absolute() else base / p

    def database_spec(self, base: Path) -> str | Path:
        """``database`` is a SQLite file (relative to the gateway directory) or a PostgreSQL URL."""
        return self.database if is_url(self.database) else self.path(base, "database")


def load_config(directory: Path) -> GatewayConfig:
    path = Path(directory) / CONFIG_NAME
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{path} does not exist", hint="run `creditx gateway init --dir DIR --ca-dir CADIR` first"
        ) from None
    except ValueError as exc:
        raise InputError(f"{path} is not JSON: {exc}", hint="fix the file or re-run gateway init") from None
    known = {f.name for f in fields(GatewayConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{path}: unknown setting {unknown[0]!r}", hint="known: " + ", ".join(sorted(known)))
    for f in fields(GatewayConfig):
        if f.name in data and not isinstance(data[f.name], type(getattr(GatewayConfig, f.name))):
            if not (isinstance(data[f.name], int) and isinstance(getattr(GatewayConfig, f.name), float)):
                raise InputError(
                    f"{path}: setting {f.name!r} must be {type(getattr(GatewayConfig, f.name)).__name__}",
                    hint=f"default is {getattr(GatewayConfig, f.name)!r}",
                )
    return GatewayConfig(**data)


WILDCARD_HOSTS = ("0.0.0.0", "[::]", "::", "")


def advertised(cfg: GatewayConfig, host: str, port: int) -> str:
    """The address a standby names to nodes when it refuses a Push (SYNC-018): ``advertise_address``,
    else the address listened on. A wildcard listen address (``0.0.0.0:9740``) names no host a node
    could dial, so it needs ``advertise_address``; InputError otherwise."""
    if cfg.advertise_address:
        h, sep, p = cfg.advertise_address.rpartition(":")
        if not sep or not h or h in WILDCARD_HOSTS or not p.isdigit() or not 0 < int(p) < 65536:
            raise InputError(
                f"gateway.json: advertise_address {cfg.advertise_address!r} is not a host:port nodes can dial",
                hint="give this gateway's DNS name or IP address and its gRPC port, e.g. gw1.credit.example:9740",
            )
        return cfg.advertise_address
    if host in WILDCARD_HOSTS:
        raise InputError(
            f"gateway.json: listen {cfg.listen!r} is a wildcard address; a standby could not tell nodes "
            "where this gateway is",
            hint="set advertise_address to the host:port nodes reach this gateway at",
        )
    return f"{host}:{port}"


def write_json_atomic(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)


def save_config(directory: Path, cfg: GatewayConfig) -> Path:
    path = Path(directory) / CONFIG_NAME
    write_json_atomic(path, asdict(cfg))
    return path
