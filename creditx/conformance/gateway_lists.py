"""Gateway checks of list distribution as a node sees it (chapter 08): ``Subscribe`` (DIST-030,
032…034) and ``Snapshot`` (DIST-070…072, 074). Registered on the gateway suite's registry on
import; the helpers here serve the 1.4 checks too (``gateway_1_4``).

The suite's node (of the region the 1.1 checks share) pushes a few list records of its own
first, half of them natural persons' where the drawn rows hold any, so the log holds changes it
knows of; everything else is read as a node reads it. A gateway that already holds other
changes, or takes more while the checks run, passes the same way: the checks ask from the head
they read before pushing and hold the gateway only to what chapter 08 says of any position.
"""

from __future__ import annotations

import json
import secrets

import grpc

from creditx.conformance.checks import Evidence, Result, failed, not_applicable, passed
from creditx.conformance.gateway_1_1 import _node
from creditx.conformance.gateway_suite import GATEWAY, GatewayContext, _fresh, _gateway_verifier
from creditx.conformance.scripted_node import RPC_TIMEOUT_S, Call, ScriptedNode, ack_text, with_seq
from creditx.pki.identity import IdentityError
from creditx.standard.checkpoint import CheckpointError, parse_checkpoint, verify_checkpoint
from creditx.standard.errors import RemoteError
from creditx.standard.lists.log import check_replica
from creditx.standard.merkle import CompactRange
from creditx.v1 import exchange_pb2, lists_pb2, lists_pb2_grpc

LIST_RECORDS = 6  # pushed by a check: changes of its own in the log
DRAWN = 200  # list rows drawn to choose them from (natural persons are about one in eight)
SUBJECT_CATEGORY, PERSON = "MD_ZT_LB", "自然人"  # the subject's category (主体类别), a natural person
SMALL_BATCH = 2  # the client bound the limit check asks for (DIST-034)
MAX_BATCHES = 1000  # read at most this many batches of one stream before giving up on `live`
CHUNK_ENTRIES, CHUNKS_READ = 4, 3  # Snapshot: small chunks, the first few read (a province has millions)


def head(stub: lists_pb2_grpc.DistributionStub) -> int:
    """The list log's size from its signed checkpoint (DIST-051): the newest list_seq."""
    note = stub.GetListCheckpoint(lists_pb2.ListCheckpointRequest(), timeout=RPC_TIMEOUT_S).checkpoint
    return parse_checkpoint(note)[0].size


def push_lists(node: ScriptedNode, stub: lists_pb2_grpc.DistributionStub) -> tuple[int, int, Evidence]:
    """Read the log's head, then push LIST_RECORDS list records, half of them natural persons'
    where the drawn rows hold any (their changes withhold the origin and carry keys:
    DIST-076/077): (the first list_seq after that head, how many were accepted, the push as
    evidence)."""
    first = head(stub) + 1
    c, _ = _fresh(node)
    drawn = node.payloads(DRAWN, c + 1, record_type="LIST")
    persons = [p for p in drawn if json.loads(p)["fields"].get(SUBJECT_CATEGORY) == PERSON]
    others = [p for p in drawn if p not in persons]
    chosen = (persons[: LIST_RECORDS // 2] + others)[:LIST_RECORDS]
    batch = [node.signed(c + 1 + i, with_seq(p, c + 1 + i)) for i, p in enumerate(chosen)]
    acks = [a for r in node.push([batch]) for a in r.acks]
    accepted = sum(a.outcome == exchange_pb2.ACCEPTED for a in acks)
    return first, accepted, Evidence(f"{LIST_RECORDS} LIST records pushed", "; ".join(map(ack_text, acks)))


NONE_ACCEPTED = "none of the suite's list records was accepted (the gateway grants the region no list authority)"


def until_live(stub, req: lists_pb2.SubscribeRequest) -> list[lists_pb2.ListChangeBatch]:
    """The batches of one Subscribe stream up to the first marked ``live`` (DIST-030)."""
    stream = stub.Subscribe(req, timeout=RPC_TIMEOUT_S)
    got: list[lists_pb2.ListChangeBatch] = []
    try:
        for batch in stream:
            got.append(batch)
            if batch.live or len(got) >= MAX_BATCHES:
                break
    finally:
        stream.cancel()
    return got


def snapshot_chunks(
    stub, key: bytes, at: int, from_chunk: int, n: int, *, max_entries: int, without_origins: bool = False
) -> list[lists_pb2.SnapshotChunk]:
    """The first ``n`` chunks of the snapshot at ``at`` (0: a new one) from ``from_chunk``."""
    req = lists_pb2.SnapshotRequest(
        at_list_seq=at,
        from_chunk=from_chunk,
        max_chunk_entries=max_entries,
        subject_index_key=key,
        without_origins=without_origins,
    )
    stream = stub.Snapshot(req, timeout=RPC_TIMEOUT_S)
    got: list[lists_pb2.SnapshotChunk] = []
    try:
        for chunk in stream:
            got.append(chunk)
            if len(got) >= n:
                break
    finally:
        stream.cancel()
    return got


def _changes(batches: list[lists_pb2.ListChangeBatch]) -> list[lists_pb2.ListChange]:
    return [c for b in batches for c in b.changes]


def _told(batches: list[lists_pb2.ListChangeBatch]) -> str:
    return "; ".join(
        f"[{', '.join(str(c.list_seq) for c in b.changes)}] through {b.through_list_seq}{' live' if b.live else ''}"
        for b in batches[:12]
    ) + (f"; … {len(batches)} batches" if len(batches) > 12 else "")


@GATEWAY.check(
    "GW-DIST-SUBSCRIBE",
    ("DIST-030", "DIST-032", "DIST-033", "DIST-034"),
    "08",
    "Subscribe: backlog then live, origins carried, filter, limits",
)
def check_subscribe(ctx: GatewayContext) -> Result:
    node = _node(ctx)
    stub = lists_pb2_grpc.DistributionStub(node.channel)
    key = secrets.token_bytes(32)
    first = 0  # not read yet: a call may fail before
    try:
        first, accepted, pushed = push_lists(node, stub)
        ev = [pushed]
        if not accepted:
            return not_applicable(NONE_ACCEPTED)

        def ask(**kw) -> list[lists_pb2.ListChangeBatch]:
            return until_live(stub, lists_pb2.SubscribeRequest(from_list_seq=first, subject_index_key=key, **kw))

        whole = ask()
        small = ask(max_batch_changes=SMALL_BATCH)
        types = sorted({c.list_type for c in _changes(whole)})
        # a type that leaves some change out, where there is one, so the cursor must pass over it
        wanted = next((t for t in types if any(c.list_type != t for c in _changes(whole))), types[0] if types else "")
        filtered = ask(list_types=[wanted]) if wanted else []
    except grpc.RpcError as exc:
        return failed(
            "a call failed",
            Evidence(f"GetListCheckpoint, Push, then Subscribe from list_seq {first or '?'}", str(Call.of(exc))),
        )
    finally:
        node.close()
    ev.append(Evidence(f"Subscribe(from_list_seq={first})", _told(whole)))
    ev.append(Evidence(f"Subscribe(from_list_seq={first}, max_batch_changes={SMALL_BATCH})", _told(small)))
    ev.append(Evidence(f"Subscribe(from_list_seq={first}, list_types=[{wanted!r}])", _told(filtered)))
    changes = _changes(whole)
    seqs = [c.list_seq for c in changes]
    if not whole or not whole[-1].live:
        return failed("the stream never marked a batch live after its backlog (DIST-030)", *ev)
    if seqs != list(range(first, first + len(seqs))) or len(seqs) < accepted:
        return failed(
            f"expected the {accepted} accepted changes (and any others) consecutively from list_seq {first} (DIST-030/034)",
            *ev,
        )
    if whole[-1].through_list_seq < seqs[-1] or any(
        b.changes and b.through_list_seq < b.changes[-1].list_seq for b in whole
    ):
        return failed("a batch's through_list_seq is below its last change (DIST-033)", *ev)
    bare = [c.list_seq for c in changes if not c.subject_index and not (c.origin.payload and c.origin.signatures)]
    if bare:
        return failed(f"changes {bare[:5]} of an organisation's entry carry no signed origin envelope (DIST-032)", *ev)
    if any(len(b.changes) > SMALL_BATCH for b in small):
        return failed(f"a batch holds more than the {SMALL_BATCH} changes the client asked for (DIST-034)", *ev)
    small_seqs = [c.list_seq for c in _changes(small)]
    if small_seqs[: len(seqs)] != seqs[: len(small_seqs)] or len(small_seqs) < len(seqs):
        return failed("in batches of the client's bound the stream does not send the same changes (DIST-034)", *ev)
    kept = [c.list_seq for c in _changes(filtered)]
    want = [c.list_seq for c in changes if c.list_type == wanted]
    if any(c.list_type != wanted for c in _changes(filtered)) or kept[: len(want)] != want:
        return failed(
            f"with list_types [{wanted!r}] the stream sends other types, or not every change of it (DIST-033)", *ev
        )
    if not filtered or filtered[-1].through_list_seq < seqs[-1]:
        return failed(
            f"with a filter, through_list_seq must still reach {seqs[-1]} over the changes left out (DIST-033)", *ev
        )
    persons = sum(1 for c in changes if c.subject_index)
    return passed(f"{len(seqs)} changes, {persons} of them a person's, {len(types)} list types", *ev)


@GATEWAY.check(
    "GW-DIST-SNAPSHOT",
    ("DIST-070", "DIST-071", "DIST-072", "DIST-074"),
    "08",
    "Snapshot: one list_seq, ordered bounded chunks that resume alike, a frontier the signed log proves",
)
def check_snapshot(ctx: GatewayContext) -> Result:
    node = _node(ctx)
    stub = lists_pb2_grpc.DistributionStub(node.channel)
    key = secrets.token_bytes(32)
    try:
        _, accepted, pushed = push_lists(node, stub)  # a state of several chunks, whatever the gateway held
        _, hs = _fresh(node)
        ev = [pushed]
        read = snapshot_chunks(stub, key, 0, 0, CHUNKS_READ, max_entries=CHUNK_ENTRIES)
        at = read[0].at_list_seq if read else 0
        again = snapshot_chunks(stub, key, at, 1, 1, max_entries=CHUNK_ENTRIES) if len(read) > 1 else []
        cp_resp = stub.GetListCheckpoint(lists_pb2.ListCheckpointRequest(from_size=at), timeout=RPC_TIMEOUT_S)
    except grpc.RpcError as exc:
        return failed(
            "a call failed",
            Evidence("Push, Snapshot from chunk 0, again from chunk 1, GetListCheckpoint", str(Call.of(exc))),
        )
    finally:
        node.close()
    ev.append(
        Evidence(
            f"Snapshot(at_list_seq=0, max_chunk_entries={CHUNK_ENTRIES}), the first {CHUNKS_READ} chunks",
            "; ".join(f"#{c.index}/{c.total} at {c.at_list_seq}: {len(c.entries)} entries" for c in read),
        )
    )
    if not read:
        return failed("the Snapshot stream ended without a chunk (DIST-070: an empty state is one empty chunk)", *ev)
    if not read[0].entries:
        return not_applicable(f"the snapshot holds no entries ({accepted} of the suite's list records accepted)")
    total = read[0].total
    if [c.index for c in read] != list(range(len(read))) or any((c.at_list_seq, c.total) != (at, total) for c in read):
        return failed("chunks must come in index order from 0, all with the same at_list_seq and total (DIST-070)", *ev)
    if len(read) < min(total, CHUNKS_READ):
        return failed(f"the stream ended after {len(read)} of {total} chunks (DIST-070)", *ev)
    if any(len(c.entries) > CHUNK_ENTRIES for c in read):
        return failed(f"a chunk holds more than max_chunk_entries {CHUNK_ENTRIES} entries (DIST-071)", *ev)
    ids = [e.entry_id.encode("utf-8") for c in read for e in c.entries]
    if ids != sorted(ids) or len(set(ids)) != len(ids):
        return failed("entries are not in ascending entry_id order by UTF-8 bytes, once each (DIST-071)", *ev)
    if again:
        ev.append(
            Evidence(f"Snapshot(at_list_seq={at}, from_chunk=1)", f"#{again[0].index}: {len(again[0].entries)} entries")
        )
        if again[0].index != 1 or list(again[0].entries) != list(read[1].entries):
            return failed("the same snapshot asked again from chunk 1 gives another chunk 1 (DIST-071/072)", *ev)
    try:
        frontier = CompactRange.from_bytes(read[0].frontier)
        cp = verify_checkpoint(cp_resp.checkpoint, [_gateway_verifier(ctx, hs, cp_resp.checkpoint)])
        ev.append(
            Evidence(
                f"GetListCheckpoint(from_size={at})", f"size {cp.size}, {len(cp_resp.consistency_proof)} proof hashes"
            )
        )
        if frontier.size != at:
            return failed(
                f"chunk 0's frontier has size {frontier.size}, the snapshot is at list_seq {at} (DIST-074)", *ev
            )
        verdict = check_replica(frontier, cp, list(cp_resp.consistency_proof))
    except (RemoteError, CheckpointError, IdentityError, ValueError) as exc:
        return failed(f"chunk 0's frontier is not proven by the signed list checkpoint: {exc} (DIST-074)", *ev)
    if verdict == "AHEAD":  # a node waits for a newer checkpoint (DIST-052); the suite does not
        return not_applicable(
            f"the list checkpoint served (size {cp.size}) is older than the snapshot (list_seq {at}): run again once "
            "the gateway has signed past it"
        )
    return passed(
        f"{len(read)} of {total} chunks at list_seq {at}; frontier {verdict.lower()} of checkpoint {cp.size}", *ev
    )
