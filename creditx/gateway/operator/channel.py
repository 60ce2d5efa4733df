"""The operator's channel to a running gateway, for ``creditx gateway status/records/stats``.

The address comes from ``--address`` or ``DIR/run.json``; the TLS name to check from
``--server-name``, else ``tls_server_name`` in ``DIR/gateway.json``, else the gateway's own
certificate (``DIR/tls/tls.crt``, see :func:`creditx.pki.names.tls_name_for`). The channel is
proved with a real call (the standard health check) so a failure names its cause: nothing
listening, a TLS name the certificate lacks, an untrusted or refused certificate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import grpc

from creditx.gateway.config import CONFIG_NAME, RUN_NAME
from creditx.pki.files import read_cert
from creditx.pki.names import certificate_names, dial_address, tls_name_for
from creditx.standard.errors import InputError, RemoteError, UnavailableError


@dataclass(frozen=True)
class OperatorTarget:
    address: str
    cert: Path
    key: Path
    ca: Path
    server_name: str = ""  # "" = the host in ``address``
    server_cert: Path | None = None


def resolve_target(
    directory: Path | None,
    *,
    address: str | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    ca: Path | None = None,
    server_name: str | None = None,
) -> OperatorTarget:
    d = directory
    if address is None:
        if d is None or not (d / RUN_NAME).exists():
            raise InputError("no gateway address", hint="give --address HOST:PORT or --dir of a running gateway")
        address = json.loads((d / RUN_NAME).read_text())["address"]
    op = (d / "operator") if d else None
    cert = cert or (op / "operator.crt" if op else None)
    key = key or (op / "operator.key" if op else None)
    ca = ca or (d / "tls" / "ca.crt" if d else None)
    for flag, p in (("--cert", cert), ("--key", key), ("--ca", ca)):
        if p is None or not p.exists():
            raise InputError(
                f"operator credentials: {flag} {p} not found",
                hint="issue one with `creditx certs issue-operator --out DIR/operator` or pass flags",
            )
    configured = ""
    if d is not None and (d / CONFIG_NAME).exists():
        try:
            configured = str(json.loads((d / CONFIG_NAME).read_text("utf-8")).get("tls_server_name", ""))
        except ValueError:
            configured = ""
    server_cert = d / "tls" / "tls.crt" if d is not None and (d / "tls" / "tls.crt").exists() else None
    address = dial_address(address)
    name = tls_name_for(address, server_cert, server_name or configured)
    assert cert is not None and key is not None and ca is not None
    return OperatorTarget(address, cert, key, ca, name, server_cert)


def open_channel(t: OperatorTarget, *, timeout: float = 10.0) -> grpc.Channel:
    """A proved channel, or an error naming why the gateway cannot be used."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from creditx.pki.tls import channel_credentials

    options = [("grpc.ssl_target_name_override", t.server_name)] if t.server_name else []
    ch = grpc.secure_channel(t.address, channel_credentials(t.ca, t.cert, t.key), options=options)
    try:
        stub = health_pb2_grpc.HealthStub(ch)
        # types-grpcio-health-checking declares HealthStub without its Check attribute
        stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout, wait_for_ready=False)  # type: ignore[attr-defined]
    except grpc.RpcError as exc:
        ch.close()
        raise _explain(t, exc) from None
    return ch


def _explain(t: OperatorTarget, exc: grpc.RpcError) -> Exception:
    code, details = exc.code(), exc.details() or ""
    low = details.lower()
    checked = t.server_name or t.address.rsplit(":", 1)[0]
    if "hostname verification" in low or "peer name" in low or "subject alt" in low:
        names = ""
        if t.server_cert is not None:
            dns, ips = certificate_names(read_cert(t.server_cert))
            names = f" (the certificate names {', '.join(dns + ips) or 'nothing'})"
        return RemoteError(
            f"TLS name check failed: the gateway's certificate is not valid for {checked!r}{names}: {details}",
            hint="give --server-name NAME, or set tls_server_name in gateway.json",
        )
    if "ssl" in low or "handshake" in low or "certificate" in low or "tls" in low:
        return RemoteError(
            f"TLS handshake with the gateway at {t.address} failed (checking name {checked!r}): {details}",
            hint="the operator certificate must come from the gateway's CA and not be revoked; --ca must be that CA",
        )
    if "connection refused" in low or "failed to connect" in low:
        return UnavailableError(
            f"gateway at {t.address} not reachable: nothing accepts connections there ({details})",
            hint="is `creditx gateway run` up? check the address in run.json or --address",
        )
    if code == grpc.StatusCode.UNAUTHENTICATED or code == grpc.StatusCode.PERMISSION_DENIED:
        return RemoteError(f"{code.name}: {details}", hint="check the operator certificate")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return UnavailableError(
            f"gateway at {t.address} did not answer in time ({details})",
            hint="is it overloaded, or is something else listening on that port?",
        )
    return UnavailableError(
        f"gateway at {t.address} not usable: {code.name}: {details}", hint="is `creditx gateway run` up?"
    )
