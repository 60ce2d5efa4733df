"""The demo's second act: a list change made at one city reaches every city's departments.

After the upward sync, a new black-list entry (失信被执行人) is submitted at one city's node
through its local API, as the city's own court system would; it travels node → gateway →
list log → every node's replica. The demo times, per node, how long until the node's
Departments.Check answers "listed". Then a credit-repair removal (信用修复) of the same entry
travels the same way, and the demo times until no node lists the subject any more.

Everything here talks to the nodes over their Unix-socket local APIs (NodeApi.Submit,
Departments.Check); nothing imports ``node``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import grpc

from creditx.standard.catalogue import load_catalogue
from creditx.standard.identifiers import org_code_check_char, uscc_check_char
from creditx.standard.synth import generate_rows

BLACK_LIST_TYPE = "SXBZXR"  # 失信被执行人


def _valid_uscc(body16: str) -> str:
    body17 = body16 + org_code_check_char(body16[8:16])
    return body17 + uscc_check_char(body17)


# A well-formed USCC that no generated record uses: Check validates the subject first.
PROBE_USCC = _valid_uscc("9137000000000000")


def _channel(node_dir: Path) -> grpc.Channel:
    return grpc.insecure_channel(f"unix://{node_dir / 'node.sock'}")


def applied_list_seq(node_dir: Path) -> int:
    """The replica's cursor, from a Check for a subject nobody holds (cheap, read-only)."""
    from creditx.v1 import lists_pb2, lists_pb2_grpc

    with _channel(node_dir) as ch:
        resp = lists_pb2_grpc.DepartmentsStub(ch).Check(
            lists_pb2.CheckRequest(subject=lists_pb2.Subject(uscc=PROBE_USCC)), timeout=5
        )
    return resp.applied_list_seq


def is_listed(node_dir: Path, uscc: str) -> bool:
    from creditx.v1 import lists_pb2, lists_pb2_grpc

    with _channel(node_dir) as ch:
        resp = lists_pb2_grpc.DepartmentsStub(ch).Check(
            lists_pb2.CheckRequest(subject=lists_pb2.Subject(uscc=uscc)), timeout=5
        )
    return any(m.list_type == BLACK_LIST_TYPE for m in resp.memberships)


def submit(node_dir: Path, fields: dict[str, str], *, op: str, version: int, source_id: str) -> None:
    from creditx.v1 import node_api_pb2, node_api_pb2_grpc

    rec = node_api_pb2.NodeSubmitRecord(type="LIST", op=op, version=version, source_id=source_id, fields=fields)
    with _channel(node_dir) as ch:
        api = node_api_pb2_grpc.NodeApiStub(ch)
        (result,) = api.Submit(node_api_pb2.NodeSubmitRequest(records=[rec]), timeout=10).results
        if not result.accepted:
            problems = "; ".join(f"{v.field} {v.rule} {v.reason}: {v.message}" for v in result.violations)
            raise RuntimeError(f"the demo's list entry was refused by the node: {problems}")
        api.Nudge(node_api_pb2.NodeNudgeRequest(), timeout=5)


def black_list_candidates(region: str, today: dt.date, seed: int):
    """Realistic 失信被执行人 entries for companies, listed today by the city's court. The seed is
    kept apart from the cities' generated files, so these are not rows the city already sent."""
    for row in generate_rows(region, "LIST", 2000, seed=seed + 1_000_003, today=today):
        f = row.fields
        if f.get("MD_LX") == BLACK_LIST_TYPE and f.get("MD_ZT_SHXYM") and not f.get("MD_YCRQ"):
            end = dt.date(today.year + 2, today.month, min(today.day, 28))
            yield {**f, "MD_LRRQ": today.isoformat(), "MD_GLQX_Q": today.isoformat(), "MD_GLQX_Z": end.isoformat()}


def time_until(node_dirs: list[Path], condition, *, t0: float, deadline: float) -> dict[str, float | None]:
    """Seconds from ``t0`` until ``condition(node_dir)`` holds, per node (polled concurrently)."""
    seen: dict[str, float | None] = {d.name: None for d in node_dirs}

    def watch(d: Path) -> None:
        while time.monotonic() < deadline:
            try:
                if condition(d):
                    seen[d.name] = round(time.monotonic() - t0, 3)
                    return
            except grpc.RpcError:
                pass  # the node is busy or restarting; ask again
            time.sleep(0.01)  # paces re-checking a real condition, never a blind wait

    threads = [threading.Thread(target=watch, args=(d,)) for d in node_dirs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


def propagate(node_dirs: list[Path], origin: Path, *, today: dt.date, seed: int, timeout: float) -> dict:
    """Add a black-list entry at ``origin``, wait for every node; then remove it by credit repair."""
    # A subject no replica lists yet, so the timing measures this change and nothing older.
    fields = next(
        (
            f
            for f in black_list_candidates(origin.name, today, seed)
            if not any(is_listed(d, f["MD_ZT_SHXYM"]) for d in node_dirs)
        ),
        None,
    )
    if fields is None:
        raise RuntimeError("every generated 失信被执行人 candidate is already listed somewhere")
    uscc = fields["MD_ZT_SHXYM"]
    source_id = f"{origin.name}-DEMO-SXBZXR-1"
    black = load_catalogue().list_type(BLACK_LIST_TYPE)
    if black is None:
        raise RuntimeError(f"the catalogue has no list type {BLACK_LIST_TYPE}")
    colour = black.colour

    t0 = time.monotonic()
    submit(origin, fields, op="I", version=1, source_id=source_id)
    added = time_until(node_dirs, lambda d: is_listed(d, uscc), t0=t0, deadline=t0 + timeout)

    removal = {**fields, "MD_YCRQ": today.isoformat(), "MD_YCYY": "信用修复", "MD_YCJG": fields.get("MD_RDJG", "")}
    t1 = time.monotonic()
    submit(origin, removal, op="U", version=2, source_id=source_id)
    removed = time_until(node_dirs, lambda d: not is_listed(d, uscc), t0=t1, deadline=t1 + timeout)

    def summary(times: dict[str, float | None]) -> dict:
        got = sorted(v for v in times.values() if v is not None)
        return {
            "per_node_s": times,
            "reached": len(got),
            "of": len(times),
            "median_s": got[len(got) // 2] if got else None,
            "max_s": got[-1] if got else None,
        }

    return {
        "subject": {
            "name": fields.get("MD_ZT_MC"),
            "uscc": uscc,
            "list_type": BLACK_LIST_TYPE,
            "colour": colour,
            "origin": origin.name,
        },
        "added": summary(added),
        "removed_by_credit_repair": summary(removed),
    }
