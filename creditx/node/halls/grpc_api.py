"""The hall API over gRPC: ``creditx.v1.Departments`` (Check, CheckMany, ReportAction) on a TCP
port with mutual TLS, for ``department`` certificates of this node's city (HALL-006), with
health checking and reflection.

Servicers translate, they don't think: the answer is :meth:`creditx.node.halls.service.Halls.check`.
The one gate is :class:`creditx.pki.tls.IdentityInterceptor` (role ``department``; health also
for node and operator certificates); this module adds the region (a department of another city
is PERMISSION_DENIED) and the per-client rate limit (RESOURCE_EXHAUSTED).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from creditx.node.halls.limits import RateLimiter
from creditx.node.halls.service import Ask, Caller, HallAnswer, Halls, department_of, subject_question
from creditx.node.replica.wire import entry_to_pb, envelope_from_pb
from creditx.pki.identity import Identity, TrustStore, verify
from creditx.pki.profiles import DEPARTMENT, NODE_AUTH, OPERATOR
from creditx.pki.tls import EXEMPT, IdentityInterceptor, current_identity, server_credentials
from creditx.standard.errors import InputError
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc

SERVICE = pb.DESCRIPTOR.services_by_name["Departments"].full_name


def answer_to_pb(a: HallAnswer) -> pb.CheckResponse:
    def measure(x) -> pb.ApplicableMeasure:
        return pb.ApplicableMeasure(
            measure_id=x.measure.id,
            kind=x.measure.kind,
            mandatory=x.measure.mandatory,
            text=x.measure.text,
            basis=x.measure.basis,
            list_types=list(x.list_types),
        )

    def record(r) -> pb.OwnRecord:
        p = "CF_" if r.type == "XZCF" else "XK_"
        f = r.fields
        return pb.OwnRecord(
            type=r.type,
            source_id=r.source_id,
            version=r.version,
            document_number=f.get(p + "WSH", ""),
            title=f.get("CF_CFLB", "") if r.type == "XZCF" else f.get("XK_XKWS", ""),
            decided_on=f.get(p + "JDRQ", ""),
            authority=f.get("CF_CFJG" if r.type == "XZCF" else "XK_XKJG", ""),
            content=f.get(p + "NR", ""),
            objection=r.objection,
            outcome=r.outcome,
        )

    b = a.base
    return pb.CheckResponse(
        memberships=[entry_to_pb(e) for e in b.memberships],
        history=[entry_to_pb(e) for e in b.history],
        applied_list_seq=b.applied_list_seq,
        last_update_unix_ms=int(b.last_update.timestamp() * 1000) if b.last_update else 0,
        stale=b.stale,
        measures=[measure(x) for x in a.measures],
        incentives=[measure(x) for x in a.incentives],
        records=[record(r) for r in a.records],
        measures_version=a.measures_version,
        check_id=a.check_id,
        subject_shown=a.subject_shown,
    )


class HallServicer(pb_grpc.DepartmentsServicer):
    def __init__(self, halls: Halls, limiter: RateLimiter, *, max_batch: int) -> None:
        self.halls, self.limiter, self.max_batch = halls, limiter, max_batch

    def _caller(self, context, cost: int = 1) -> Caller:
        who = current_identity()
        if who is None:  # the interceptor always sets it; refuse rather than assume
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "no verified department certificate [HALL-006]")
            raise AssertionError("not reached")
        if who.region != self.halls.region:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"department certificate of region {who.region}; this node serves {self.halls.region} [HALL-006]",
            )
        caller = Caller(department_of(who), f"cert:{who.serial}", who.region or "")
        if not self.limiter.allow(caller.label, cost):
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"rate limit of {caller.label} exceeded [HALL-004]; slow down and retry",
            )
        return caller

    def _ask(self, request) -> Ask:
        kind = request.subject.WhichOneof("id") or ""
        if kind == "person":
            p = request.subject.person
            q = subject_question(kind, p.id_number, p.id_type, self.halls.key)
        else:
            q = subject_question(kind, getattr(request.subject, kind) if kind else "", "", self.halls.key)
        return Ask(q, request.matter, request.department, frozenset(request.list_types))

    def _answer(self, caller: Caller, requests, context) -> list[pb.CheckResponse]:
        where = ""
        try:
            asks = []
            for i, r in enumerate(requests):
                where = f"checks[{i}]: " if len(requests) > 1 else ""
                asks.append(self._ask(r))
            where = ""
            return [answer_to_pb(a) for a in self.halls.check_many(caller, asks)]
        except InputError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, where + exc.diagnostics())
        except PermissionError as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        raise AssertionError("not reached")

    def Check(self, request, context):
        return self._answer(self._caller(context), [request], context)[0]

    def CheckMany(self, request, context):
        if len(request.checks) > self.max_batch:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{len(request.checks)} checks in one call; at most "
                f"{self.max_batch} (limits.hall_max_batch) [HALL-020]: split the call",
            )
        caller = self._caller(context, cost=max(1, len(request.checks)))
        return pb.CheckManyResponse(answers=self._answer(caller, request.checks, context))

    def ReportAction(self, request, context):
        caller = self._caller(context)
        try:
            report_id, dup = self.halls.report(caller, envelope_from_pb(request.report), bytes(request.certificate))
        except InputError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, exc.diagnostics())
        except PermissionError as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        return pb.ActionReceipt(report_id=report_id, duplicate=dup)


def serve_halls_grpc(
    servicer: HallServicer,
    listen: str,
    *,
    cert: Path,
    key: Path,
    ca: Path,
    trust: Callable[[], TrustStore],
    workers: int = 16,
    verifier: Callable[..., Identity] = verify,
) -> tuple[grpc.Server, int]:
    """Start the hall gRPC server on ``listen`` (port 0 allowed); (server, bound port)."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hall-grpc"),
        interceptors=[
            IdentityInterceptor(  # the one gate (SEC-034): this server's method → roles table
                trust,
                {
                    "/creditx.v1.Departments/": (DEPARTMENT,),
                    "/grpc.health.v1.Health/": (DEPARTMENT, NODE_AUTH, OPERATOR),
                    "/grpc.reflection.v1alpha.ServerReflection/": EXEMPT,
                    "/grpc.reflection.v1.ServerReflection/": EXEMPT,
                },
                verifier=verifier,
            )
        ],
        options=[("grpc.max_receive_message_length", 1024 * 1024), ("grpc.max_send_message_length", 8 * 1024 * 1024)],
    )
    pb_grpc.add_DepartmentsServicer_to_server(servicer, server)
    hs = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(hs, server)
    reflection.enable_server_reflection(
        (SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME), server
    )
    port = server.add_secure_port(listen, server_credentials(cert, key, ca))
    if port == 0:
        raise OSError(f"cannot listen on {listen} for the hall gRPC API")
    server.start()
    for name in ("", SERVICE):
        hs.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, port
