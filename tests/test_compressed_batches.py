"""DIST-086…089: a Subscribe batch's changes compressed once for every subscriber, the persons'
index keys beside them. The gateway's compressed form and its plain form hold the same changes
for every node's key; the node's reading of a compressed batch is bounded and refuses anything
DIST-087/088 do not allow, naming why."""

from __future__ import annotations

import threading
import zlib

import pytest

from creditx.gateway.lists.fanout import SharedBlock, SharedBlocks
from creditx.gateway.lists.wire import EncodedChange, batch_bytes, compress_changes, compressed_batch_bytes
from creditx.node.replica.wire import batch_changes
from creditx.standard.lists.compressed import MAX_CHANGES_SIZE, inflate_changes, join_index_keys
from creditx.standard.lists.lifecycle import ListError
from creditx.v1 import lists_pb2 as lpb
from tests.gateway_lists.test_fanout import _changes

KEYS = [bytes(range(32)), bytes(range(32, 64))]


def _compressed(encoded: list[EncodedChange], key: bytes, through: int = 30) -> lpb.ListChangeBatch:
    block, size = compress_changes(encoded)
    persons = [c for c in encoded if c.person is not None]
    return lpb.ListChangeBatch.FromString(compressed_batch_bytes(block, size, persons, key, through, 31, False))


@pytest.mark.parametrize("key", KEYS, ids=["key-a", "key-b"])
def test_both_forms_hold_the_same_changes_for_each_nodes_key(key):
    encoded = [EncodedChange(c) for c in _changes(30)]
    plain = lpb.ListChangeBatch.FromString(batch_bytes([c.field(key) for c in encoded], 30, 31, False))
    packed = _compressed(encoded, key)
    assert not packed.changes and packed.subject_indexes and packed.through_list_seq == 30
    assert [c.SerializeToString() for c in batch_changes(packed)] == [c.SerializeToString() for c in plain.changes]
    assert list(batch_changes(plain)) == list(plain.changes)  # the old form is read as before
    assert len(packed.changes_zlib) * 3 < len(b"".join(c.part for c in encoded))


def test_the_block_is_the_same_bytes_for_every_node_and_only_the_side_list_differs():
    encoded = [EncodedChange(c) for c in _changes(30)]
    a, b = (_compressed(encoded, k) for k in KEYS)
    assert a.changes_zlib == b.changes_zlib and a.changes_size == b.changes_size
    assert [s.list_seq for s in a.subject_indexes] == [s.list_seq for s in b.subject_indexes]
    assert all(x.subject_index != y.subject_index for x, y in zip(a.subject_indexes, b.subject_indexes, strict=True))
    inside = lpb.ListChangeBatch.FromString(zlib.decompress(a.changes_zlib))
    assert not any(c.subject_index for c in inside.changes)  # DIST-088: no node's keys in the block


def test_subscribers_at_one_position_cost_one_compression():
    blocks = SharedBlocks(keep=2)
    made: list[int] = []

    def make(n: int):
        def go() -> SharedBlock:
            made.append(n)
            return SharedBlock(b"", 0, n, [], [])

        return go

    got: list[SharedBlock] = []
    threads = [threading.Thread(target=lambda: got.append(blocks.get((0, 5), make(5)))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert made == [5] and len(got) == 8 and all(g is got[0] for g in got) and blocks.compressed == 1
    blocks.get((5, 9), make(9))
    blocks.get((9, 12), make(12))  # keep=2: (0, 5) is dropped and would be made again
    blocks.get((0, 5), make(5))
    assert made == [5, 9, 12, 5]


def test_the_shared_blocks_held_are_bounded_in_bytes_the_newest_always_kept():
    """Positions and filters are the subscribers' choice: however many distinct blocks they ask
    for, the gateway holds at most max_bytes of them (and the newest, whatever its size)."""
    blocks = SharedBlocks(keep=64, max_bytes=10_000)
    made: list[int] = []

    def block_of(size: int, through: int):
        def go() -> SharedBlock:
            made.append(through)
            return SharedBlock(bytes(size), size, through, [through], [])

        return go

    for n in range(20):
        assert len(blocks.get((n, n + 1), block_of(3_000, n)).block) == 3_000
        assert blocks.held_bytes <= 10_000
    assert blocks.held_bytes == 9_000  # the three newest
    big = blocks.get((99, 100), block_of(50_000, 100))
    assert big.through == 100 and blocks.held_bytes == 50_000  # alone, but kept: it is being served
    blocks.get((19, 20), block_of(1, 19))
    assert made == [*range(20), 100, 19]


def _batch(**fields) -> lpb.ListChangeBatch:
    return lpb.ListChangeBatch(through_list_seq=1, head_list_seq=1, **fields)


def _refused(m: lpb.ListChangeBatch, bound: int = MAX_CHANGES_SIZE) -> ListError:
    with pytest.raises(ListError) as e:
        batch_changes(m, bound)
    return e.value


def test_a_block_that_inflates_beyond_its_declared_size_is_refused_without_inflating_it():
    bomb = zlib.compress(bytes(64 * 1024 * 1024), 9)  # 64 MiB of zeros in ~64 KB
    err = _refused(_batch(changes_zlib=bomb, changes_size=1000))
    assert (err.reason, err.rule, err.field) == ("DIST_BATCH_TOO_LARGE", "DIST-089", "changes_zlib")
    assert "beyond its changes_size of 1000" in err.detail
    err = _refused(_batch(changes_zlib=bomb, changes_size=64 * 1024 * 1024))  # declared, but over the bound
    assert (err.reason, err.field) == ("DIST_BATCH_TOO_LARGE", "changes_size") and "nothing was inflated" in err.detail
    with pytest.raises(ListError):
        inflate_changes(bomb, 2048, bound=1024)
    with pytest.raises(ListError) as e:  # max_length 0 would be zlib's "no limit"
        inflate_changes(bomb, -1)
    assert (e.value.reason, e.value.field) == ("DIST_BATCH_CORRUPT", "changes_size")


@pytest.mark.parametrize(
    "mutate, why",
    [
        ("truncated", "truncated"),
        ("trailing", "bytes after its end"),
        ("not-zlib", "does not inflate"),
        ("short", "not its changes_size"),
        ("both-forms", "both changes and changes_zlib"),
        ("side-list-alone", "without changes_zlib"),
        ("keys-inside", "carries subject_index"),
        ("not-changes", "holds more than changes"),
        ("not-protobuf", "does not hold ListChange fields"),
    ],
)
def test_a_malformed_compressed_batch_is_refused_naming_why(mutate, why):
    encoded = [EncodedChange(c) for c in _changes(6)]
    good = _compressed(encoded, KEYS[0], through=6)
    raw = zlib.decompress(good.changes_zlib)
    m = lpb.ListChangeBatch()
    m.CopyFrom(good)
    if mutate == "truncated":
        m.changes_zlib = good.changes_zlib[:-6]
    elif mutate == "trailing":
        m.changes_zlib = good.changes_zlib + b"x"
    elif mutate == "not-zlib":
        m.changes_zlib = b"\x00" * 20
    elif mutate == "short":
        m.changes_size = len(raw) + 10
    elif mutate == "both-forms":
        m.changes.add(list_seq=1)
    elif mutate == "side-list-alone":
        m.ClearField("changes_zlib")
    elif mutate in ("keys-inside", "not-changes", "not-protobuf"):
        if mutate == "keys-inside":
            inner = lpb.ListChangeBatch.FromString(raw)
            inner.changes[0].subject_index.append("R:x")
            raw = inner.SerializeToString()
        else:
            raw += lpb.ListChangeBatch(live=True).SerializeToString() if mutate == "not-changes" else b"\xff\xff"
        m.changes_zlib, m.changes_size = zlib.compress(raw), len(raw)
    err = _refused(m)
    assert err.reason == "DIST_BATCH_CORRUPT" and why in err.detail


def test_the_side_list_names_only_withheld_changes_of_the_batch_in_order():
    assert join_index_keys([2, 5], [(2, ["a"]), (5, ["b"])]) == {2: ["a"], 5: ["b"]}
    for side, why in [
        ([(3, ["a"])], "not a change of the batch"),
        ([(5, ["a"]), (2, ["b"])], "out of order"),
        ([(2, ["a"]), (2, ["b"])], "twice"),
    ]:
        with pytest.raises(ListError) as e:
            join_index_keys([2, 5], side)
        assert (e.value.reason, e.value.rule) == ("DIST_BATCH_CORRUPT", "DIST-088") and why in e.value.detail


def test_a_gateway_cuts_compressed_batches_within_the_bound_whatever_its_batch_limit(monkeypatch):
    """DIST-089 on the sending side: list_max_batch_bytes above the bound still gives blocks a
    node accepts (here with the bound made small: 4 changes' worth)."""
    from creditx.gateway.lists import service

    encoded = [EncodedChange(c) for c in _changes(30)]
    bound = sum(len(c.part) for c in encoded[:4])
    monkeypatch.setattr(service, "MAX_CHANGES_SIZE", bound)
    servicer = service.DistributionServicer.__new__(service.DistributionServicer)
    servicer.limits = service.ListLimits(max_batch_bytes=64 * 1024 * 1024)
    servicer.blocks = SharedBlocks()
    raw, through, at_ms = servicer._compressed_batch(encoded, 0, 30, frozenset(), KEYS[0])
    m = lpb.ListChangeBatch.FromString(raw)
    assert m.changes_size <= bound and through == 4 == len(at_ms) and not m.live
    assert [c.list_seq for c in batch_changes(m, bound)] == [1, 2, 3, 4]
