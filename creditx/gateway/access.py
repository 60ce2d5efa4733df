"""Who may call what on the gateway: the method → roles table of its one identity gate (SEC-034).

``creditx.pki.tls.IdentityInterceptor`` applies it to every call of the gateway's one gRPC server
before any servicer runs; servicers read the verified caller with :func:`caller` and check
nothing more about the certificate. Health and reflection are exempt, as gRPC conventions have
it (load balancers probe them); they still need a client certificate of the provincial CA at
the TLS layer. A method the table does not name is refused.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from creditx.gateway.call_errors import BatchError
from creditx.pki.identity import Identity
from creditx.pki.profiles import NODE_AUTH, OPERATOR
from creditx.pki.tls import EXEMPT, current_identity
from creditx.standard.registry import Registry

METHOD_ROLES: dict[str, tuple[str, ...]] = {
    "/creditx.v1.Exchange/": (NODE_AUTH,),
    "/creditx.v1.Distribution/": (NODE_AUTH,),
    # DIST-078/079: the one door to a natural person's origin envelope; the servicer then checks
    # that the node sent the record or is granted its deciding body
    "/creditx.v1.Distribution/Evidence": (NODE_AUTH,),
    "/creditx.v1.Audit/": (NODE_AUTH, OPERATOR),
    "/creditx.v1.Operator/": (OPERATOR,),
    "/creditx.v1.Sanctions/": (NODE_AUTH,),  # measures list, forwarded action reports (HALL-002/040)
    "/grpc.health.v1.Health/": EXEMPT,
    "/grpc.reflection.v1alpha.ServerReflection/": EXEMPT,
    "/grpc.reflection.v1.ServerReflection/": EXEMPT,
}


def member_admission(registry: Callable[[], Registry | None]) -> Callable[[Identity], tuple[str, str, str] | None]:
    """SEC-094, at the one gate: a node whose certificate names a member id of its own (a
    department's) speaks only while the member registry in force holds that member. A region
    member (a city platform, the 370000 node) is admitted as in 1.2: without an entry it is
    granted nothing (SEC-036)."""

    def admit(ident: Identity) -> tuple[str, str, str] | None:
        if ident.role != NODE_AUTH or ident.member == ident.region:
            return None
        reg = registry()
        if reg is not None and ident.member is not None and reg.member(ident.member) is not None:
            return None
        return (
            "SEC_MEMBER_UNKNOWN",
            "SEC-094",
            f"certificate {ident.serial} names member {ident.member}, which the member registry in force "
            "does not hold: a department's node speaks only once it is registered; ask the provincial "
            "operator to add it (creditx gateway members add --member ID --region 370000 --kind department)",
        )

    return admit


def caller(context: grpc.ServicerContext) -> Identity:
    """The caller the identity gate verified for this call; fails closed when no gate ran."""
    ident = current_identity()
    if ident is None:
        raise BatchError(
            "UNAUTHENTICATED",
            "PEER_UNAUTHENTICATED",
            "no verified peer for this call: the server runs without its identity gate (SEC-034)",
        )
    return ident
