"""``creditx certs …``: the provincial operator's PKI commands (thin shell over certs.*).

Every command takes its time from the system clock here, at the edge, and passes it in.
Nothing prints a private key (SEC-060): outputs name key *files*, never their contents.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from creditx.cli.output import add_json_flag, format_table, print_json
from creditx.pki import files, issuance_db
from creditx.pki.bundle import bundle_from_ca
from creditx.pki.ca import DEFAULT_CA_NAME, KEY_TYPES, init_ca, load_ca
from creditx.pki.crl import REASONS, load_crl, publish_crl, revoke
from creditx.pki.identity import IdentityError, TrustStore, parse_certificate, verify
from creditx.pki.issue import DEFAULT_DAYS, issue_department, issue_gateway, issue_node, issue_operator
from creditx.pki.profiles import ROLES, fingerprint, key_id, read_facts, serial_hex
from creditx.standard.errors import InputError


def _now() -> datetime:
    return datetime.now(UTC)


def _passphrase(args) -> bytes | None:
    if not getattr(args, "passphrase_file", None):
        return None
    try:
        data = Path(args.passphrase_file).read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        raise InputError(f"--passphrase-file: {exc}", hint="give a readable file") from None
    if not data:
        raise InputError("--passphrase-file is empty", hint="put the passphrase in the file")
    return data


def _ca(args):
    return load_ca(Path(args.dir), _passphrase(args))


def _print_paths(args, what: str, creds) -> int:
    paths = {k: str(v) for k, v in vars(creds).items()}
    if getattr(args, "json", False):
        print_json(paths)
    else:
        print(f"issued {what} into {creds.dir}")
        for k, v in paths.items():
            if k != "dir":
                print(f"  {k:13} {v}")
    return 0


def cmd_init_ca(args) -> int:
    ca = init_ca(
        Path(args.dir),
        at=_now(),
        name=args.name,
        passphrase=_passphrase(args),
        days=args.days,
        key_type=args.key_type,
        crl_url=args.crl_url,
    )
    print(f"created CA {ca.cert.subject.rfc4514_string()} in {ca.dir}")
    print(f"  CRL published at {ca.crl_url}  (named in every certificate's CRL distribution point)")
    print(f"  certificate {ca.path(files.CA_CERT)}  (fingerprint {fingerprint(ca.cert)})")
    print(f"  key         {ca.path(files.CA_KEY)}  (mode 0600)")
    return 0


def cmd_issue_node(args) -> int:
    creds = issue_node(
        _ca(args),
        region=args.region,
        name=args.name,
        at=_now(),
        out=args.out,
        days=args.days,
        only=args.only,
        member=args.member,
    )
    who = f"{args.region}, member {args.member}" if args.member and args.member != args.region else args.region
    return _print_paths(args, f"node {args.name} ({who})", creds)


def cmd_issue_gateway(args) -> int:
    creds = issue_gateway(
        _ca(args),
        at=_now(),
        hosts=tuple(args.host or ["localhost"]),
        ips=tuple(args.ip if args.ip is not None else ["127.0.0.1"]),
        out=args.out,
        days=args.days,
    )
    return _print_paths(args, "gateway", creds)


def cmd_issue_operator(args) -> int:
    creds = issue_operator(_ca(args), name=args.name, at=_now(), out=args.out, days=args.days)
    return _print_paths(args, f"operator {args.name}", creds)


def cmd_issue_department(args) -> int:
    creds = issue_department(_ca(args), region=args.region, name=args.name, at=_now(), out=args.out, days=args.days)
    return _print_paths(args, f"department {args.name} ({args.region})", creds)


def cmd_revoke(args) -> int:
    ca = _ca(args)
    row = revoke(ca, args.serial, at=_now(), reason=args.reason)
    print(f"revoked {row['serial']} ({row['role']} {row['holder']}); CRL updated: {Path(args.dir) / files.CRL}")
    if ca.crl_url:
        print(
            f"  published at {ca.crl_url}: running gateways refuse the certificate at their next "
            "CRL refresh (crl_reload_s, default 30 s)"
        )
    return 0


def _member_of(pem: str) -> dict[str, str]:
    """``{"member": id}`` for a department node's certificate (its member URI, SEC-092), else {}."""
    members = read_facts(parse_certificate(pem.encode())).members
    return {"member": members[0]} if members else {}


def cmd_crl(args) -> int:
    ca = _ca(args)
    crl = publish_crl(ca, at=_now(), out=args.output)
    where = args.output or ca.path(files.CRL)
    print(f"CRL with {len(list(crl))} revoked certificate(s) written to {where}")
    return 0


def cmd_list(args) -> int:
    db = issuance_db.open_db(Path(args.dir) / files.ISSUANCE_DB)
    rows = [
        {**{k: v for k, v in r.items() if k != "pem"}, **_member_of(r["pem"])} for r in issuance_db.all_certificates(db)
    ]
    if args.json:
        print_json(rows)
        return 0
    print(
        format_table(
            [
                (
                    r["serial"],
                    r["role"],
                    r["holder"],
                    r.get("member") or r["region"] or "",
                    r["not_after"][:19],
                    r["status"],
                )
                for r in rows
            ],
            ["serial", "role", "holder", "member", "not after", "status"],
        )
    )
    return 0


def inspect_certificate(data: bytes, *, ca_dir: Path | None, at: datetime) -> dict:
    """What ``creditx certs inspect`` shows: holder, role, region, validity, fingerprint,
    and with a CA directory the verification status (``ok`` or the reason code)."""
    cert = parse_certificate(data)
    facts = read_facts(cert)
    info = {
        "holder": facts.name,
        "role": ",".join(facts.roles),
        "region": ",".join(facts.regions),
        **({"member": ",".join(facts.members)} if facts.members else {}),
        "serial": serial_hex(cert.serial_number),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "fingerprint": fingerprint(cert),
        "key_id": key_id(cert.public_key()),
    }
    if ca_dir is not None:
        trust = TrustStore(files.read_cert(ca_dir / files.CA_CERT))
        if (ca_dir / files.CRL).exists():
            trust = trust.with_crl(load_crl(ca_dir / files.CRL))
        try:
            verify(cert, trust, at=at, roles=ROLES)
            info["status"] = "ok"
        except IdentityError as exc:
            info["status"] = exc.reason
            info["status_detail"] = exc.message
        db_path = ca_dir / files.ISSUANCE_DB
        if db_path.exists():
            row = issuance_db.get(issuance_db.open_db(db_path), info["serial"])
            info["database_status"] = row["status"] if row else "unknown to this CA"
    return info


def cmd_inspect(args) -> int:
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise InputError(f"FILE: {exc}", hint="give a certificate file (PEM or DER)") from None
    info = inspect_certificate(data, ca_dir=Path(args.dir) if args.dir else None, at=_now())
    if args.json:
        print_json(info)
    else:
        for k, v in info.items():
            print(f"{k:16} {v}")
    return 0 if info.get("status", "ok") == "ok" else 1


def cmd_bundle(args) -> int:
    data = bundle_from_ca(_ca(args), at=_now(), days=args.days)
    files.write_atomic(Path(args.output), data, files.PUBLIC_FILE_MODE)
    print(f"trust bundle written to {args.output}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    certs = subparsers.add_parser(
        "certs",
        help="provincial PKI: CA, certificates, CRL, bundle",
        description="Provincial PKI: CA, node/gateway/operator certificates, revocation, trust bundle.",
    )
    sub = certs.add_subparsers(dest="certs_command", required=True, metavar="SUBCOMMAND")

    def add(name: str, func, help_: str, *, ca_key: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument(
            "--dir",
            required=name != "inspect",
            type=Path,
            help="the CA directory (ca.crt, ca.key, issuance.db, crl.pem)",
        )
        if ca_key:
            p.add_argument("--passphrase-file", metavar="F", help="file holding the CA key's passphrase")
        p.set_defaults(func=func)
        return p

    p = add("init-ca", cmd_init_ca, "create the provincial root CA and issuance database")
    p.add_argument("--name", default=DEFAULT_CA_NAME, help="CA common name")
    p.add_argument("--days", type=int, default=3650, help="validity in days (default 3650)")
    p.add_argument("--key-type", choices=sorted(KEY_TYPES), default="ecdsa-p256")
    p.add_argument(
        "--crl-url",
        metavar="URL",
        help="where crl.pem is published (file: or http(s): URL; default the file: URI of DIR/crl.pem); "
        "every certificate names it and gateways fetch revocations from it (SEC-043)",
    )

    p = add("issue-node", cmd_issue_node, "issue a node's auth and signing certificates")
    p.add_argument("--region", required=True, help="370000 or a city code, e.g. 370100")
    p.add_argument(
        "--member",
        help="a province-level department's own node: its 统一社会信用代码 (with --region 370000), "
        "named in both certificates (SEC-092); default: the region",
    )
    p.add_argument("--name", required=True, help="holder name (node or department)")
    p.add_argument("--out", type=Path, help="output directory (default DIR/nodes/REGION-NAME)")
    p.add_argument("--days", type=int, default=DEFAULT_DAYS)
    p.add_argument(
        "--only", choices=["auth", "signing"], help="issue only one of the two (e.g. rotate the signing key)"
    )
    add_json_flag(p)

    p = add("issue-gateway", cmd_issue_gateway, "issue the gateway's TLS and signing certificates")
    p.add_argument("--host", action="append", help="DNS name (repeatable; default localhost)")
    p.add_argument("--ip", action="append", help="IP address (repeatable; default 127.0.0.1)")
    p.add_argument("--out", type=Path, help="output directory (default DIR/gateway)")
    p.add_argument("--days", type=int, default=DEFAULT_DAYS)
    add_json_flag(p)

    p = add("issue-operator", cmd_issue_operator, "issue an operator's client certificate")
    p.add_argument("--name", required=True)
    p.add_argument("--out", type=Path, help="output directory (default DIR/operators/NAME)")
    p.add_argument("--days", type=int, default=DEFAULT_DAYS)
    add_json_flag(p)

    p = add(
        "issue-department", cmd_issue_department, "issue a department's client certificate for a node's department API"
    )
    p.add_argument("--region", required=True, help="the region of the node it reads from, e.g. 370100")
    p.add_argument("--name", required=True, help="department name, e.g. tax")
    p.add_argument("--out", type=Path, help="output directory (default DIR/departments/REGION-NAME)")
    p.add_argument("--days", type=int, default=DEFAULT_DAYS)
    add_json_flag(p)

    p = add("revoke", cmd_revoke, "revoke a certificate and update DIR/crl.pem")
    p.add_argument("serial", metavar="SERIAL", help="hex serial as shown by `certs list`")
    p.add_argument("--reason", choices=sorted(REASONS), default="unspecified")

    p = add("crl", cmd_crl, "sign and write a fresh CRL")
    p.add_argument("-o", "--output", type=Path, help="also write it here")

    p = add("list", cmd_list, "list every certificate issued", ca_key=False)
    add_json_flag(p)

    p = add("inspect", cmd_inspect, "show holder, role, region, validity, fingerprint, status", ca_key=False)
    p.add_argument("file", metavar="FILE")
    add_json_flag(p)

    p = add("bundle", cmd_bundle, "write a signed trust bundle (CA, CRL, signing certificates)")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--days", type=int, default=7, help="bundle validity (default 7)")
