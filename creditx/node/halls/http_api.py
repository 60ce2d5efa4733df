"""The hall API over HTTP/JSON for hall systems that don't speak gRPC (HALL-006, HALL-003).

Served by uvicorn with its C-backed parts (httptools parses HTTP/1.1, uvloop runs the event
loop, the ssl module does TLS): the standard library's ``http.server`` spent more CPU per request
in header parsing and a thread per connection than the check itself (bench/check_hall.py). The
application is a plain ASGI callable — four JSON endpoints and an OpenAPI 3.1 document need no
framework. TLS always; the caller is authenticated by a ``department`` client certificate from
the provincial CA (checked with :func:`creditx.pki.identity.verify`, newest CRL) or else by
``Authorization: Bearer <token>`` issued by the node's operator (``creditx node tokens issue``).
uvicorn does not put the client certificate into the ASGI scope, so :class:`_Protocol` (its
httptools protocol) adds the ASGI TLS extension's ``client_cert_chain``. Answers have the same
shape as the gRPC ``CheckResponse`` (proto3 JSON, proto field names), so both interfaces say
the same thing.

Bounded: at most ``max_connections`` requests are in flight (uvicorn answers 503 beyond), a
request body is at most 1 MiB (413), an idle keep-alive connection is closed after
``idle_timeout`` seconds, each client has a rate limit (429). The check runs in a small thread
pool so a check that waits for the disk does not stall the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from google.protobuf import json_format
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from creditx.node.halls.grpc_api import answer_to_pb
from creditx.node.halls.limits import RateLimiter
from creditx.node.halls.openapi import OPENAPI
from creditx.node.halls.service import Applied, Ask, Caller, HallAnswer, Halls, department_of, subject_question
from creditx.node.halls.store import HallStore
from creditx.pki.identity import Identity, IdentityError, TrustStore, verify
from creditx.pki.profiles import DEPARTMENT
from creditx.standard.envelope import Envelope, SignatureError
from creditx.standard.errors import InputError
from creditx.standard.lists.lifecycle import ListEntry, State
from creditx.v1 import lists_pb2 as pb

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
_OPENAPI_BODY = json.dumps(OPENAPI, ensure_ascii=False).encode("utf-8")


# proto3 JSON names of the entry's enums, checked against the proto when the module loads.
_STATE_JSON = {
    s: pb.ListEntryState.Name(pb.ListEntryState.Value("LIST_ENTRY_STATE_" + s.value))
    for s in (State.LISTED, State.REMOVED)
}
_TEXT_FIELDS = tuple(f.name for f in pb.ListEntry.DESCRIPTOR.fields if f.type == f.TYPE_STRING)


def _reason_json(reason: str) -> str:
    return pb.RemovalReason.Name(pb.RemovalReason.Value("REMOVAL_REASON_" + (reason or "UNSPECIFIED")))


def _entry_json(e: ListEntry) -> dict:
    """A list entry as proto3 JSON of ``ListEntry`` (proto field names, every field), built
    directly: ``json_format.MessageToDict`` of the message cost more than the rest of a hit's
    answer. Equal to ``MessageToDict(entry_to_pb(e))`` (tests/node/halls)."""
    d: dict[str, object] = {name: _entry_text(e, name) for name in _TEXT_FIELDS}
    d["state"] = _STATE_JSON[e.state]
    d["removal_reason"] = _reason_json(e.removal_reason)
    d["version"] = str(e.version)  # uint64: a string in proto3 JSON
    d["origin_fingerprint"] = base64.b64encode(e.origin_fp).decode("ascii")
    d["listing"] = e.listing
    return d


def _entry_text(e: ListEntry, name: str) -> str:
    value = getattr(e, name)
    return value.isoformat() if hasattr(value, "isoformat") else (value or "")


def _measure_json(x: Applied) -> dict:
    m = x.measure
    return {
        "measure_id": m.id,
        "kind": m.kind,
        "mandatory": m.mandatory,
        "text": m.text,
        "basis": m.basis,
        "list_types": list(x.list_types),
    }


def answer_json(a: HallAnswer) -> dict:
    """The answer as proto3 JSON of ``CheckResponse`` (proto field names, every field, 64-bit
    integers as strings), built directly: ``json_format`` on the whole message costs more than
    the check itself. Entries (the hits) still go through the proto, so their JSON is the wire's."""
    b = a.base
    return {
        "memberships": [_entry_json(e) for e in b.memberships],
        "history": [_entry_json(e) for e in b.history],
        "applied_list_seq": str(b.applied_list_seq),
        "last_update_unix_ms": str(int(b.last_update.timestamp() * 1000) if b.last_update else 0),
        "stale": b.stale,
        "measures": [_measure_json(x) for x in a.measures],
        "incentives": [_measure_json(x) for x in a.incentives],
        "records": [
            json_format.MessageToDict(r, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
            for r in answer_to_pb(a).records
        ]
        if a.records
        else [],
        "measures_version": a.measures_version,
        "check_id": a.check_id,
        "subject_shown": a.subject_shown,
    }


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class _Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the peer's certificate in the scope as the ASGI TLS
    extension (``scope["extensions"]["tls"]["client_cert_chain"]``, here the DER bytes)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        obj = transport.get_extra_info("ssl_object")
        self._peer_der = obj.getpeercert(binary_form=True) if obj is not None else None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {"tls": {"client_cert_chain": [self._peer_der] if self._peer_der else []}}


class HallHttpApp:
    """The ASGI application: routes, authentication, rate limit, JSON in and out."""

    def __init__(
        self,
        halls: Halls,
        store: HallStore,
        trust: Callable[[], TrustStore],
        limiter: RateLimiter,
        *,
        max_batch: int,
        verifier: Callable[..., Identity] = verify,
        workers: int = 4,
    ) -> None:
        self.halls, self.store, self.trust, self.limiter = halls, store, trust, limiter
        self.max_batch, self.verifier = max_batch, verifier
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hall-http")

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        status, obj = await self._handle(scope, receive)
        body = obj if isinstance(obj, bytes) else orjson.dumps(obj)
        headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        if status >= 400:  # the request body may be unread: never parse it as the next request
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: dict, receive) -> tuple[int, Any]:
        path, method = scope["path"], scope["method"]
        if method == "GET":
            if path == "/openapi.json":
                return 200, _OPENAPI_BODY
            if path == "/healthz":
                return 200, {"status": "SERVING"}
            return 404, {"error": f"no such resource {path}; see /openapi.json"}
        if method != "POST" or path not in ("/v1/check", "/v1/check-many", "/v1/actions"):
            return 404, {"error": f"no such resource {method} {path}; see /openapi.json"}
        try:
            raw = await _read_body(scope, receive)
            return 200, await asyncio.get_running_loop().run_in_executor(self.pool, self._post, scope, path, raw)
        except _Refused as exc:
            return exc.status, {"error": exc.message}
        except InputError as exc:
            return 400, {"error": exc.message, "hint": exc.hint}
        except PermissionError as exc:
            return 403, {"error": str(exc)}

    def _post(self, scope: dict, path: str, raw: bytes) -> dict:
        body = _json_object(raw)
        halls = self.halls
        if path == "/v1/check":
            caller = self._caller(scope)
            return answer_json(halls.check_many(caller, [self._ask(body)])[0])
        if path == "/v1/check-many":
            checks = body.get("checks")
            if not isinstance(checks, list) or len(checks) > self.max_batch:
                raise InputError(
                    f"checks: a list of at most {self.max_batch} checks (limits.hall_max_batch) [HALL-020]"
                )
            caller = self._caller(scope, cost=max(1, len(checks)))
            asks = []
            for i, c in enumerate(checks):
                try:
                    asks.append(self._ask(c))
                except InputError as exc:
                    raise InputError(f"checks[{i}]: {exc.message}", hint=exc.hint) from None
            return {"answers": [answer_json(a) for a in halls.check_many(caller, asks)]}
        caller = self._caller(scope)
        try:
            env = Envelope.from_json_obj(body.get("report"))
        except SignatureError as exc:
            raise InputError(f"report: {exc.message} [HALL-030]") from None
        report_id, dup = halls.report(caller, env, str(body.get("certificate", "")).encode())
        return {"report_id": report_id, "duplicate": dup}

    def _caller(self, scope: dict, cost: int = 1) -> Caller:
        halls = self.halls
        chain = scope.get("extensions", {}).get("tls", {}).get("client_cert_chain") or []
        if chain:
            try:
                who = self.verifier(chain[0], self.trust(), at=halls.clock(), roles=(DEPARTMENT,))
            except IdentityError as exc:
                raise _Refused(401, f"client certificate refused: {exc.message}") from None
            if who.region != halls.region:
                raise _Refused(
                    403, f"department certificate of region {who.region}; this node serves {halls.region} [HALL-006]"
                )
            caller = Caller(department_of(who), f"cert:{who.serial}", who.region or "")
        else:
            auth = next((v for k, v in scope["headers"] if k == b"authorization"), b"").decode("latin-1")
            row = self.store.token_owner(auth[7:].strip()) if auth.startswith("Bearer ") else None
            if row is None:
                raise _Refused(
                    401,
                    "a department client certificate or a valid 'Authorization: Bearer <token>' is required [HALL-003]",
                )
            caller = Caller(row.department, f"token:{row.token_id}", halls.region)
        if not self.limiter.allow(caller.label, cost):
            raise _Refused(429, f"rate limit of {caller.label} exceeded [HALL-004]; slow down and retry")
        return caller

    def _ask(self, req: object) -> Ask:
        if not isinstance(req, dict):
            raise InputError("a check must be a JSON object [HALL-010]")
        subject = req.get("subject") or {}
        if not isinstance(subject, dict) or len(subject) != 1:
            raise InputError("subject: give exactly one of uscc, registration_number, person [HALL-010]")
        kind, value = next(iter(subject.items()))
        if kind == "person":
            value = value if isinstance(value, dict) else {}
            q = subject_question(
                "person", str(value.get("id_number", "")), str(value.get("id_type", "")), self.halls.key
            )
        else:
            q = subject_question(str(kind), str(value), "", self.halls.key)
        types = req.get("list_types") or []
        return Ask(
            q,
            str(req.get("matter", "")),
            str(req.get("department", "")),
            frozenset(map(str, types if isinstance(types, list) else [])),
        )


async def _read_body(scope: dict, receive) -> bytes:
    declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
    try:
        n = int(declared) if declared is not None else -1
    except ValueError:
        n = -1
    if n < 0 or n > MAX_BODY:
        raise _Refused(413, f"request body must be 0..{MAX_BODY} bytes with a Content-Length")
    parts, size = [], 0
    while True:
        msg = await receive()
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _Refused(413, f"request body must be 0..{MAX_BODY} bytes with a Content-Length")
        parts.append(chunk)
        if not msg.get("more_body"):
            return b"".join(parts)


def _json_object(raw: bytes) -> dict:
    try:
        obj = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as exc:
        raise _Refused(400, f"request body is not UTF-8 JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise _Refused(400, "request body must be a JSON object")
    return obj


class HallHttpServer:
    """uvicorn serving :class:`HallHttpApp` in a thread of its own (its own event loop)."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket, app: HallHttpApp) -> None:
        self.server, self.sock, self.app = server, sock, app
        self.port = sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, name="hall-http", daemon=True)

    def _run(self) -> None:
        self.server.run(sockets=[self.sock])

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()
        self.app.pool.shutdown(wait=False, cancel_futures=True)


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
    idle_timeout: float = 30.0,
    verifier: Callable[..., Identity] = verify,
    reuse_port: bool = False,
) -> tuple[HallHttpServer, int]:
    """Start the HTTPS hall API on ``listen`` (port 0 allowed) in a thread; (server, bound port).
    With ``reuse_port`` the socket is bound with SO_REUSEPORT, so more processes of this user
    serve the same address and the kernel spreads the connections over them (HALL-053)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, int(port)))
    sock.listen(512)
    app = HallHttpApp(halls, store, trust, limiter, max_batch=max_batch, verifier=verifier)
    config = uvicorn.Config(
        app,
        http=_Protocol,
        loop="uvloop",
        lifespan="off",
        ws="none",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        ssl_ca_certs=str(ca),
        ssl_cert_reqs=ssl.CERT_OPTIONAL,  # a certificate, or else a token (HALL-003)
        limit_concurrency=max_connections,
        timeout_keep_alive=int(idle_timeout),
        access_log=False,
        proxy_headers=False,  # no proxy in front: the peer is the caller (and its certificate)
        log_config=None,
        server_header=False,
        date_header=False,
    )
    server = HallHttpServer(uvicorn.Server(config), sock, app)
    server.thread.start()
    deadline = threading.Event()
    for _ in range(200):  # started: uvicorn sets .started once it serves (bounded wait, no sleep loop)
        if server.server.started or not server.thread.is_alive():
            break
        deadline.wait(0.05)
    if not server.server.started:
        raise OSError(f"cannot serve the hall HTTP API on {listen}")
    return server, server.port
