"""The node's directory and its configuration, ``DIR/node.json`` (ADR 0013: every limit is a
setting with a safe default).

Layout of a node directory (``creditx node init``)::

    DIR/node.json      this configuration
    DIR/ca.crt         provincial CA certificate (trust anchor for the gateway)
    DIR/auth.crt/.key  the node's mutual-TLS certificate and key (key 0600)
    DIR/signing.crt/.key  the record-signing certificate and key (key 0600)
    DIR/node.db        SQLite: outbox, quarantine, sync state (creditx.node.store)
    DIR/node.sock      the local API and the Departments service, a Unix socket (0600; no TCP port)
    DIR/subject.key    the node's own random key for person subject hashes (0600, NODE-041)
    DIR/gateway-signing.crt  optional: the gateway's signing certificate, to verify list checkpoints
    DIR/origin-signing.pem   the origin signing certificates of the last handshake, verified (DIST-080)
    DIR/trust-bundle.json    optional: signed trust bundle (creditx/pki/bundle.py) for origin signatures
    DIR/hall-tls.crt/.key    optional: the node-tls certificate of the hall API (``halls`` in node.json,
                             creditx/node/halls/wiring.py: the only TCP ports a node opens)
    DIR/measures.json        the gateway's signed measures list, as taken up (HALL-002)
    DIR/halls.json           the hall API's bound ports while it runs

``node.json`` may list ``departments``: ``[{"name": "tax", "list_types": ["ZDSSWF"],
"jsonl": "feeds/tax.jsonl"}]`` (list_types and jsonl optional), and ``docking`` sources
(front-end databases polled for records, see creditx/node/docking/config.py).

Invariants: DIR is 0700 and keys are 0600, created with those modes; a config that fails its
checks is refused with the setting's name and what to write instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from creditx.standard.divisions import is_region
from creditx.standard.errors import InputError
from creditx.standard.member_ids import member_id_problem

CONFIG_FILE = "node.json"
RECORD_SUITES = ("envelope", "batch")
CREDENTIAL_FILES = ("ca.crt", "auth.crt", "auth.key", "signing.crt", "signing.key")


# Limits where 0 means "whatever the gateway allows" (the request leaves the bound to it).
ZERO_MEANS_GATEWAY = frozenset({"snapshot_chunk_entries", "snapshot_chunk_bytes"})


@dataclass(frozen=True)
class Limits:
    sync_interval_s: float = 30.0  # scheduled sync; new data also triggers one
    heartbeat_interval_s: float = 60.0
    rpc_timeout_s: float = 8.0  # deadline of every unary call (a black-holed gateway: < 10 s)
    ack_timeout_s: float = 60.0  # NODE-014
    backoff_base_s: float = 1.0  # NODE-013
    backoff_cap_s: float = 300.0
    max_batch_records: int = 500  # upper bounds; the gateway's handshake may lower them
    max_message_bytes: int = 4 * 1024 * 1024
    max_in_flight_batches: int = 4
    keepalive_time_ms: int = 5_000  # SYNC-043: a black-holed stream is found within ~8 s (ping + timeout)
    keepalive_timeout_ms: int = 3_000  # SYNC-043: an unanswered keepalive ping ends the connection
    connect_timeout_ms: int = 5_000  # SYNC-043: TCP + TLS connect deadline (gRPC's default is 20 s)
    import_batch_rows: int = 500  # rows per intake transaction
    max_submit_records: int = 5_000  # records per local-API Submit call
    shutdown_grace_s: float = 10.0
    list_stale_after_s: float = 3600.0  # DIST-060: a check answer is "stale" past this
    checkpoint_interval_s: float = 300.0  # DIST-052: fetch and check the list checkpoint
    snapshot_threshold: int = 10_000  # an empty replica this far behind bootstraps by snapshot
    list_batch_changes: int = 1000  # Subscribe max_batch_changes; feed page size
    snapshot_chunk_entries: int = 0  # Snapshot max_chunk_entries asked for (0: the gateway's)
    snapshot_chunk_bytes: int = 0  # Snapshot max_chunk_bytes asked for (0: the gateway's)
    clock_warn_skew_s: float = 30.0  # SEC-080: a clock this far from the gateway's is a warning alarm
    max_clock_skew_s: float = 1800.0  # SEC-081: beyond this the node refuses to sync (critical alarm)


@dataclass(frozen=True)
class Department:
    """A city department fed from the replica (DIST-061): optional list-type filter, optional
    JSON Lines file sink (path relative to the node directory)."""

    name: str
    list_types: frozenset[str] = frozenset()
    jsonl: str = ""


@dataclass(frozen=True)
class Ops:
    """How the node is operated: its monitoring ports and its log (``"ops"`` in node.json)."""

    metrics_listen: str = "127.0.0.1:9751"  # Prometheus /metrics over HTTP ("" = off)
    health_listen: str = "127.0.0.1:9752"  # plaintext grpc.health.v1 + reflection, no certificate ("" = off)
    log_level: str = "info"  # debug, info, warning or error
    log_format: str = "json"  # json (JSON lines), logfmt or text
    log_file: str = ""  # appended to, relative to the node directory; "" = stderr


@dataclass(frozen=True)
class NodeConfig:
    name: str
    region: str
    gateway: str  # HOST:PORT
    gateway_server_name: str = ""  # TLS name to verify if not the host in `gateway`
    limits: Limits = field(default_factory=Limits)
    departments: tuple[Department, ...] = ()
    ops: Ops = field(default_factory=Ops)
    docking: tuple = ()  # creditx.node.docking.config.DockingSource, one per 前置库 source
    record_suite: str = "envelope"  # pushes as "envelope" (a signature per record, v1.0) or "batch" (SIG-040)
    gateways: tuple = ()  # more HOST:PORT gateways on the same database (standbys); sync follows the writer (SYNC-018)
    # SEC-092: the member this node speaks as: a province-level department's own node names its USCC
    # (region 370000); "" = the region (a city platform, the 370000 node)
    member: str = ""

    def __post_init__(self) -> None:
        if not self.member:
            object.__setattr__(self, "member", self.region)

    @property
    def gateway_addresses(self) -> tuple[str, ...]:
        """Every configured gateway address, ``gateway`` first (SYNC-018)."""
        return tuple(dict.fromkeys((self.gateway, *self.gateways)))

    def check(self) -> None:
        from creditx.ops.logs import check_settings

        check_settings(self.ops.log_level, self.ops.log_format)
        if not is_region(self.region):
            raise InputError(
                f"node.json: region {self.region!r} is not a Shandong division code (REC-ID-030)",
                hint="use a city code such as 370100, or 370000 for a province-level department",
            )
        problem = member_id_problem(self.member, self.region)
        if problem:
            raise InputError(
                f"node.json: member: {problem} (SEC-092)",
                hint="a department's own node: its 统一社会信用代码 with region 370000; a city: leave member out",
            )
        for address in (self.gateway, *self.gateways):
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise InputError(
                    f"node.json: gateway {address!r} is not HOST:PORT",
                    hint="write the gateway address as e.g. gateway.example:7443",
                )
        for f in dataclasses.fields(Limits):
            value = getattr(self.limits, f.name)
            if value < 0 or (value == 0 and f.name not in ZERO_MEANS_GATEWAY):
                raise InputError(
                    f"node.json: limits.{f.name} must be positive", hint=f"remove it to use the default {f.default}"
                )
        if self.record_suite not in RECORD_SUITES:
            raise InputError(
                f"node.json: record_suite {self.record_suite!r} is not one of {', '.join(RECORD_SUITES)}",
                hint='"envelope" signs every record (v1.0); "batch" signs one checkpoint per pushed batch (SIG-040)',
            )
        names = [d.name for d in self.departments]
        for d in self.departments:
            if not d.name or names.count(d.name) > 1:
                raise InputError(
                    f"node.json: departments: name {d.name!r} is empty or repeated (DIST-061)",
                    hint="give every department a unique name",
                )
            if d.jsonl and (Path(d.jsonl).is_absolute() or ".." in Path(d.jsonl).parts):
                raise InputError(
                    f"node.json: departments[{d.name}].jsonl {d.jsonl!r} must stay inside the node directory",
                    hint="write a relative path such as feeds/tax.jsonl",
                )


def load_config(directory: Path) -> NodeConfig:
    path = Path(directory) / CONFIG_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path} not found", hint=f"run: creditx node init --dir {directory} …") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not valid JSON: {exc}", hint="fix the file or run creditx node init again"
        ) from None
    known = {f.name for f in dataclasses.fields(Limits)}
    unknown = set(raw.get("limits", {})) - known
    if unknown:
        raise InputError(f"{path}: unknown limits {sorted(unknown)}", hint=f"known limits: {sorted(known)}")
    known_ops = {f.name for f in dataclasses.fields(Ops)}
    unknown = set(raw.get("ops", {})) - known_ops
    if unknown:
        raise InputError(f"{path}: unknown ops settings {sorted(unknown)}", hint=f"known: {sorted(known_ops)}")
    try:
        cfg = NodeConfig(
            raw["name"],
            raw["region"],
            raw["gateway"],
            raw.get("gateway_server_name", ""),
            Limits(**raw.get("limits", {})),
            tuple(
                Department(d["name"], frozenset(d.get("list_types", ())), d.get("jsonl", ""))
                for d in raw.get("departments", ())
            ),
            Ops(**raw.get("ops", {})),
            _docking(raw.get("docking", [])),
            raw.get("record_suite", "envelope"),
            _addresses(raw.get("gateways", [])),
            str(raw.get("member", "")),
        )
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path}: missing setting {exc}", hint="run creditx node init again") from None
    cfg.check()
    return cfg


def _addresses(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise InputError(
            "node.json: gateways must be a list of HOST:PORT strings (SYNC-018)",
            hint='write e.g. "gateways": ["gateway-b.example:9741"]',
        )
    return tuple(raw)


def _docking(raw: list) -> tuple:
    from creditx.node.docking.config import parse_docking

    return parse_docking(raw) if raw else ()


def _copy_private(src: Path, dst: Path, mode: int) -> None:
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
        shutil.copyfileobj(inp, out)
    os.chmod(dst, mode)


def check_certificate_member(certs: Path, member: str, *, flag: str = "--member") -> None:
    """SEC-096: the node's certificates must name the member it is configured as (a department's
    own node: its member URI; a city platform or the 370000 node: none, or its region)."""
    from creditx.pki.files import read_cert
    from creditx.pki.profiles import read_facts

    for f in ("auth.crt", "signing.crt"):
        if not (certs / f).is_file():
            continue  # a missing credential is named where it is needed
        try:
            facts = read_facts(read_cert(certs / f))
        except (ValueError, OSError) as exc:
            raise InputError(
                f"{certs / f}: cannot read the certificate: {exc}",
                hint="point at the output of: creditx certs issue-node",
            ) from None
        named = facts.members[0] if facts.members else (facts.regions[0] if facts.regions else "")
        if named != member:
            raise InputError(
                f"{flag} {member} does not match {certs / f}, which is issued for member {named or '(none)'} (SEC-096)",
                hint=f"use {flag} {named}" if named else "issue node certificates with creditx certs issue-node",
            )


def _check_certificate_regions(certs: Path, region: str) -> None:
    """The node's certificates must be issued for the region it is initialised as (SEC-011):
    a mismatch would only surface later as every record refused (REGION_MISMATCH)."""
    from creditx.pki.files import read_cert
    from creditx.pki.profiles import read_facts

    for f in ("auth.crt", "signing.crt"):
        try:
            regions = read_facts(read_cert(certs / f)).regions
        except ValueError as exc:
            raise InputError(
                f"{certs / f}: cannot read the certificate: {exc}",
                hint="point --certs at the output of: creditx certs issue-node",
            ) from None
        if tuple(regions) != (region,):
            raise InputError(
                f"--region {region} does not match {certs / f}, which is issued for region "
                f"{', '.join(regions) or '(none)'}",
                hint=f"use --region {regions[0]}"
                if regions
                else "issue node certificates with creditx certs issue-node --region …",
            )


def init_node_dir(
    directory: Path,
    *,
    region: str,
    gateway: str,
    certs: Path,
    name: str = "",
    server_name: str = "",
    gateways: tuple[str, ...] = (),
    member: str = "",
    **ops: str,
) -> NodeConfig:
    """Create DIR with the credentials from CERTS (creditx/pki/files.py layout) and node.json;
    ``gateways`` are more gateways on the same database (standbys, SYNC-018)."""
    directory, certs = Path(directory), Path(certs)
    if (directory / CONFIG_FILE).exists():
        raise InputError(
            f"{directory / CONFIG_FILE} already exists: {directory} is an initialised node",
            hint="use another --dir, or edit that node.json (init never rewrites a node)",
        )
    missing = [f for f in CREDENTIAL_FILES if not (certs / f).is_file()]
    if missing:
        raise InputError(
            f"{certs}: missing credential files {missing}",
            hint="point --certs at the output of: creditx certs issue-node --region … --out DIR",
        )
    cfg = NodeConfig(
        name or f"node-{member or region}",
        region,
        gateway,
        server_name,
        ops=Ops(**ops),
        gateways=gateways,
        member=member,
    )
    cfg.check()
    _check_certificate_regions(certs, region)
    check_certificate_member(certs, cfg.member)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    for f in CREDENTIAL_FILES:
        _copy_private(certs / f, directory / f, 0o600 if f.endswith(".key") else 0o644)
    body = {
        "name": cfg.name,
        "region": cfg.region,
        **({"member": cfg.member} if cfg.member != cfg.region else {}),
        "gateway": cfg.gateway,
        "gateway_server_name": cfg.gateway_server_name,
        **({"gateways": list(cfg.gateways)} if cfg.gateways else {}),
        "limits": dataclasses.asdict(cfg.limits),
        "ops": dataclasses.asdict(cfg.ops),
    }
    tmp = directory / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, directory / CONFIG_FILE)
    subject_key(directory)
    return cfg


SUBJECT_KEY_FILE = "subject.key"


def subject_key(directory: Path) -> bytes:
    """NODE-041/REC-FP-017: the node's own random 32-byte subject key, created 0600 on first use;
    a key file of fewer than 16 or more than 64 bytes is refused (it is sent to the gateway as the
    subject index key, DIST-077, which refuses the same)."""
    from creditx.standard.lists.withheld import MAX_INDEX_KEY, MIN_INDEX_KEY

    path = Path(directory) / SUBJECT_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fd = -1
    if fd < 0:
        key = path.read_bytes()
        if not MIN_INDEX_KEY <= len(key) <= MAX_INDEX_KEY:
            raise InputError(
                f"{path} holds {len(key)} bytes; a subject key has {MIN_INDEX_KEY} to {MAX_INDEX_KEY} [REC-FP-017]",
                hint="restore the node's subject.key, or remove it and reset the replica "
                "(creditx node replica --dir DIR --reset) so a new key is made",
            )
        return key
    with os.fdopen(fd, "wb") as f:
        f.write(os.urandom(32))
    return path.read_bytes()
