"""``creditx gateway backup | restore | migrate-store``: whole-database copies between stores.

* ``backup --dir DIR --out FILE`` writes a consistent snapshot of the gateway's store (SQLite or
  PostgreSQL, also while the gateway runs) to a new SQLite file, then verifies its audit log.
* ``restore --dir DIR --from FILE`` copies a backup into the gateway's configured store, which
  must be empty, and verifies the result. The gateway must be stopped.
* ``migrate-store --dir DIR --to postgresql://…`` moves a SQLite gateway to PostgreSQL: copies
  every record, leaf and checkpoint with progress, verifies the audit log and the row counts on
  the destination, and only then points ``gateway.json`` at it (the SQLite file stays untouched,
  the way back). The gateway must be stopped: nodes keep their outbox and resend after the
  restart (ADR 0007), so nothing pushed meanwhile is lost.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from creditx.cli.output import add_json_flag, format_table, print_json, progress
from creditx.standard.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("backup", help="write the gateway's store (either engine) to a new SQLite file, verified")
    b.add_argument("--dir", required=True, type=Path)
    b.add_argument("--out", required=True, type=Path, help="the backup file to create (must not exist)")
    add_json_flag(b)
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help="copy a backup into the gateway's (empty) store, verified")
    r.add_argument("--dir", required=True, type=Path)
    r.add_argument("--from", dest="source", required=True, type=Path, help="a file written by gateway backup")
    add_json_flag(r)
    r.set_defaults(func=cmd_restore)
    m = sub.add_parser("migrate-store", help="move a stopped SQLite gateway to PostgreSQL, verified")
    m.add_argument("--dir", required=True, type=Path)
    m.add_argument("--to", required=True, metavar="postgresql://…", help="an empty PostgreSQL database")
    add_json_flag(m)
    m.set_defaults(func=cmd_migrate_store)


def _shown(spec: str | Path) -> str:
    return str(spec).split("@")[-1]  # never echo a password


def _refuse_if_running(directory: Path, what: str) -> None:
    run = directory / "run.json"
    try:
        pid = int(json.loads(run.read_text("utf-8")).get("pid", 0))
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    except PermissionError:
        pass
    raise InputError(
        f"the gateway in {directory} is running (pid {pid})",
        hint=f"stop it (SIGTERM) before {what}; nodes keep their records and resend after the restart",
    )


def _progress(quiet: bool) -> Callable[[str, int, int], None]:
    """A progress line per table on a terminal; one line per finished table otherwise (logs)."""
    bars: dict[str, Callable[[int], None]] = {}
    last: dict[str, int] = {}

    def report(table: str, done: int, total: int) -> None:
        if quiet:
            return
        if table not in bars:
            bars[table] = progress(total, f"copying {table}")
        bars[table](done - last.get(table, 0))
        last[table] = done
        if done >= total and not sys.stderr.isatty():
            print(f"copied {table}: {done} rows", file=sys.stderr, flush=True)

    return report


def _verify(directory: Path, spec: str | Path) -> dict:
    from creditx.gateway.audit.checkpoints import origin_for
    from creditx.gateway.audit.evidence import verify_database
    from creditx.gateway.config import load_config
    from creditx.gateway.store.engine import open_conn, transaction
    from creditx.pki.files import read_cert
    from creditx.standard.checkpoint import verifier_for

    cfg = load_config(directory)
    origin = origin_for(cfg.name)
    verifier = verifier_for(origin, read_cert(cfg.path(directory, "signing_cert")).public_key())
    conn = open_conn(spec)
    try:
        with transaction(conn, write=False):
            return verify_database(conn, verifier, origin)
    finally:
        conn.close()


def _copy(args, source: str | Path, destination: str | Path, verb: str) -> dict:
    from creditx.gateway.store.copy import copy_database

    try:
        report = copy_database(source, destination, progress=_progress(args.json))
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 — a database that refuses us is the operator's to fix
        raise InputError(
            f"{verb} from {_shown(source)} to {_shown(destination)} failed: {type(exc).__name__}: {exc}",
            hint="nothing was written to the destination (one transaction); fix the cause and run it again",
        ) from None
    verdict = _verify(args.dir, destination)
    out = {
        "from": _shown(source),
        "to": _shown(destination),
        "schema_version": report.schema_version,
        "tables": report.tables,
        "audit": verdict,
    }
    if not verdict["ok"]:
        raise InputError(
            f"{verb}: the copy's audit log does not verify: {verdict.get('problems', [])[:3]}",
            hint="keep using the source; report this with the output of `creditx gateway audit verify`",
        )
    return out


def _print(args, out: dict, done: str) -> int:
    if args.json:
        print_json(out)
        return 0
    rows = [(t, n) for t, n in sorted(out["tables"].items()) if n]
    print(format_table(rows, ["table", "rows"]))
    a = out["audit"]
    print(
        f"audit log OK on the copy: {a['leaves']} leaves, {a['checkpoints']} checkpoints, "
        f"{a['records_checked']} records match their leaves"
    )
    print(done)
    return 0


def cmd_backup(args) -> int:
    from creditx.gateway.config import load_config

    cfg = load_config(args.dir)
    if args.out.exists():
        raise InputError(f"{args.out} already exists", hint="give a new file name for the backup")
    try:
        out = _copy(args, cfg.database_spec(args.dir), args.out, "backup")
    except BaseException:
        args.out.unlink(missing_ok=True)
        raise
    return _print(args, out, f"backup written to {args.out}; restore with: creditx gateway restore --from {args.out}")


def cmd_restore(args) -> int:
    from creditx.gateway.config import load_config

    if not args.source.is_file():
        raise InputError(f"{args.source} does not exist", hint="give a file written by `creditx gateway backup`")
    _refuse_if_running(args.dir, "restoring")
    cfg = load_config(args.dir)
    out = _copy(args, args.source, cfg.database_spec(args.dir), "restore")
    return _print(args, out, f"restored into {_shown(cfg.database_spec(args.dir))}")


def cmd_migrate_store(args) -> int:
    from creditx.gateway.config import load_config, save_config
    from creditx.gateway.store.engine import is_url

    cfg = load_config(args.dir)
    if is_url(cfg.database):
        raise InputError("this gateway already runs on PostgreSQL", hint="migrate-store moves a SQLite gateway")
    if not is_url(args.to):
        raise InputError(f"--to {args.to!r} is not a postgresql:// URL", hint="postgresql://USER@HOST:PORT/DBNAME")
    _refuse_if_running(args.dir, "migrating its store")
    source = cfg.database_spec(args.dir)
    if not Path(source).is_file():
        raise InputError(f"{source} does not exist", hint="give the --dir of a gateway that has run")
    out = _copy(args, source, args.to, "migrate-store")
    counts_src = _counts(source, out["tables"])
    counts_dst = _counts(args.to, out["tables"])
    if counts_src != counts_dst:
        raise InputError(
            f"row counts differ after the copy: {counts_src} vs {counts_dst}", hint="keep the SQLite store"
        )
    save_config(args.dir, replace(cfg, database=args.to))
    print(f"gateway.json now points at {_shown(args.to)}; the SQLite file {source} is kept as it was", file=sys.stderr)
    return _print(args, out, f"moved to PostgreSQL; start with: creditx gateway run --dir {args.dir}")


def _counts(spec: str | Path, names: dict[str, int]) -> dict[str, int]:
    from creditx.gateway.store.engine import open_conn

    conn = open_conn(spec)
    try:
        return {t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in sorted(names)}
    finally:
        conn.close()
