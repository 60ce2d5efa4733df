"""gRPC mutual TLS from the provincial PKI: credentials, live reload, and the peer check.

* ``server_credentials`` requires a client certificate from the CA (SEC-034) and re-reads the
  server's certificate, key and CA files when they change on disk, on the next connection,
  without a restart (``grpc.dynamic_ssl_server_credentials``).
* gRPC's TLS checks the chain and validity but not CRLs nor our roles, so every server also
  installs ``IdentityInterceptor`` with its method → roles table: it verifies the peer
  certificate with ``creditx.pki.identity.verify`` (newest CRL, role, time) and ends a bad call
  with ``UNAUTHENTICATED`` (``PERMISSION_DENIED`` for a good certificate of the wrong role) and
  the reason code (SEC-034, SEC-040). Servicers read the verified peer with
  ``current_identity()`` and check nothing more about it.
* ``FileTrustSource`` re-reads ``ca.crt`` / ``crl.pem`` when they change, keeping the newest
  CRL (SEC-041).

The clock is injected (``clock=``); it is read here, at the edge, and passed into ``verify``.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import grpc

from creditx.pki.crl import load_crl
from creditx.pki.files import read_cert
from creditx.pki.identity import Identity, IdentityError, TrustStore, check_times, verify
from creditx.standard.call_status import details, trailing

_current: contextvars.ContextVar[Identity | None] = contextvars.ContextVar("creditx_peer_identity", default=None)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(paths) -> tuple:
    out: list[tuple[int, int, int] | None] = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def channel_credentials(ca: Path, cert: Path, key: Path) -> grpc.ChannelCredentials:
    """Client side of mutual TLS: trust the provincial CA, present ``cert``/``key``."""
    return grpc.ssl_channel_credentials(
        root_certificates=Path(ca).read_bytes(),
        private_key=Path(key).read_bytes(),
        certificate_chain=Path(cert).read_bytes(),
    )


class _ServerCertificates:
    """The fetcher gRPC calls before every handshake: a new configuration when a file changed,
    else None (keep the current one)."""

    def __init__(self, cert: Path, key: Path, ca: Path) -> None:
        self.paths = (Path(cert), Path(key), Path(ca))
        self._lock = threading.Lock()
        self._stamp = _stamp(self.paths)
        self.reloads = 0

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        cert, key, ca = (p.read_bytes() for p in self.paths)
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def __call__(self) -> grpc.ServerCertificateConfiguration | None:
        with self._lock:
            stamp = _stamp(self.paths)
            if stamp == self._stamp or None in stamp:
                return None
            try:
                config = self.configuration()
            except (OSError, ValueError):
                return None  # keep serving with the previous certificate
            self._stamp = stamp
            self.reloads += 1
            return config


def server_credentials(cert: Path, key: Path, ca: Path, *, reload: bool = True) -> grpc.ServerCredentials:
    """Server side of mutual TLS: present ``cert``/``key``, require a client certificate
    issued by ``ca``; with ``reload`` pick up replaced files on the next connection."""
    fetcher = _ServerCertificates(cert, key, ca)
    if not reload:
        return grpc.ssl_server_credentials(
            [(Path(key).read_bytes(), Path(cert).read_bytes())],
            root_certificates=Path(ca).read_bytes(),
            require_client_auth=True,
        )
    # The fetcher returns None for "keep the current configuration", as gRPC documents; the stub omits it.
    return grpc.dynamic_ssl_server_credentials(
        fetcher.configuration(),
        fetcher,  # type: ignore[arg-type]
        require_client_authentication=True,
    )


class FileTrustSource:
    """A callable returning the current TrustStore from ``ca.crt`` and ``crl.pem``, re-read
    when either file changes; an older CRL never replaces a newer one (SEC-041)."""

    def __init__(self, ca: Path, crl: Path | None = None) -> None:
        self.ca_path, self.crl_path = Path(ca), (Path(crl) if crl else None)
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._store: TrustStore | None = None

    def __call__(self) -> TrustStore:
        paths = (self.ca_path,) + ((self.crl_path,) if self.crl_path else ())
        with self._lock:
            stamp = _stamp(paths)
            if stamp != self._stamp or self._store is None:
                store = TrustStore(read_cert(self.ca_path))
                if self._store is not None and self._store.ca == store.ca:
                    store = self._store
                if self.crl_path and self.crl_path.exists():
                    store = store.with_crl(load_crl(self.crl_path))
                self._store, self._stamp = store, stamp
            return self._store


def peer_certificate(context: grpc.ServicerContext) -> bytes | None:
    """The PEM certificate the TLS peer presented, from gRPC's auth context."""
    # gRPC maps each property to a list of values; the stub types them as one bytes.
    auth = cast(Mapping[str, Sequence[bytes]], context.auth_context() or {})
    pems = auth.get("x509_pem_cert") or []
    return pems[0] if pems else None


def peer_identity(
    context: grpc.ServicerContext, trust: TrustStore, *, roles, at: datetime, verifier: Callable[..., Identity] = verify
) -> Identity:
    """Verify the TLS peer of this call; IdentityError if there is none or it is not good.
    ``verifier`` is :func:`creditx.pki.identity.verify` or a cache in front of it."""
    pem = peer_certificate(context)
    if pem is None:
        raise IdentityError("CERT_MALFORMED", "the peer presented no client certificate")
    return verifier(pem, trust, at=at, roles=roles)


def current_identity() -> Identity | None:
    """The verified peer of the call being served (set by IdentityInterceptor)."""
    return _current.get()


METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
EXEMPT: tuple[str, ...] = ()  # roles value of a method prefix served without a role/CRL check


def reverify(identity: Identity, trust: TrustStore, at: datetime) -> Identity:
    """Check an identity verified at the start of a long stream again, now (newest CRL, expiry):
    a revocation ends an open stream at its next batch (SEC-042). IdentityError if not good."""
    return verify(identity.certificate, trust, at=at, roles=identity.role)


class StreamTrust:
    """An open stream's peer, checked again as the stream goes on (SEC-042).

    Against the trust store it was last verified with, a certificate's chain, markings, role
    and revocation give the same answers: only time can change them, so only the time checks
    run (:func:`creditx.pki.identity.check_times`). :class:`FileTrustSource` hands out a new
    store when ``ca.crt`` or the CRL changes, and against a new store the identity is verified
    in full — so a revocation still ends the stream at its next check. (150 Subscribe streams
    verifying a CA signature once a second each were a tenth of the fan-out's interpreter time.)"""

    __slots__ = ("identity", "_store")

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self._store: TrustStore | None = None

    def check(self, trust: TrustStore, at: datetime) -> None:
        """IdentityError unless the identity is still good at ``at`` under ``trust``."""
        who = self.identity
        if trust is self._store:
            check_times(who.serial, who.not_before, who.not_after, trust, at)
            return
        reverify(who, trust, at)
        self._store = trust


def refusal_status(reason: str) -> grpc.StatusCode:
    """SEC-034: a certificate that is not good is UNAUTHENTICATED; a good certificate of a role
    not accepted for the method is PERMISSION_DENIED."""
    return (
        grpc.StatusCode.PERMISSION_DENIED
        if reason in ("CERT_WRONG_ROLE", METHOD_NOT_ALLOWED)
        else grpc.StatusCode.UNAUTHENTICATED
    )


def refuse(
    context: grpc.ServicerContext, reason: str, rule: str, message: str, status: grpc.StatusCode | None = None
) -> None:
    """End the call with the SEC-034 status (or ``status``), in the one call-level error format
    (SYNC-016): the reason code (and rule) in the trailing metadata, ``REASON [RULE]: message`` as
    the details."""
    context.set_trailing_metadata(trailing(reason, rule))
    context.abort(status or refusal_status(reason), details(reason, message, rule=rule))


# A server's own admission rule after the certificate checks (the gateway's: SEC-094, a member the
# registry in force holds): (reason, rule, message) to refuse the good certificate, None to admit it.
Admission = Callable[[Identity], "tuple[str, str, str] | None"]


class IdentityInterceptor(grpc.ServerInterceptor):
    """The one gate of a server (SEC-034): every call's peer certificate is verified per SEC-030
    against ``method_roles`` — full method-name prefixes (``"/creditx.v1.Operator/"``) mapped to
    the roles accepted there; the longest prefix wins. A prefix mapped to ``EXEMPT`` (health,
    reflection) is served on the TLS check alone; a method no prefix names is refused
    (``METHOD_NOT_ALLOWED``): a new service is closed until the table names its roles.
    """

    def __init__(
        self,
        trust: Callable[[], TrustStore],
        method_roles: Mapping[str, tuple[str, ...]],
        *,
        clock: Callable[[], datetime] = utc_now,
        verifier: Callable[..., Identity] = verify,
        admit: Admission | None = None,
    ) -> None:
        self.trust, self.clock, self.verifier = trust, clock, verifier
        self.method_roles = dict(method_roles)
        self.admit = admit  # refused with PERMISSION_DENIED: the certificate is good, its holder not admitted

    def roles_for(self, method: str) -> tuple[str, ...] | None:
        """The roles accepted for ``method``; EXEMPT; None when no entry names it."""
        prefixes = [p for p in self.method_roles if method.startswith(p)]
        return tuple(self.method_roles[max(prefixes, key=len)]) if prefixes else None

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        roles = self.roles_for(method)
        if roles == EXEMPT:
            return handler

        def check(context: grpc.ServicerContext) -> contextvars.Token:
            if roles is None:
                refuse(
                    context,
                    METHOD_NOT_ALLOWED,
                    "SEC-034",
                    f"{method} is not in this server's method → roles table; no role may call it",
                )
            try:
                identity = peer_identity(context, self.trust(), roles=roles, at=self.clock(), verifier=self.verifier)
            except IdentityError as exc:
                refuse(context, exc.reason, exc.rule, exc.message)
            refusal = self.admit(identity) if self.admit is not None else None
            if refusal is not None:
                refuse(context, *refusal, status=grpc.StatusCode.PERMISSION_DENIED)
            return _current.set(identity)

        def unary(behaviour):
            def wrapped(request_or_iterator, context):
                token = check(context)
                try:
                    return behaviour(request_or_iterator, context)
                finally:
                    _current.reset(token)

            return wrapped

        def streaming(behaviour):
            def wrapped(request_or_iterator, context):
                token = check(context)
                try:
                    yield from behaviour(request_or_iterator, context)
                finally:
                    _current.reset(token)

            return wrapped

        codec = dict(request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(unary(handler.unary_unary), **codec)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(unary(handler.stream_unary), **codec)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(streaming(handler.unary_stream), **codec)
        return grpc.stream_stream_rpc_method_handler(streaming(handler.stream_stream), **codec)
