"""Gateway checks of what exchange standard 1.4 added to distribution (chapter 08): compressed
Subscribe batches (DIST-086…089) and snapshots without origins (DIST-082). Registered on the
gateway suite's registry on import.

Both compare the new form with the form a node that does not ask is sent, from the same
gateway at the same position: the standard defines the new form by the old one (the block is
exactly the bytes the changes would be, without ``subject_index``; a chunk without origins is
the same chunk less its origins), so the comparison needs no knowledge of the gateway's data.
The suite plays a node of the region the 1.1 checks share, with a subject index key of its own;
it pushes a few list records first so that the log holds changes of its own to compare.
"""

from __future__ import annotations

import secrets
import zlib

import grpc

from creditx.conformance.checks import Evidence, Result, failed, not_applicable, passed
from creditx.conformance.gateway_1_1 import _node
from creditx.conformance.gateway_lists import LIST_RECORDS, NONE_ACCEPTED, push_lists, snapshot_chunks, until_live
from creditx.conformance.gateway_suite import GATEWAY, GatewayContext
from creditx.conformance.scripted_node import Call
from creditx.v1 import lists_pb2, lists_pb2_grpc

MAX_CHANGES_SIZE = 16 * 1024 * 1024  # DIST-089
SNAPSHOT_CHUNK_ENTRIES = 50  # the first chunk only is compared: a province's snapshot is millions of entries


def _first_with_changes(stub, first: int, key: bytes, compressed: bool) -> lists_pb2.ListChangeBatch | None:
    req = lists_pb2.SubscribeRequest(
        from_list_seq=first, max_batch_changes=LIST_RECORDS, subject_index_key=key, compressed_changes=compressed
    )
    return next((b for b in until_live(stub, req) if b.changes or b.changes_zlib), None)


def _inflate(block: bytes, size: int) -> bytes | str:
    """The block inflated to at most ``size`` + 1 bytes (DIST-089), or why it does not inflate."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(block, size + 1)
    except zlib.error as exc:
        return f"does not inflate: {exc}"
    if len(out) != size:
        return f"inflates to {len(out)}{'+' if len(out) > size else ''} bytes, changes_size says {size}"
    if d.unconsumed_tail or d.unused_data or not d.eof:
        return "is truncated or has bytes after its end"
    return out


def _without_keys(c: lists_pb2.ListChange) -> lists_pb2.ListChange:
    bare = lists_pb2.ListChange()
    bare.CopyFrom(c)
    bare.ClearField("subject_index")
    return bare


@GATEWAY.check(
    "GW-DIST-COMPRESSED",
    ("DIST-086", "DIST-087", "DIST-088", "DIST-089"),
    "08",
    "compressed Subscribe batches: one block that inflates to the changes, persons' keys beside it, within 16 MiB",
)
def check_compressed_batches(ctx: GatewayContext) -> Result:
    node = _node(ctx)
    stub = lists_pb2_grpc.DistributionStub(node.channel)
    first = 0  # not read yet: a call may fail before
    try:
        first, accepted, pushed = push_lists(node, stub)
        ev = [pushed]
        if not accepted:
            return not_applicable(NONE_ACCEPTED)
        key = secrets.token_bytes(32)
        plain = _first_with_changes(stub, first, key, compressed=False)
        packed = _first_with_changes(stub, first, key, compressed=True)
    except grpc.RpcError as exc:
        return failed(
            "a call failed",
            Evidence(f"GetListCheckpoint, Push, then Subscribe from list_seq {first or '?'}", str(Call.of(exc))),
        )
    finally:
        node.close()
    if plain is None or packed is None:
        return failed(f"no batch with changes from list_seq {first} although {accepted} list records were accepted")
    ev.append(
        Evidence(
            f"Subscribe(from_list_seq={first}, compressed_changes=true)",
            f"{len(packed.changes)} changes, changes_zlib {len(packed.changes_zlib)} bytes, "
            f"changes_size {packed.changes_size}, {len(packed.subject_indexes)} subject_indexes, "
            f"through {packed.through_list_seq}",
        )
    )
    if packed.changes or not packed.changes_zlib:
        return failed(
            "asked for compressed batches, the gateway sent `changes` (DIST-086: a 1.4 gateway sends the block)", *ev
        )
    if packed.changes_size > MAX_CHANGES_SIZE:
        return failed(f"changes_size {packed.changes_size} is above 16 MiB (DIST-089)", *ev)
    raw = _inflate(packed.changes_zlib, packed.changes_size)
    if isinstance(raw, str):
        return failed(f"the block {raw} (DIST-087)", *ev)
    inside = lists_pb2.ListChangeBatch()
    try:
        inside.ParseFromString(raw)
    except Exception as exc:  # noqa: BLE001 - the gateway's bytes: any parse failure is its fault
        return failed(f"the block is not ListChangeBatch changes: {type(exc).__name__} (DIST-087)", *ev)
    if inside.SerializeToString() != raw or inside.through_list_seq or inside.head_list_seq or inside.live:
        return failed("the block holds something besides `changes` fields, or not in their encoding (DIST-087)", *ev)
    if any(c.subject_index for c in inside.changes):
        return failed(
            "a change in the block carries subject_index: the block must not depend on the node (DIST-087)", *ev
        )
    seqs = [c.list_seq for c in inside.changes]
    side = [(s.list_seq, list(s.subject_index)) for s in packed.subject_indexes]
    if [s for s, _ in side] != sorted({s for s, _ in side}) or not {s for s, _ in side} <= set(seqs):
        return failed(
            f"subject_indexes {[s for s, _ in side]} are not ascending, once each, changes of the block {seqs} (DIST-088)",
            *ev,
        )
    # the same position in the form a node that does not ask gets: the same changes (DIST-086)
    common = min(len(inside.changes), len(plain.changes))
    ev.append(Evidence(f"Subscribe(from_list_seq={first}) without compression", f"{len(plain.changes)} changes"))
    keys = dict(side)
    for got, want in zip(inside.changes[:common], plain.changes[:common], strict=True):
        if got != _without_keys(want):
            return failed(
                f"change {want.list_seq} in the block is not the change sent without compression (DIST-087)", *ev
            )
        if list(want.subject_index) != keys.get(want.list_seq, []):
            return failed(
                f"change {want.list_seq}: the keys beside the block are not the subject_index sent without "
                "compression for the same node key (DIST-088)",
                *ev,
            )
    persons = sum(1 for s, _ in side if s <= seqs[common - 1]) if common else 0
    return passed(f"{common} changes compared, {persons} of them a person's with its keys beside the block", *ev)


@GATEWAY.check(
    "GW-DIST-SNAPSHOT-NO-ORIGINS",
    ("DIST-082",),
    "08",
    "Snapshot without_origins: no origins, the persons' keys parallel, the same chunks",
)
def check_snapshot_without_origins(ctx: GatewayContext) -> Result:
    node = _node(ctx)
    stub = lists_pb2_grpc.DistributionStub(node.channel)
    key = secrets.token_bytes(32)
    try:
        _, accepted, pushed = push_lists(node, stub)  # a state that holds entries, whatever the gateway held
        ev = [pushed]
        full = snapshot_chunks(stub, key, 0, 0, 1, max_entries=SNAPSHOT_CHUNK_ENTRIES)[0]
        # the same snapshot (DIST-072), without origins
        bare = snapshot_chunks(
            stub, key, full.at_list_seq, 0, 1, max_entries=SNAPSHOT_CHUNK_ENTRIES, without_origins=True
        )[0]
    except (grpc.RpcError, IndexError) as exc:
        detail = str(Call.of(exc)) if isinstance(exc, grpc.RpcError) else "the stream ended without a chunk"
        return failed("a call failed", Evidence("Push, then Snapshot chunk 0 with and without origins", detail))
    finally:
        node.close()
    ev.append(
        Evidence(
            f"Snapshot(at_list_seq={full.at_list_seq}, max_chunk_entries={SNAPSHOT_CHUNK_ENTRIES}) chunk 0, "
            "with origins, then without_origins=true",
            f"{len(full.entries)} entries and {len(full.origins)} origins of {full.entries_total}, total {full.total}; "
            f"then {len(bare.entries)} entries, {len(bare.origins)} origins, "
            f"{len(bare.subject_indexes)} subject_indexes, total {bare.total}",
        )
    )
    if not full.entries:
        return not_applicable(f"the snapshot holds no entries ({accepted} of the suite's list records accepted)")
    if bare.origins:
        return failed("asked without origins, the chunk carries origins (DIST-082)", *ev)
    if (bare.at_list_seq, bare.total, bare.entries_total) != (full.at_list_seq, full.total, full.entries_total):
        return failed(
            "at_list_seq, total or entries_total differ between the two forms: chunking is unchanged (DIST-082)", *ev
        )
    if list(bare.entries) != list(full.entries):
        return failed("the entries of chunk 0 differ between the two forms (DIST-082)", *ev)
    if list(bare.subject_indexes) != list(full.subject_indexes) or len(bare.subject_indexes) != len(bare.entries):
        return failed(
            "subject_indexes are not parallel to the entries, or not the keys sent with origins (DIST-077/082)", *ev
        )
    persons = sum(1 for s in bare.subject_indexes if s)
    return passed(f"chunk 0 of {full.total}: {len(bare.entries)} entries compared, {persons} of them a person's", *ev)
