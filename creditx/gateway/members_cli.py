"""``creditx gateway members …``: the member registry, as an operator manages it (SEC-036/038).

    creditx gateway members seed   --dir DIR     (version 1 from the seed data, for a gateway without one)
    creditx gateway members list   --dir DIR [--region R | --member ID] [--json]
    creditx gateway members add    --dir DIR --region R --name N [--kind city|province]
    creditx gateway members add    --dir DIR --member USCC --region 370000 --kind department --name N
    creditx gateway members grant  --dir DIR (--region R | --member ID) --uscc USCC --name BODY
                                   [--record-type T ...] [--list-type L ...]
    creditx gateway members revoke --dir DIR (--region R | --member ID) --uscc USCC

A member is named by its member id (SEC-092): a city platform's and the 370000 node's is the
region code (``--region`` names it), a province-level department's own node's is its
统一社会信用代码 (``--member``).

Every change writes the next version, signed with the gateway's signing key; a running gateway
uses it from its next batch, and nodes receive it at their next handshake.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from creditx.cli.output import add_json_flag, format_table, print_json
from creditx.gateway import members
from creditx.gateway.config import load_config
from creditx.standard.divisions import PROVINCE, REGIONS
from creditx.standard.errors import InputError
from creditx.standard.identifiers import check_uscc
from creditx.standard.member_ids import member_id_problem
from creditx.standard.record import RECORD_TYPES
from creditx.standard.registry import MEMBER_KINDS, Grant, Member, Registry, RegistryError, to_json


def _paths(d: Path) -> tuple[Path, Path, Path]:
    cfg = load_config(d)
    return d / members.REGISTRY_FILE, cfg.path(d, "signing_cert"), cfg.path(d, "signing_key")


def _load(d: Path) -> Registry:
    path, cert, _ = _paths(d)
    try:
        return members.read_registry(path, cert)
    except RegistryError as exc:
        hint = (
            "create version 1 from the seed data with `creditx gateway members seed --dir DIR`"
            if exc.reason == "REGISTRY_MISSING"
            else "restore the last signed registry.json"
        )
        raise InputError(f"member registry: {exc}", hint=hint) from None


def _save(d: Path, reg: Registry) -> int:
    _, _, key = _paths(d)
    members.write_registry(d, reg, key)
    print(
        f"member registry version {reg.version} signed and written to {d / members.REGISTRY_FILE}; "
        f"valid until {reg.expires_at}"
    )
    return 0


def _region(code: str) -> str:
    if code not in REGIONS:
        raise InputError(f"--region {code!r} is not a node region", hint="a city code such as 370100, or 370000")
    return code


def _member_id(args: argparse.Namespace) -> str:
    """The member a grant/revoke names: ``--member ID``, or ``--region R`` for a region's node."""
    if args.member:
        return args.member.strip().upper()
    if not args.region:
        raise InputError("name the member with --member ID or --region R", hint="see `creditx gateway members list`")
    return _region(args.region)


def cmd_seed(args: argparse.Namespace) -> int:
    path, _, key = _paths(args.dir)
    if path.exists():
        raise InputError(f"{path} already exists", hint="change it with `members add|grant|revoke`")
    reg = members.seed(args.dir, key, _now())
    departments = sum(m.kind == "department" for m in reg.members)
    print(
        f"member registry version {reg.version} seeded with {len(reg.members)} members "
        f"({len(reg.members) - departments} region nodes, {departments} departments' own nodes; "
        f"{sum(len(m.grants) for m in reg.members)} grants) into {path}"
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    reg = _load(args.dir)
    ms = [
        m
        for m in reg.members
        if (not args.region or m.region == args.region) and (not args.member or m.id == args.member.strip().upper())
    ]
    if args.json:
        obj = to_json(Registry(reg.version, reg.issued_at, reg.expires_at, tuple(ms)))
        print_json(obj)
        return 0
    print(f"member registry version {reg.version}, issued {reg.issued_at}, expires {reg.expires_at}")
    rows = [
        (m.id, m.region, m.name, g.uscc, g.name, ",".join(g.record_types), ",".join(g.list_types) or "-")
        for m in ms
        for g in m.grants
    ]
    rows += [(m.id, m.region, m.name, "-", "(no grants)", "", "") for m in ms if not m.grants]
    print(format_table(rows, ["member", "region", "name", "uscc", "deciding body", "records", "lists"]))
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    reg = _load(args.dir)
    region = _region(args.region)
    member_id = (args.member or region).strip().upper()
    kind = args.kind or ("department" if member_id != region else "province" if region == PROVINCE else "city")
    problem = member_id_problem(member_id, region)
    if problem or (kind == "department") != (member_id != region):
        raise InputError(
            f"--member {member_id} --region {region} --kind {kind}: "
            f"{problem or 'kind department is exactly a member with an id of its own'} (SEC-092, SEC-093)",
            hint="a department: --member <its USCC> --region 370000 --kind department; "
            "a city: --region <city code> --kind city",
        )
    return _save(args.dir, members.add_member(reg, _now(), Member(region, args.name, kind, id=member_id)))


def cmd_grant(args: argparse.Namespace) -> int:
    verdict = check_uscc(args.uscc)
    if not verdict.valid:
        raise InputError(
            f"--uscc {args.uscc!r}: {verdict.reason} ({verdict.rule}): {verdict.message}",
            hint="give the deciding body's 18-character 统一社会信用代码",
        )
    kinds = tuple(args.record_type or RECORD_TYPES)
    g = Grant(verdict.normalised, args.name, kinds, tuple(args.list_type or ()))
    return _save(args.dir, members.grant(_load(args.dir), _now(), _member_id(args), g))


def cmd_revoke(args: argparse.Namespace) -> int:
    reg = members.revoke(_load(args.dir), _now(), _member_id(args), args.uscc.strip().upper())
    return _save(args.dir, reg)


def _now() -> datetime:
    return datetime.now(UTC)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("members", help="the member registry: who may send for which deciding body")
    msub = p.add_subparsers(dest="members_command", required=True, metavar="SUBCOMMAND")

    def add(name: str, func, help_: str) -> argparse.ArgumentParser:
        s = msub.add_parser(name, help=help_, description=help_)
        s.add_argument("--dir", required=True, type=Path, help="gateway directory")
        s.set_defaults(func=func)
        return s

    add("seed", cmd_seed, "write version 1 from the seed data (16 cities, province-level departments)")
    member_help = "a department member's id (its USCC); a city or the 370000 node is named by --region"
    s = add("list", cmd_list, "show members and their granted deciding bodies")
    s.add_argument("--region", default="")
    s.add_argument("--member", default="", help=member_help)
    add_json_flag(s)
    s = add("add", cmd_add, "register a member (a city platform, the province-level node or a department's node)")
    s.add_argument("--region", required=True, help="the member's region; 370000 for a department")
    s.add_argument("--member", default="", help="a department's own node: its 统一社会信用代码 (SEC-092)")
    s.add_argument("--name", required=True)
    s.add_argument("--kind", choices=list(MEMBER_KINDS))
    s = add("grant", cmd_grant, "grant a deciding body (by USCC) to a member")
    s.add_argument("--region", default="", help="the member whose id is this region (a city, 370000)")
    s.add_argument("--member", default="", help=member_help)
    s.add_argument("--uscc", required=True, help="统一社会信用代码 of the 许可/处罚/认定机关")
    s.add_argument("--name", required=True, help="the body's name, e.g. 济南市市场监督管理局")
    s.add_argument("--record-type", action="append", choices=list(RECORD_TYPES), help="repeatable (default all)")
    s.add_argument("--list-type", action="append", help="list types for LIST records (repeatable; default all)")
    s = add("revoke", cmd_revoke, "withdraw a deciding body from a member")
    s.add_argument("--region", default="", help="the member whose id is this region (a city, 370000)")
    s.add_argument("--member", default="", help=member_help)
    s.add_argument("--uscc", required=True)
