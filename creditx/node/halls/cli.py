"""``creditx node tokens …``, ``creditx node objection …``, ``creditx node credit-report …`` and
``creditx node verify-report FILE``: the operator's side of the hall API (HALL-003, HALL-012, HALL-050)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from creditx.cli.output import add_json_flag, format_table, print_json


def _dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", required=True, type=Path, help="the node directory")


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("tokens", help="per-department tokens for the HTTP hall API (HALL-003)")
    ts = t.add_subparsers(dest="tokens_command", required=True, metavar="COMMAND")
    p = ts.add_parser("issue", help="issue a token for a department (printed once, stored hashed)")
    _dir(p)
    p.add_argument("--department", required=True, help="department code of the measures list, e.g. CZ")
    p.add_argument("--name", default="", help="which hall system holds it, e.g. 历下区政务服务中心")
    add_json_flag(p)
    p.set_defaults(func=cmd_token_issue)
    p = ts.add_parser("list", help="issued tokens (never the tokens themselves)")
    _dir(p)
    add_json_flag(p)
    p.set_defaults(func=cmd_token_list)
    p = ts.add_parser("revoke", help="revoke a token by its id")
    _dir(p)
    p.add_argument("token_id", metavar="TOKEN_ID")
    p.set_defaults(func=cmd_token_revoke)

    p = sub.add_parser("objection", help="record the 异议 status of one of this node's own records (HALL-012)")
    _dir(p)
    p.add_argument("source_id", metavar="SOURCE_ID")
    p.add_argument("status", metavar="STATUS", help="异议处理中 | 异议成立 | 异议不成立 | '' to clear")
    p.set_defaults(func=cmd_objection)
    register_reports(sub)


def _hall_store(args):
    from creditx.node.app import NodeApp
    from creditx.node.halls.store import HallStore

    app = NodeApp(args.dir)
    return app, HallStore(app.store, app.subject_key)


def cmd_token_issue(args) -> int:
    from creditx.node.halls.service import load_departments

    load_departments(args.department)
    app, store = _hall_store(args)
    try:
        token_id, token = store.issue_token(args.department, args.name)
    finally:
        app.close()
    if args.json:
        print_json({"token_id": token_id, "token": token, "department": args.department})
    else:
        print(
            f"token {token_id} for department {args.department}: {token}\n"
            "give it to the hall system (Authorization: Bearer …); it is not shown again"
        )
    return 0


def _when(t: float | None) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H:%M:%S") if t else ""


def cmd_token_list(args) -> int:
    app, store = _hall_store(args)
    try:
        rows = store.tokens()
    finally:
        app.close()
    if args.json:
        print_json([r.__dict__ for r in rows])
    else:
        print(
            format_table(
                [
                    (r.token_id, r.department, r.name, _when(r.created_at), _when(r.revoked_at) or "active")
                    for r in rows
                ],
                ["id", "department", "name", "issued", "revoked"],
            )
        )
    return 0


def cmd_token_revoke(args) -> int:
    app, store = _hall_store(args)
    try:
        store.revoke_token(args.token_id)
    finally:
        app.close()
    print(f"revoked token {args.token_id}")
    return 0


def cmd_objection(args) -> int:
    app, store = _hall_store(args)
    try:
        store.set_objection(args.source_id, args.status)
    finally:
        app.close()
    print(f"{args.source_id}: {args.status or 'objection cleared'}")
    return 0


def register_reports(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "credit-report", help="信用报告 of a subject as printable HTML (and PDF) with a verification code (HALL-050)"
    )
    p.add_argument("subject", help="a USCC (统一社会信用代码) or a citizen ID number")
    _dir(p)
    p.add_argument("-o", "--output", required=True, type=Path, metavar="FILE.html")
    p.add_argument("--pdf", type=Path, metavar="FILE.pdf", help="also print it to PDF (needs chromium)")
    p.set_defaults(func=cmd_credit_report)
    p = sub.add_parser("verify-report", help="check a credit report's verification code (HALL-052)")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--ca", type=Path, help="the provincial CA certificate (default: DIR/ca.crt)")
    p.add_argument("--dir", type=Path, help="a node directory whose ca.crt and crl.pem to use")
    add_json_flag(p)
    p.set_defaults(func=cmd_verify_report)


def cmd_credit_report(args) -> int:
    from cryptography import x509

    from creditx.node.app import NodeApp
    from creditx.node.halls.credit_report import cert_pem_of, render_html, report_content, sign_report
    from creditx.node.halls.wiring import HallWiring
    from creditx.node.replica.subjects import question_from_text

    app = NodeApp(args.dir)
    try:
        wiring = HallWiring(app)
        wiring.index_job()
        q = question_from_text(args.subject, app.subject_key)
        content = report_content(wiring.halls, q, node_name=app.config.name, at=datetime.now(UTC))
        cert = x509.load_pem_x509_certificate((args.dir / "signing.crt").read_bytes())
        doc = render_html(sign_report(content, app.signer, cert_pem_of(cert)))
    finally:
        app.close()
    args.output.write_text(doc, encoding="utf-8")
    print(f"wrote {args.output} ({len(content['lists'])} list entries, {len(content['records'])} own records)")
    if args.pdf:
        from creditx.node.halls.render import to_pdf

        to_pdf(args.output, args.pdf)
        print(f"wrote {args.pdf}")
    return 0


def cmd_verify_report(args) -> int:
    from creditx.node.halls.credit_report import verify_report
    from creditx.pki.tls import FileTrustSource
    from creditx.standard.errors import InputError

    ca = args.ca or (args.dir / "ca.crt" if args.dir else None)
    if ca is None or not ca.is_file():
        raise InputError("verify-report needs the provincial CA certificate", hint="give --ca CA.crt or --dir NODEDIR")
    crl = (args.dir / "crl.pem") if args.dir else None
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{args.file}: {exc}", hint="give the .html file the node wrote") from None
    v = verify_report(text, FileTrustSource(ca, crl)())
    if args.json:
        print_json(
            {
                "valid": True,
                "node": v.region,
                "signer": v.signer,
                "generated_at": v.content["generated_at"],
                "subject": v.content["subject"]["shown"],
                "code": v.code,
            }
        )
    else:
        print(
            f"valid: 信用报告 of {v.content['subject']['shown']} issued by {v.signer} ({v.region}) at "
            f"{v.content['generated_at']}"
        )
    return 0
