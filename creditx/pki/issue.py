"""Issue the credentials of each party: a node (auth + signing), the gateway (TLS server +
signing), an operator (TLS client), into the on-disk layout of creditx/pki/files.py.

Invariants:

* SEC-011  a node is issued only for a region in ``creditx.standard.divisions.REGIONS`` (a city, or
  370000 for a province-level department); both its certificates name that region.
* SEC-031  re-issuing (``only="signing"`` rotates just the signing key) supersedes the earlier
  certificate of that role in the database without revoking it, so what it signed while valid
  still verifies; the trust bundle keeps it until it expires.
* SEC-060  keys are written 0600 in 0700 directories, next to ``ca.crt`` and the current CRL.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from creditx.pki import files
from creditx.pki.ca import CertificateAuthority, issue, new_key
from creditx.pki.profiles import (
    DEPARTMENT,
    GATEWAY_SIGNING,
    GATEWAY_TLS,
    NODE_AUTH,
    NODE_SIGNING,
    NODE_TLS,
    OPERATOR,
)
from creditx.standard.divisions import REGIONS
from creditx.standard.errors import InputError
from creditx.standard.member_ids import member_id_problem

DEFAULT_DAYS = 398
_NAME = re.compile(r"^[^\x00-\x1f/\\]{1,64}$")


@dataclass(frozen=True)
class NodeCredentials:
    dir: Path
    ca: Path
    auth_cert: Path
    auth_key: Path
    signing_cert: Path
    signing_key: Path
    crl: Path


@dataclass(frozen=True)
class GatewayCredentials:
    dir: Path
    ca: Path
    tls_cert: Path
    tls_key: Path
    signing_cert: Path
    signing_key: Path
    crl: Path


@dataclass(frozen=True)
class OperatorCredentials:
    dir: Path
    ca: Path
    cert: Path
    key: Path


def check_name(name: str, field: str = "--name") -> str:
    if not _NAME.match(name or "") or name.strip() != name:
        raise InputError(
            f"{field} {name!r} is not a usable holder name (SEC-020)",
            hint="use 1-64 characters without '/', '\\', control characters or surrounding spaces",
        )
    return name


def check_member(member: str | None, region: str) -> str | None:
    """SEC-092: None (the member is the region) or a member id valid for ``region``."""
    if member is None or member == region:
        return None
    problem = member_id_problem(member, region)
    if problem:
        raise InputError(
            f"--member: {problem} (SEC-092)",
            hint="give a department's 统一社会信用代码 with --region 370000, or leave --member out for a city",
        )
    return member


def check_region(region: str) -> str:
    if region not in REGIONS:
        raise InputError(
            f"--region {region!r} is not a region a node may be issued for (SEC-011)",
            hint="use 370000 for a province-level department or a city code: "
            + ", ".join(c for c in REGIONS if c != "370000"),
        )
    return region


def _common(ca: CertificateAuthority, out: Path) -> Path:
    out = files.private_dir(out)
    files.write_cert(out / files.CA_CERT, ca.cert)
    crl = ca.path(files.CRL)
    if crl.exists():
        files.write_atomic(out / files.CRL, crl.read_bytes(), files.PUBLIC_FILE_MODE)
    return out


def _pair(ca, role, holder, out, cert_name, key_name, *, at, days, **kw) -> None:
    key = new_key()
    cert = issue(ca, role, holder, key.public_key(), at=at, days=days, **kw)
    files.write_key(out / key_name, key)
    files.write_cert(out / cert_name, cert)


def issue_node(
    ca: CertificateAuthority,
    *,
    region: str,
    name: str,
    at: datetime,
    out: Path | None = None,
    days: int = DEFAULT_DAYS,
    only: str | None = None,
    member: str | None = None,
) -> NodeCredentials:
    """Issue a node's authentication and signing certificates (or ``only`` one of them:
    ``"auth"`` / ``"signing"``, e.g. to rotate the signing key). ``member``: a province-level
    department's own member id (its USCC, region 370000), named in both (SEC-092)."""
    check_region(region)
    check_name(name)
    member = check_member(member, region)
    if only not in (None, "auth", "signing"):
        raise InputError(f"--only {only!r} is not auth or signing", hint="use --only signing")
    out = _common(ca, Path(out) if out else ca.dir / "nodes" / f"{region}-{name}")
    if only in (None, "auth"):
        _pair(ca, NODE_AUTH, name, out, files.AUTH_CERT, files.AUTH_KEY, at=at, days=days, region=region, member=member)
    if only in (None, "signing"):
        _pair(
            ca,
            NODE_SIGNING,
            name,
            out,
            files.SIGNING_CERT,
            files.SIGNING_KEY,
            at=at,
            days=days,
            region=region,
            member=member,
        )
    return NodeCredentials(
        out,
        out / files.CA_CERT,
        out / files.AUTH_CERT,
        out / files.AUTH_KEY,
        out / files.SIGNING_CERT,
        out / files.SIGNING_KEY,
        out / files.CRL,
    )


def issue_gateway(
    ca: CertificateAuthority,
    *,
    at: datetime,
    hosts: tuple[str, ...] = ("localhost",),
    ips: tuple[str, ...] = ("127.0.0.1",),
    out: Path | None = None,
    days: int = DEFAULT_DAYS,
    name: str = "gateway",
) -> GatewayCredentials:
    """Issue the gateway's TLS server certificate (SANs for ``hosts`` and ``ips``) and its
    signing certificate for receipts, checkpoints and trust bundles."""
    check_name(name)
    if not hosts and not ips:
        raise InputError(
            "the gateway needs at least one --host or --ip (SEC-020)", hint="e.g. --host gateway.credit.sd.gov.cn"
        )
    try:
        addresses = tuple(ipaddress.ip_address(ip) for ip in ips)
    except ValueError as exc:
        raise InputError(f"--ip: {exc}", hint="give IPv4 or IPv6 addresses") from None
    out = _common(ca, Path(out) if out else ca.dir / "gateway")
    _pair(
        ca,
        GATEWAY_TLS,
        name,
        out,
        files.TLS_CERT,
        files.TLS_KEY,
        at=at,
        days=days,
        dns_names=tuple(hosts),
        ip_addresses=addresses,
    )
    _pair(ca, GATEWAY_SIGNING, name, out, files.SIGNING_CERT, files.SIGNING_KEY, at=at, days=days)
    return GatewayCredentials(
        out,
        out / files.CA_CERT,
        out / files.TLS_CERT,
        out / files.TLS_KEY,
        out / files.SIGNING_CERT,
        out / files.SIGNING_KEY,
        out / files.CRL,
    )


def issue_operator(
    ca: CertificateAuthority, *, name: str, at: datetime, out: Path | None = None, days: int = DEFAULT_DAYS
) -> OperatorCredentials:
    """Issue an operator's client certificate for the gateway's operator API."""
    check_name(name)
    out = _common(ca, Path(out) if out else ca.dir / "operators" / name)
    _pair(ca, OPERATOR, name, out, files.OPERATOR_CERT, files.OPERATOR_KEY, at=at, days=days)
    return OperatorCredentials(out, out / files.CA_CERT, out / files.OPERATOR_CERT, out / files.OPERATOR_KEY)


@dataclass(frozen=True)
class DepartmentCredentials:
    dir: Path
    ca: Path
    cert: Path
    key: Path


def issue_department(
    ca: CertificateAuthority, *, region: str, name: str, at: datetime, out: Path | None = None, days: int = DEFAULT_DAYS
) -> DepartmentCredentials:
    """Issue a department's client certificate (role ``department``, the region of the city node it
    calls) for that node's department API over TCP (SEC-010, SEC-034); its key also signs the
    department's action reports (HALL-)."""
    check_region(region)
    check_name(name)
    out = _common(ca, Path(out) if out else ca.dir / "departments" / f"{region}-{name}")
    _pair(ca, DEPARTMENT, name, out, files.DEPARTMENT_CERT, files.DEPARTMENT_KEY, at=at, days=days, region=region)
    return DepartmentCredentials(out, out / files.CA_CERT, out / files.DEPARTMENT_CERT, out / files.DEPARTMENT_KEY)


HALL_TLS_CERT = "hall-tls.crt"
HALL_TLS_KEY = "hall-tls.key"


def issue_node_tls(
    ca: CertificateAuthority,
    *,
    region: str,
    name: str,
    at: datetime,
    hosts: tuple[str, ...] = ("localhost",),
    ips: tuple[str, ...] = ("127.0.0.1",),
    out: Path | None = None,
    days: int = DEFAULT_DAYS,
) -> tuple[Path, Path]:
    """Issue a node's TLS server certificate for its hall API (role ``node-tls``, the node's region
    and host names); returns (cert, key) written as hall-tls.crt/.key in ``out``."""
    check_region(region)
    check_name(name)
    try:
        addresses = tuple(ipaddress.ip_address(ip) for ip in ips)
    except ValueError as exc:
        raise InputError(f"--ip: {exc}", hint="give IPv4 or IPv6 addresses") from None
    out = _common(ca, Path(out) if out else ca.dir / "nodes" / f"{region}-{name}")
    _pair(
        ca,
        NODE_TLS,
        name,
        out,
        HALL_TLS_CERT,
        HALL_TLS_KEY,
        at=at,
        days=days,
        region=region,
        dns_names=tuple(hosts),
        ip_addresses=addresses,
    )
    return out / HALL_TLS_CERT, out / HALL_TLS_KEY
