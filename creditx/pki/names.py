"""Which TLS name a client must check when it dials a server by address.

gRPC checks the server certificate against the host in the target address. An operator on
the gateway's machine dials ``127.0.0.1:PORT`` (from ``run.json``) while the certificate names
``gateway.example``; the right name to check is then one the certificate carries, not a
guess such as ``localhost``. :func:`tls_name_for` picks it: an explicit name wins; a DNS host
in the address is checked as is; an IP the certificate lists is checked as is; otherwise the
certificate's first DNS name.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from creditx.pki.files import read_cert

_ANY = {"0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1", "": "127.0.0.1"}


def split_address(address: str) -> tuple[str, str]:
    """``host:port`` → (host, port); IPv6 hosts may be bracketed."""
    host, _, port = address.rpartition(":")
    return host.strip("[]") if host.startswith("[") else host, port


def certificate_names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) in the certificate's subjectAltName."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return san.get_values_for_type(x509.DNSName), [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


def dial_address(address: str) -> str:
    """A listen address as a client dials it: a wildcard host becomes the loopback address."""
    host, port = split_address(address)
    if host in _ANY:
        host = _ANY[host]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def tls_name_for(address: str, server_cert: Path | None, explicit: str = "") -> str:
    """The name to pass as ``grpc.ssl_target_name_override`` ("" = the address's host is right)."""
    if explicit:
        return explicit
    host, _ = split_address(dial_address(address))
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return ""  # a DNS name: it is what the certificate must carry
    if server_cert is None or not Path(server_cert).exists():
        return ""
    dns, ips = certificate_names(read_cert(server_cert))
    if host in ips or not dns:
        return ""
    return dns[0]
