"""The operator's web page over HTTPS (the gateway's TLS certificate), on ``console_listen``.

Who may look: a client presenting an operator certificate from the provincial CA (checked
like the Operator API: chain, CRL, role), or a browser holding the operator token — the
contents of ``console_token`` (created 0600 when missing). ``/?token=…`` once sets an HttpOnly,
SameSite=Strict cookie and redirects to the page; anything else gets 401.

Paths: ``/`` the page, ``/fragment`` its body (the page's script refreshes it), ``/records``
the drill-down of rejected records by reason, ``/api/status`` and ``/api/stats`` the JSON of
``creditx gateway status --json`` / ``stats --json``, ``/api/series`` the sampled figures.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import ssl
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from creditx.gateway.console import page
from creditx.ops.logs import fields

log = logging.getLogger("creditx.gateway.console")
COOKIE = "creditx_console"


def load_token(path: Path) -> str:
    """The operator token, created (32 random bytes, hex, mode 0600) on first use."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("utf-8").strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path.read_text("utf-8").strip()


class ConsoleData:
    """Where the page's figures come from (the running gateway's own objects)."""

    def __init__(
        self,
        status: Callable[[], dict],
        stats: Callable[[], dict],
        rates: Callable[[], list[dict]],
        rejected: Callable[[str, str, int], list[dict]],
        clock: Callable[[], datetime],
    ) -> None:
        self.status, self.stats, self.rates, self.rejected, self.clock = status, stats, rates, rejected, clock


class ConsoleServer:
    def __init__(
        self,
        listen: str,
        data: ConsoleData,
        *,
        cert: Path,
        key: Path,
        ca: Path,
        token: str,
        operator_ok: Callable[[bytes], bool],
    ) -> None:
        host, port = listen.rsplit(":", 1)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        ctx.load_verify_locations(cafile=str(ca))
        ctx.verify_mode = ssl.CERT_OPTIONAL  # an operator certificate, or else the token
        handler = _handler(data, token, operator_ok)
        self.httpd = ThreadingHTTPServer((host.strip("[]"), int(port)), handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.url = f"https://{host}:{self.httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="console", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever: only a started server has one
            self.httpd.shutdown()
        self.httpd.server_close()


def _handler(data: ConsoleData, token: str, operator_ok: Callable[[bytes], bool]) -> type:
    class Handler(BaseHTTPRequestHandler):
        server_version = "creditx-console"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — http.server's name
            log.debug("console %s", format % args)

        def _authorised(self, query: dict) -> tuple[bool, bool]:
            """(allowed, set_cookie)."""
            try:
                der = self.connection.getpeercert(binary_form=True)
            except (AttributeError, ValueError):
                der = None
            if der and operator_ok(der):
                return True, False
            cookie = self.headers.get("Cookie", "")
            for part in cookie.split(";"):
                name, _, value = part.strip().partition("=")
                if name == COOKIE and hmac.compare_digest(value, token):
                    return True, False
            given = (query.get("token") or [""])[0]
            if given and hmac.compare_digest(given, token):
                return True, True
            return False, False

        def _send(
            self, code: int, body: str, ctype: str = "text/html; charset=utf-8", headers: dict[str, str] | None = None
        ) -> None:
            raw = body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header(
                "Content-Security-Policy",
                "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:",
            )
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802 — http.server's name
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            allowed, set_cookie = self._authorised(query)
            if not allowed:
                log.warning("console refused", extra=fields(event="console_refused", peer=self.client_address[0]))
                self._send(
                    401,
                    "<!doctype html><p>401: present an operator certificate, or open "
                    "<code>/?token=TOKEN</code> with the token from the gateway directory's "
                    "console.token file.</p>",
                )
                return
            if set_cookie:
                self._send(
                    303,
                    "",
                    headers={
                        "Location": url.path or "/",
                        "Set-Cookie": f"{COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict",
                    },
                )
                return
            try:
                self._route(url.path, query)
            except Exception as exc:  # one bad request must not stop the page for others
                log.exception("console page failed", extra=fields(event="console_error", path=url.path))
                self._send(500, f"<!doctype html><p>500: {type(exc).__name__}</p>")

        def _route(self, path: str, query: dict) -> None:
            now = data.clock()
            if path == "/":
                self._send(200, page.page(data.status(), data.stats(), data.rates(), now))
            elif path == "/fragment":
                self._send(200, page.fragment(data.status(), data.stats(), data.rates(), now))
            elif path == "/records":
                reason = (query.get("reason") or [""])[0]
                dept = (query.get("department") or [""])[0]
                self._send(200, page.records_page(reason, dept, data.rejected(reason, dept, 100)))
            elif path == "/api/status":
                self._send(200, json.dumps(data.status(), ensure_ascii=False), "application/json")
            elif path == "/api/stats":
                self._send(200, json.dumps(data.stats(), ensure_ascii=False), "application/json")
            elif path == "/api/series":
                self._send(200, json.dumps(data.rates(), ensure_ascii=False), "application/json")
            else:
                self._send(404, "<!doctype html><p>404</p>")

    return Handler
