"""The gateway's identity table (SEC-034), every method of every service: each is called with
certificates of the roles the table does not admit there, and each such call must be refused
``PERMISSION_DENIED`` or ``UNAUTHENTICATED`` before anything is served (SEC-034 admits both until
the standard settles the wrong-role code). The methods come from the protos' descriptors, so a
method added to a service is probed without a change here. A call is made with an empty request
(the gate refuses before the request is read); ``UNIMPLEMENTED`` means the gateway does not serve
that method at all, which refuses nobody anything and passes, with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from creditx.conformance.checks import Evidence, Result, failed, passed
from creditx.conformance.gateway_suite import GATEWAY, GatewayContext
from creditx.conformance.scripted_node import Call
from creditx.pki.issue import issue_department
from creditx.pki.tls import channel_credentials
from creditx.v1 import audit_pb2, exchange_pb2, lists_pb2, operator_pb2, sanctions_pb2

REFUSED = ("PERMISSION_DENIED", "UNAUTHENTICATED")
PROBE_TIMEOUT_S = 10.0
_A = {"node": "a node", "operator": "an operator", "department": "a department"}


def _credentials(ctx: GatewayContext, role: str) -> tuple[Path, Path, Path]:
    """(ca, cert, key) of a caller of ``role``: ``node``, ``operator`` or ``department``."""
    if role == "operator":
        o = ctx.operator
        return o.ca, o.cert, o.key
    if role == "node":
        n = ctx.node()
        n.close()
        return n.creds.ca, n.creds.auth_cert, n.creds.auth_key
    d = issue_department(
        ctx.ca, region="370100", name="conformance", at=datetime.now(UTC), days=2, out=ctx.root / "department"
    )
    return d.ca, d.cert, d.key


def _probe(channel: Any, m: MethodDescriptor) -> str:  # raw bytes in and out: no message types
    """Call ``m`` with an empty request; returns the status code name, or "SERVED"."""
    path = f"/{m.containing_service.full_name}/{m.name}"
    t = PROBE_TIMEOUT_S
    try:
        if m.client_streaming and m.server_streaming:
            next(iter(channel.stream_stream(path)(iter([b""]), timeout=t)), None)
        elif m.client_streaming:
            channel.stream_unary(path)(iter([b""]), timeout=t)
        elif m.server_streaming:
            next(iter(channel.unary_stream(path)(b"", timeout=t)), None)
        else:
            channel.unary_unary(path)(b"", timeout=t)
    except grpc.RpcError as exc:
        return Call.of(exc).code
    return "SERVED"


def _table_check(service: ServiceDescriptor, roles: tuple[str, ...]) -> Callable[[GatewayContext], Result]:
    def run(ctx: GatewayContext) -> Result:
        ev: list[Evidence] = []
        wrong: list[str] = []
        for role in roles:
            ca, cert, key = _credentials(ctx, role)
            opts = [("grpc.ssl_target_name_override", ctx.server_name)] if ctx.server_name else []
            channel = grpc.secure_channel(ctx.address, channel_credentials(ca, cert, key), opts)
            try:
                for m in service.methods:
                    code = _probe(channel, m)
                    ev.append(Evidence(f"{service.name}.{m.name} with {_A[role]} certificate", code))
                    if code not in (*REFUSED, "UNIMPLEMENTED"):
                        wrong.append(f"{service.name}.{m.name} ({role}: {code})")
            finally:
                channel.close()
        if wrong:
            return failed(f"served to a role the identity table does not admit: {', '.join(wrong)}", *ev)
        return passed(f"{len(ev)} calls of {len(service.methods)} methods, each refused", *ev)

    return run


# service, the roles it must refuse (chapter 07's table, SEC-034), and the check's other requirements
_TABLE: tuple[tuple[str, Any, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("GW-ROLE-EXCHANGE", exchange_pb2.DESCRIPTOR.services_by_name["Exchange"], ("operator", "department"), (), "07"),
    (
        "GW-ROLE-DISTRIBUTION",
        lists_pb2.DESCRIPTOR.services_by_name["Distribution"],
        ("operator", "department"),
        (),
        "07",
    ),
    ("GW-ROLE-AUDIT", audit_pb2.DESCRIPTOR.services_by_name["Audit"], ("department",), (), "07"),
    (
        "GW-ROLE-OPERATOR",
        operator_pb2.DESCRIPTOR.services_by_name["Operator"],
        ("node", "department"),
        ("SYNC-050",),
        "05",
    ),
    ("GW-ROLE-SANCTIONS", sanctions_pb2.DESCRIPTOR.services_by_name["Sanctions"], ("operator", "department"), (), "07"),
)

for _id, _service, _roles, _more, _chapter in _TABLE:
    GATEWAY.check(
        _id,
        (*_more, "SEC-034"),
        _chapter,
        f"every {_service.name} method refuses {' and '.join(_roles)} certificates",
    )(_table_check(_service, _roles))
