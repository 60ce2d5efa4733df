"""``creditx conformance …`` (chapter 10):

    creditx conformance node [--adapter FILE.json] [--init-cmd C] [--run-cmd C] [--submit-cmd C] [--status-cmd C]
                             [--region R] [--json] [--junit FILE] [--key KEY --signed-report FILE]
    creditx conformance gateway (--address HOST:PORT --ca CA --ca-dir CADIR | --own) [...same report flags]
    creditx conformance verify-report FILE [--key SUITE-KEY-OR-PUBLIC-KEY] [--json]
    creditx conformance keygen FILE

Exit status: 0 every applicable MUST passed (or the report verified), 1 a MUST failed (or the
report does not verify), 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from creditx.cli.output import add_json_flag, print_json
from creditx.standard.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "conformance",
        help="certify a node or a gateway (any vendor's) against the exchange standard",
        description="Run the conformance suite against an implementation reached over the wire (chapter 10).",
    )
    sub = p.add_subparsers(dest="conformance_command", required=True, metavar="COMMAND")

    n = sub.add_parser("node", help="test a node: the suite plays the gateway and feeds it through your commands")
    n.add_argument("--adapter", type=Path, help="JSON file naming the init, run and submit commands")
    n.add_argument("--init-cmd", help="set up the node: placeholders {dir} {certs} {region} {gateway} {ca}")
    n.add_argument("--run-cmd", help="run the node until SIGTERM: placeholders as for init")
    n.add_argument("--submit-cmd", help="hand the node a national-template file: {file} and the others")
    n.add_argument(
        "--status-cmd", help="optional: print the node's recorded ack outcomes as JSON counts (see CONF-020)"
    )
    n.add_argument("--region", default="370100", help="the test node's region (default 370100)")
    n.add_argument("--phase-timeout", type=float, default=60.0, help="seconds each scenario phase may take")
    n.add_argument("--workdir", type=Path, help="keep the scenario's files (logs, PKI, node dir) here")
    _report_flags(n)
    n.set_defaults(func=cmd_node)

    g = sub.add_parser("gateway", help="test a gateway: the suite plays nodes against it")
    g.add_argument("--address", help="HOST:PORT of the gateway under test")
    g.add_argument(
        "--ca-dir", type=Path, help="the test CA (creditx certs init-ca) whose certificates the gateway trusts"
    )
    g.add_argument("--server-name", default="", help="TLS name of the gateway if not the HOST given")
    g.add_argument("--own", action="store_true", help="start this installation's gateway (creditx gateway) and test it")
    g.add_argument(
        "--crl-wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="how long to wait for the gateway to load the CA's new CRL (GW-REVOKED; 0: not applicable)",
    )
    g.add_argument("--workdir", type=Path, help="keep the scenario's files here")
    _report_flags(g)
    g.set_defaults(func=cmd_gateway)

    v = sub.add_parser("verify-report", help="check a signed conformance report")
    v.add_argument("file", type=Path)
    v.add_argument("--key", type=Path, help="the suite key (or its PEM public key) the report must be signed by")
    add_json_flag(v)
    v.set_defaults(func=cmd_verify)

    k = sub.add_parser("keygen", help="create the suite's Ed25519 signing key (PEM, 0600)")
    k.add_argument("file", type=Path)
    k.set_defaults(func=cmd_keygen)


def _report_flags(p: argparse.ArgumentParser) -> None:
    add_json_flag(p)
    p.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML for a CI system")
    p.add_argument("--key", type=Path, help="suite key to sign the report with (creditx conformance keygen)")
    p.add_argument("--signed-report", type=Path, metavar="FILE", help="write the signed report here (needs --key)")
    p.add_argument("--only", action="append", default=[], metavar="CHECK", help="run only this check (repeatable)")
    p.add_argument("--verbose", action="store_true", help="show the evidence of passing checks too")


def _finish(args: argparse.Namespace, report_obj) -> int:
    from creditx.conformance.report import to_junit, to_text
    from creditx.conformance.signing import load_key, sign_report

    report = report_obj.as_dict()
    if args.junit:
        args.junit.write_bytes(to_junit(report))
    if args.signed_report:
        doc = sign_report(report, load_key(args.key))
        args.signed_report.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print_json(report)
    else:
        sys.stdout.write(to_text(report, verbose=args.verbose))
    return int(report_obj.exit_code())


def _check_report_flags(args: argparse.Namespace) -> None:
    if args.signed_report and not args.key:
        raise InputError("--signed-report needs --key", hint="create a suite key: creditx conformance keygen FILE")
    if args.key:
        from creditx.conformance.signing import load_key

        load_key(args.key)  # fail before a long run, not after it


def cmd_node(args: argparse.Namespace) -> int:
    from creditx.conformance.adapter import NodeAdapter
    from creditx.conformance.node_suite import NODE, NodeContext
    from creditx.conformance.runner import run_checks
    from creditx.standard.divisions import is_region

    _check_report_flags(args)
    if not is_region(args.region):
        raise InputError(f"--region {args.region!r} is not a Shandong region code", hint="e.g. 370100")
    adapter = NodeAdapter.load(
        args.adapter, init=args.init_cmd, run=args.run_cmd, submit=args.submit_cmd, status=args.status_cmd
    )
    ctx = NodeContext(adapter, region=args.region, workdir=args.workdir, phase_timeout=args.phase_timeout)
    subject = {
        "vendor": adapter.vendor,
        "init": adapter.init,
        "run": adapter.run,
        "submit": adapter.submit,
        "status": adapter.status,
        "region": args.region,
    }
    return _finish(args, run_checks(NODE, ctx, subject=subject, only=args.only))


def cmd_gateway(args: argparse.Namespace) -> int:
    from creditx.conformance.gateway_suite import GATEWAY, GatewayContext
    from creditx.conformance.runner import run_checks

    _check_report_flags(args)
    if args.own == bool(args.address):
        raise InputError(
            "give either --own or --address with --ca-dir", hint="e.g. --address gw.test:7443 --ca-dir ca/"
        )
    if args.address and not args.ca_dir:
        raise InputError("--address needs --ca-dir: the suite issues its test nodes' certificates from that CA")
    ctx = GatewayContext(
        address=args.address,
        ca_dir=args.ca_dir,
        server_name=args.server_name,
        workdir=args.workdir,
        crl_wait=args.crl_wait,
    )
    subject = {"gateway": args.address or "own (creditx gateway run)"}
    try:
        return _finish(args, run_checks(GATEWAY, ctx, subject=subject, only=args.only))
    finally:
        ctx.close()


def cmd_verify(args: argparse.Namespace) -> int:
    from creditx.conformance.report import to_text
    from creditx.conformance.signing import public_key_id, verify_report

    try:
        doc = json.loads(args.file.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{args.file} not found") from None
    except ValueError as exc:
        raise InputError(f"{args.file} is not JSON: {exc}") from None
    pinned = public_key_id(args.key) if args.key else None
    try:
        report, kid = verify_report(doc, pinned_keyid=pinned)
    except InputError as exc:
        if args.json:
            print_json({"valid": False, "error": str(exc)})
        else:
            print(f"INVALID: {exc}")
        return 1
    if args.json:
        print_json({"valid": True, "keyid": kid, "pinned": pinned is not None, "report": report})
    else:
        print(f"signature valid: signed by {kid}" + ("" if pinned else " (no --key given: signer not pinned)"))
        sys.stdout.write(to_text(report))
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    from creditx.conformance.signing import generate_key

    kid = generate_key(args.file)
    print(f"suite key written to {args.file} (mode 0600); key id {kid}")
    return 0
