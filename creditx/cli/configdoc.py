"""Writes ``docs/configuration.md`` from the configuration dataclasses themselves — every key
of ``gateway.json`` and ``node.json`` with its type, default and meaning — so the page cannot
drift from the code (tests/test_configuration_doc.py fails when the file is stale).

    python -m creditx.cli.configdoc            # rewrite docs/configuration.md
    python -m creditx.cli.configdoc --check    # exit 1 if it is out of date

A key's meaning is the comment on its line in the dataclass, else its entry in
:data:`DESCRIPTIONS`, else the comment block above it. A key with neither is an
error: a new setting must say what it does.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import sys
import textwrap
import tokenize
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

DESCRIPTIONS: dict[str, str] = {
    "GatewayConfig.name": "gateway id shown to nodes; also the audit log's origin line",
    "GatewayConfig.ca_cert": "the provincial CA certificate (trust anchor for every peer)",
    "GatewayConfig.crl": "the CA's certificate revocation list, re-read every crl_reload_s",
    "GatewayConfig.tls_cert": "the gateway's TLS server certificate (also serves the status page)",
    "GatewayConfig.tls_key": "its private key (0600)",
    "GatewayConfig.signing_cert": "certificate of the key that signs receipts, checkpoints and list checkpoints",
    "GatewayConfig.signing_key": "that signing key (0600)",
    "GatewayConfig.database": "the gateway's SQLite database",
    "GatewayConfig.subject_key": "HMAC key for natural-person subject ids in natural keys (created 0600)",
    "GatewayConfig.max_batch_records": "records per Push batch at most (told to nodes in the handshake, SYNC-040)",
    "GatewayConfig.max_message_bytes": "largest gRPC message either way, bytes",
    "GatewayConfig.max_in_flight_batches": "unacknowledged batches a node may have on one Push stream",
    "GatewayConfig.max_concurrent_streams": "concurrent RPCs the server accepts in all",
    "GatewayConfig.handler_threads": "gRPC handler threads",
    "GatewayConfig.verify_workers": "signature-verification worker processes (0: in the handler thread)",
    "GatewayConfig.keepalive_time_s": "HTTP/2 keepalive ping interval, seconds",
    "GatewayConfig.keepalive_timeout_s": "a keepalive ping unanswered this long closes the connection",
    "GatewayConfig.min_ping_interval_s": "clients pinging more often than this are refused",
    "GatewayConfig.stale_after_s": "a node silent this long is shown disconnected",
    "GatewayConfig.crl_reload_s": "how often the CA certificate and CRL are re-read (SEC-041)",
    "GatewayConfig.stream_lock_timeout_s": "how long a second Push stream of the same node waits for the first",
    "GatewayConfig.shutdown_grace_s": "in-flight batches get this long to finish on shutdown",
    "GatewayConfig.list_max_batch_changes": "list changes per Subscribe batch at most (DIST-034)",
    "GatewayConfig.list_max_batch_bytes": "bytes per Subscribe batch at most (DIST-034)",
    "GatewayConfig.list_max_chunk_bytes": "bytes per Snapshot chunk at most (DIST-071)",
    "GatewayConfig.list_max_chunk_entries": "entries per Snapshot chunk at most (DIST-071)",
    "GatewayConfig.list_expiry_interval_s": "how often expired list entries are removed (DIST-021)",
    "GatewayConfig.checkpoint_interval_s": "how often a checkpoint of the audit log is signed when it grew (AUD-027)",
    "GatewayConfig.checkpoint_grace_s": "ingest stops (fails closed) when no checkpoint was signed this long (AUD-040)",
    "NodeConfig.name": "the node's name (default node-REGION)",
    "NodeConfig.region": "the node's division code, e.g. 370100; must match its certificates",
    "NodeConfig.limits": "the limits below",
    "NodeConfig.departments": "city departments fed from the list replica (see below)",
    "NodeConfig.ops": "monitoring ports and logging (see below)",
    "Limits.heartbeat_interval_s": "heartbeat to the gateway (backlog, list position), seconds",
    "Limits.backoff_cap_s": "longest wait between retries",
    "Limits.max_message_bytes": "largest gRPC message, bytes (the handshake may lower it)",
    "Limits.max_in_flight_batches": "unacknowledged batches on the Push stream",
    "Limits.keepalive_time_ms": "HTTP/2 keepalive ping interval, milliseconds",
    "Limits.keepalive_timeout_ms": "a keepalive ping unanswered this long closes the connection",
    "Limits.shutdown_grace_s": "open calls get this long to finish on shutdown",
    "Department.name": "the department's name, used by Feed and node feed --department",
    "Department.list_types": "only these list types (MD_LX codes); empty = all",
    "Department.jsonl": "append the department's changes to this JSON Lines file (relative to the node directory)",
}


def field_comments(cls: type) -> tuple[dict[str, str], dict[str, str]]:
    """(each field's trailing comment, the comment block just above it)."""
    src = textwrap.dedent(inspect.getsource(cls))
    names = {f.name for f in dataclasses.fields(cls)}
    out: dict[str, str] = {}
    above: dict[str, str] = {}
    pending: list[str] = []
    line_field: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.NAME and tok.start[1] == 4 and tok.string in names and tok.start[0] not in line_field:
            line_field[tok.start[0]] = tok.string
            if pending:
                above[tok.string] = " ".join(pending)
        elif tok.type == tokenize.COMMENT:
            text = tok.string.lstrip("#").strip()
            if tok.start[0] in line_field:
                out[line_field[tok.start[0]]] = text
            elif tok.start[1] == 4:
                pending.append(text)
        elif tok.type == tokenize.NL and tok.start[1] == 0:
            pending = []
        elif tok.type == tokenize.NEWLINE:
            pending = []
    return out, above


def _default(f: dataclasses.Field) -> str:
    if isinstance(f.default, (frozenset, tuple)):
        return f"`{json.dumps(sorted(f.default) if isinstance(f.default, frozenset) else list(f.default))}`"
    if f.default is not dataclasses.MISSING:
        return f"`{f.default!r}`".replace("'", '"')
    if f.default_factory is not dataclasses.MISSING:
        v = f.default_factory()
        if isinstance(v, (frozenset, tuple, list)):
            return f"`{json.dumps(sorted(v) if isinstance(v, frozenset) else list(v))}`"
        return "see below" if dataclasses.is_dataclass(v) else f"`{v!r}`".replace("'", '"')
    return "required"


def _type(f: dataclasses.Field) -> str:
    t: Any = f.type
    return str(t).replace("typing.", "").replace("|", "or")


def table(cls: type, prefix: str = "") -> list[str]:
    trailing, above = field_comments(cls)
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        meaning = trailing.get(f.name) or DESCRIPTIONS.get(f"{cls.__name__}.{f.name}") or above.get(f.name)
        if not meaning:
            raise ValueError(f"{cls.__name__}.{f.name} has no description: add a comment on its line")
        rows.append(f"| `{prefix}{f.name}` | {_type(f)} | {_default(f)} | {meaning.replace('|', '/')} |")
    return rows


def render() -> str:
    from creditx.gateway.config import GatewayConfig
    from creditx.node.config import Department, Limits, NodeConfig, Ops
    from creditx.node.halls.wiring import HallSettings

    out = [
        "# Configuration",
        "",
        "<!-- Generated by `python -m creditx.cli.configdoc` from the configuration dataclasses; "
        "do not edit by hand. -->",
        "",
        "Both files are JSON. Relative paths are relative to the directory holding the file. An unknown "
        "key is an error naming it, so a typo does not fall back to a default silently.",
        "",
        "## Gateway: `DIR/gateway.json`",
        "",
        "Written by `creditx gateway init` with every key at its default (`--listen`, `--name`, "
        "`--metrics-listen`, `--health-listen`, `--console-listen` set some). Logging keys can be "
        "overridden per run with `creditx gateway run --log-level/--log-format/--log-file`.",
        "",
    ]
    out += table(GatewayConfig)
    out += ["", "## Node: `DIR/node.json`", "", "Written by `creditx node init`; top-level keys:", ""]
    out += table(NodeConfig)
    out += ["", "### `limits`", ""] + table(Limits, "limits.")
    out += [
        "",
        "### `ops`",
        "",
        "Logging keys can be overridden per run with `creditx node run --log-level/--log-format/--log-file`.",
        "",
    ] + table(Ops, "ops.")
    out += ["", "### `departments` (a list of objects)", ""] + table(Department)
    out += [
        "",
        "### `halls`",
        "",
        "The hall API (HALL-006); without the section no hall port is opened. Paths are inside the node directory.",
        "",
    ] + table(HallSettings, "halls.")
    g, o = GatewayConfig(), Ops()

    def port(listen: str) -> str:
        return listen.rsplit(":", 1)[1]

    out += [
        "",
        "## Ports",
        "",
        "| port | role | what | config key |",
        "|---|---|---|---|",
        "| chosen at init (`--listen`) | gateway | mutual-TLS gRPC: Exchange, Operator, Audit, Distribution, "
        "health, reflection | `listen` |",
        f"| {port(g.metrics_listen)} | gateway | Prometheus `/metrics` (HTTP) | `metrics_listen` |",
        f"| {port(g.health_listen)} | gateway | plaintext gRPC health + reflection, no certificate | `health_listen` |",
        f"| {port(g.console_listen)} | gateway | the operator's status page (HTTPS; operator certificate or "
        "token) | `console_listen` |",
        f"| {port(o.metrics_listen)} | node | Prometheus `/metrics` (HTTP) | `ops.metrics_listen` |",
        f"| {port(o.health_listen)} | node | plaintext gRPC health + reflection, no certificate | "
        "`ops.health_listen` |",
        "| Unix socket `DIR/node.sock` | node | the local API (NodeApi, Departments) | — |",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text("utf-8") != text:
            print(f"{DOC} is out of date: run python -m creditx.cli.configdoc", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, "utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
