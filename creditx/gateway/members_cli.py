"""``creditx gateway members …``: the member registry, as an operator manages it (SEC-036/038).

    creditx gateway members seed   --dir DIR     (version 1 from the seed data, for a gateway without one)
    creditx gateway members list   --dir DIR [--region R] [--json]
    creditx gateway members add    --dir DIR --region R --name N [--kind city|province]
    creditx gateway members grant  --dir DIR --region R --uscc USCC --name BODY
                                   [--record-type T ...] [--list-type L ...]
    creditx gateway members revoke --dir DIR --region R --uscc USCC

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
from creditx.standard.divisions import REGIONS
from creditx.standard.errors import InputError
from creditx.standard.identifiers import check_uscc
from creditx.standard.record import RECORD_TYPES
from creditx.standard.registry import Grant, Member, Registry, RegistryError, to_json


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


def cmd_seed(args: argparse.Namespace) -> int:
    path, _, key = _paths(args.dir)
    if path.exists():
        raise InputError(f"{path} already exists", hint="change it with `members add|grant|revoke`")
    reg = members.seed(args.dir, key, _now())
    print(
        f"member registry version {reg.version} seeded with {len(reg.members)} members "
        f"({sum(len(m.grants) for m in reg.members)} grants) into {path}"
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    reg = _load(args.dir)
    ms = [m for m in reg.members if not args.region or m.region == args.region]
    if args.json:
        obj = to_json(reg)
        obj["members"] = [m for m in obj["members"] if not args.region or m["region"] == args.region]  # type: ignore
        print_json(obj)
        return 0
    print(f"member registry version {reg.version}, issued {reg.issued_at}, expires {reg.expires_at}")
    rows = [
        (m.region, m.name, g.uscc, g.name, ",".join(g.record_types), ",".join(g.list_types) or "-")
        for m in ms
        for g in m.grants
    ]
    rows += [(m.region, m.name, "-", "(no grants)", "", "") for m in ms if not m.grants]
    print(format_table(rows, ["region", "member", "uscc", "deciding body", "records", "lists"]))
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    reg = _load(args.dir)
    kind = args.kind or ("province" if args.region == "370000" else "city")
    return _save(args.dir, members.add_member(reg, _now(), Member(_region(args.region), args.name, kind)))


def cmd_grant(args: argparse.Namespace) -> int:
    verdict = check_uscc(args.uscc)
    if not verdict.valid:
        raise InputError(
            f"--uscc {args.uscc!r}: {verdict.reason} ({verdict.rule}): {verdict.message}",
            hint="give the deciding body's 18-character 统一社会信用代码",
        )
    kinds = tuple(args.record_type or RECORD_TYPES)
    g = Grant(verdict.normalised, args.name, kinds, tuple(args.list_type or ()))
    return _save(args.dir, members.grant(_load(args.dir), _now(), _region(args.region), g))


def cmd_revoke(args: argparse.Namespace) -> int:
    reg = members.revoke(_load(args.dir), _now(), _region(args.region), args.uscc.strip().upper())
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
    s = add("list", cmd_list, "show members and their granted deciding bodies")
    s.add_argument("--region", default="")
    add_json_flag(s)
    s = add("add", cmd_add, "register a member (a city platform or the province-level node)")
    s.add_argument("--region", required=True)
    s.add_argument("--name", required=True)
    s.add_argument("--kind", choices=["city", "province"])
    s = add("grant", cmd_grant, "grant a deciding body (by USCC) to a member")
    s.add_argument("--region", required=True)
    s.add_argument("--uscc", required=True, help="统一社会信用代码 of the 许可/处罚/认定机关")
    s.add_argument("--name", required=True, help="the body's name, e.g. 济南市市场监督管理局")
    s.add_argument("--record-type", action="append", choices=list(RECORD_TYPES), help="repeatable (default all)")
    s.add_argument("--list-type", action="append", help="list types for LIST records (repeatable; default all)")
    s = add("revoke", cmd_revoke, "withdraw a deciding body from a member")
    s.add_argument("--region", required=True)
    s.add_argument("--uscc", required=True)
