"""The hall API over HTTP/JSON for hall systems that don't speak gRPC (HALL-006, HALL-003).

Standard library only (``http.server.ThreadingHTTPServer`` + ``ssl``): four JSON endpoints and
an OpenAPI 3.1 document do not justify a framework. TLS always; the caller is authenticated by
a ``department`` client certificate from the provincial CA (checked with
:func:`creditx.pki.identity.verify`, newest CRL) or else by ``Authorization: Bearer <token>``
issued by the node's operator (``creditx node tokens issue``). Answers have the same shape as
the gRPC ``CheckResponse`` (proto field names), so both interfaces say the same thing.

Bounded: at most ``max_connections`` connections are served at once (others are closed at
once), a request body is at most 1 MiB, an idle connection times out, each client has a rate
limit (429). The TLS handshake runs in the connection's thread, so a slow client holds only
its own slot.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from google.protobuf import json_format

from creditx.node.halls.grpc_api import answer_to_pb
from creditx.node.halls.limits import RateLimiter
from creditx.node.halls.openapi import OPENAPI
from creditx.node.halls.service import Caller, Halls, department_of, subject_question
from creditx.node.halls.store import HallStore
from creditx.pki.identity import Identity, IdentityError, TrustStore, verify
from creditx.pki.profiles import DEPARTMENT
from creditx.standard.envelope import Envelope, SignatureError
from creditx.standard.errors import InputError

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, *, max_connections: int) -> None:
        super().__init__(addr, handler)
        self.slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def make_handler(
    halls: Halls,
    store: HallStore,
    trust: Callable[[], TrustStore],
    limiter: RateLimiter,
    *,
    max_batch: int,
    idle_timeout: float = 30.0,
    verifier: Callable[..., Identity] = verify,
):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = idle_timeout
        server_version = "creditx-hall"

        def log_message(self, fmt, *args):  # structured enough, and not on stderr per request
            log.debug("%s %s", self.address_string(), fmt % args)

        def _send(self, status: int, obj: object) -> None:
            body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if status >= 400:  # the request body may be unread: never parse it as the next request
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def _caller(self, cost: int = 1) -> Caller:
            der = self.connection.getpeercert(binary_form=True) if isinstance(self.connection, ssl.SSLSocket) else None
            if der:
                try:
                    who = verifier(der, trust(), at=halls.clock(), roles=(DEPARTMENT,))
                except IdentityError as exc:
                    raise _Refused(401, f"client certificate refused: {exc.message}") from None
                if who.region != halls.region:
                    raise _Refused(
                        403,
                        f"department certificate of region {who.region}; this node serves {halls.region} [HALL-006]",
                    )
                caller = Caller(department_of(who), f"cert:{who.serial}", who.region or "")
            else:
                auth = self.headers.get("Authorization", "")
                row = store.token_owner(auth[7:].strip()) if auth.startswith("Bearer ") else None
                if row is None:
                    raise _Refused(
                        401,
                        "a department client certificate or a valid 'Authorization: Bearer <token>' "
                        "is required [HALL-003]",
                    )
                caller = Caller(row.department, f"token:{row.token_id}", halls.region)
            if not limiter.allow(caller.label, cost):
                raise _Refused(429, f"rate limit of {caller.label} exceeded [HALL-004]; slow down and retry")
            return caller

        def _body(self) -> dict:
            try:
                n = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                n = -1
            if n < 0 or n > MAX_BODY:
                raise _Refused(413, f"request body must be 0..{MAX_BODY} bytes with a Content-Length")
            try:
                obj = json.loads(self.rfile.read(n).decode("utf-8") or "{}")
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise _Refused(400, f"request body is not UTF-8 JSON: {exc}") from None
            if not isinstance(obj, dict):
                raise _Refused(400, "request body must be a JSON object")
            return obj

        def _check(self, caller: Caller, req: object) -> dict:
            if not isinstance(req, dict):
                raise InputError("a check must be a JSON object [HALL-010]")
            subject = req.get("subject") or {}
            if not isinstance(subject, dict) or len(subject) != 1:
                raise InputError("subject: give exactly one of uscc, registration_number, person [HALL-010]")
            kind, value = next(iter(subject.items()))
            if kind == "person":
                value = value if isinstance(value, dict) else {}
                q = subject_question(
                    "person", str(value.get("id_number", "")), str(value.get("id_type", "")), halls.key
                )
            else:
                q = subject_question(str(kind), str(value), "", halls.key)
            types = req.get("list_types") or []
            a = halls.check(
                caller,
                q,
                matter=str(req.get("matter", "")),
                department=str(req.get("department", "")),
                list_types=frozenset(map(str, types if isinstance(types, list) else [])),
            )
            return json_format.MessageToDict(
                answer_to_pb(a), preserving_proto_field_name=True, always_print_fields_with_no_presence=True
            )

        def do_GET(self):
            if self.path == "/openapi.json":
                return self._send(200, OPENAPI)
            if self.path == "/healthz":
                return self._send(200, {"status": "SERVING"})
            self._send(404, {"error": f"no such resource {self.path}; see /openapi.json"})

        def do_POST(self):
            try:
                if self.path == "/v1/check":
                    body = self._body()
                    return self._send(200, self._check(self._caller(), body))
                if self.path == "/v1/check-many":
                    body = self._body()
                    checks = body.get("checks")
                    if not isinstance(checks, list) or len(checks) > max_batch:
                        raise InputError(
                            f"checks: a list of at most {max_batch} checks (limits.hall_max_batch) [HALL-020]"
                        )
                    caller = self._caller(cost=max(1, len(checks)))
                    return self._send(200, {"answers": [self._check(caller, c) for c in checks]})
                if self.path == "/v1/actions":
                    body = self._body()
                    caller = self._caller()
                    try:
                        env = Envelope.from_json_obj(body.get("report"))
                    except SignatureError as exc:
                        raise InputError(f"report: {exc.message} [HALL-030]") from None
                    cert = str(body.get("certificate", "")).encode()
                    report_id, dup = halls.report(caller, env, cert)
                    return self._send(200, {"report_id": report_id, "duplicate": dup})
                self._send(404, {"error": f"no such resource {self.path}; see /openapi.json"})
            except _Refused as exc:
                self._send(exc.status, {"error": exc.message})
            except InputError as exc:
                self._send(400, {"error": exc.message, "hint": exc.hint})
            except PermissionError as exc:
                self._send(403, {"error": str(exc)})

    return Handler


def serve_halls_http(
    halls: Halls,
    store: HallStore,
    listen: str,
    *,
    cert: Path,
    key: Path,
    ca: Path,
    trust: Callable[[], TrustStore],
    limiter: RateLimiter,
    max_batch: int,
    max_connections: int = 256,
    verifier: Callable[..., Identity] = verify,
) -> tuple[_Server, int]:
    """Start the HTTPS hall API on ``listen`` (port 0 allowed) in a thread; (server, bound port)."""
    host, _, port = listen.rpartition(":")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    ctx.load_verify_locations(str(ca))
    ctx.verify_mode = ssl.CERT_OPTIONAL  # a certificate, or else a token (HALL-003)
    server = _Server(
        (host, int(port)),
        make_handler(halls, store, trust, limiter, max_batch=max_batch, verifier=verifier),
        max_connections=max_connections,
    )
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, name="hall-http", daemon=True).start()
    return server, server.server_address[1]
