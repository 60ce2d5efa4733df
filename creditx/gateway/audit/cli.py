"""``creditx gateway audit …``: verify, prove, export and sign the audit log (chapter 06).

    creditx gateway audit verify --dir DIR [--json]
    creditx gateway audit proof --dir DIR (--fingerprint HEX | --index N) [--size N] [--json]
    creditx gateway audit checkpoint --dir DIR [--json]
    creditx gateway audit export --dir DIR --out FILE

All work on the gateway's database file directly (WAL: safe while the gateway runs), so an
operator can verify a copied directory on another machine. ``verify`` exits 1 when the log
or the records were tampered with, naming the first bad leaf index.
"""

from __future__ import annotations

import argparse
import base64
import json
from datetime import UTC
from pathlib import Path

from creditx.cli.output import add_json_flag, print_json, progress
from creditx.standard.errors import InputError


def register_audit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="verify the audit log, print proofs, export evidence")
    asub = p.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")
    v = asub.add_parser("verify", help="recompute the tree, check checkpoints and every record against its leaf")
    pr = asub.add_parser("proof", help="print the inclusion proof of a record's decision")
    g = pr.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--fingerprint", help="content fingerprint, 64 hex digits (scans the records: slow on a large store)"
    )
    g.add_argument("--index", type=int, help="leaf index (the log_index of an ack)")
    pr.add_argument("--size", type=int, default=0, help="tree size (default: the latest checkpoint's)")
    c = asub.add_parser("checkpoint", help="sign a checkpoint of the current tree now")
    e = asub.add_parser("export", help="write a self-contained evidence bundle (JSON)")
    e.add_argument("--out", required=True, type=Path)
    for s, func in ((v, cmd_verify), (pr, cmd_proof), (c, cmd_checkpoint), (e, cmd_export)):
        s.add_argument("--dir", required=True, type=Path, help="gateway directory")
        if s is not e:
            add_json_flag(s)
        s.set_defaults(func=func)


def _open(args):
    from creditx.gateway.audit.checkpoints import open_db, origin_for
    from creditx.gateway.config import load_config

    cfg = load_config(args.dir)
    db = cfg.database_spec(args.dir)
    if not isinstance(db, str) and not db.exists():
        raise InputError(f"{db} does not exist", hint="give the --dir of a gateway that has run")
    return cfg, open_db(db), origin_for(cfg.name)


def _verifier(cfg, args, origin):
    from creditx.pki.files import read_cert
    from creditx.standard.checkpoint import verifier_for

    return verifier_for(origin, read_cert(cfg.path(args.dir, "signing_cert")).public_key())


def cmd_verify(args) -> int:
    from creditx.gateway.audit.evidence import verify_database
    from creditx.gateway.store.engine import transaction
    from creditx.standard.evidence import print_verdict

    cfg, conn, origin = _open(args)
    try:
        with transaction(conn, write=False):  # one snapshot, also while the gateway writes
            verdict = verify_database(
                conn,
                _verifier(cfg, args, origin),
                origin,
                progress=lambda label, total: progress(total, f"verifying {label}"),
            )
    finally:
        conn.close()
    if args.json:
        print_json(verdict)
        return 0 if verdict["ok"] else 1
    return print_verdict(
        verdict,
        f"audit log OK: {verdict['leaves']} leaves, {verdict['checkpoints']} checkpoints, "
        f"{verdict['records_checked']} records match their leaves",
        "audit log",
    )


def cmd_proof(args) -> int:
    from creditx.gateway.audit.checkpoints import inclusion_for, leaf_index_of
    from creditx.standard.merkle import ProofError

    _, conn, _ = _open(args)
    try:
        if args.fingerprint is not None:
            try:
                index = leaf_index_of(conn, bytes.fromhex(args.fingerprint))
            except (KeyError, ValueError):
                raise InputError(
                    f"no record with fingerprint {args.fingerprint!r}",
                    hint="copy the 64-hex fingerprint from an ack or `gateway records --json`",
                ) from None
        else:
            index = args.index
        p = inclusion_for(conn, index, args.size)
    except ProofError as exc:
        raise InputError(exc.message, hint=exc.hint) from None
    finally:
        conn.close()
    out = {
        "index": p["index"],
        "tree_size": p["tree_size"],
        "leaf": p["leaf_data"].decode(),
        "hashes": [base64.b64encode(h).decode() for h in p["hashes"]],
        "checkpoint": p["checkpoint"],
    }
    if args.json:
        print_json(out)
    else:
        print(f"leaf {out['index']} in tree of {out['tree_size']}: {out['leaf']}")
        for i, h in enumerate(out["hashes"]):
            print(f"  path[{i}] {h}")
        print(out["checkpoint"] or "(no checkpoint stored at this size; sign one: creditx gateway audit checkpoint)")
    return 0


def cmd_checkpoint(args) -> int:
    from datetime import datetime

    from creditx.gateway.audit.checkpoints import Checkpointer
    from creditx.pki.files import read_key

    cfg, conn, origin = _open(args)
    conn.close()
    cp = Checkpointer(
        cfg.database_spec(args.dir),
        origin,
        lambda: read_key(cfg.path(args.dir, "signing_key")),
        lambda: datetime.now(UTC),
    )
    try:
        stored = cp.sign_now()
    finally:
        cp.close()
    if args.json:
        print_json({"size": stored.size, "root": stored.root.hex(), "note": stored.note, "signed_at": stored.signed_at})
    else:
        print(stored.note, end="")
    return 0


def cmd_export(args) -> int:
    from creditx.gateway.audit.evidence import export_bundle
    from creditx.gateway.store.engine import transaction

    cfg, conn, origin = _open(args)
    verifier = _verifier(cfg, args, origin)
    with transaction(conn, write=False):
        bundle = export_bundle(
            conn,
            origin,
            verifier.to_string(),
            cfg.path(args.dir, "signing_cert").read_text(),
            cfg.path(args.dir, "ca_cert").read_text(),
        )
    conn.close()
    args.out.write_text(json.dumps(bundle, ensure_ascii=False) + "\n", "utf-8")
    print(
        f"wrote {args.out}: {len(bundle['leaves'])} leaves, {len(bundle['checkpoints'])} checkpoints; "
        f"check it with: creditx standard verify-bundle {args.out}"
    )
    return 0
