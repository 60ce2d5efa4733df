"""DIST-087…089: a Subscribe batch's changes compressed once for every subscriber at its position.

The block is zlib (RFC 1950) of exactly the bytes a ListChangeBatch's ``changes`` fields would
be, each ListChange without ``subject_index``; the persons' index keys, made with each node's
own key (DIST-077), travel beside it as ``(list_seq, keys)``. Pure rules, no protobuf: how many
bytes a receiver inflates (never more than the declared size, which is bounded) and how the side
list joins the changes. A peer's bytes never decide how much memory is used (DIST-089).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from creditx.standard.lists.lifecycle import ListError

MAX_CHANGES_SIZE = 16 * 1024 * 1024  # DIST-089: a block's declared size before compression, at most

_HINT = "the gateway sent a malformed compressed batch; report it to the provincial operator"


def _refused(reason: str, rule: str, message: str, field: str) -> ListError:
    return ListError(reason, rule, message, field=field, hint=_HINT + " (the node resubscribes and keeps its replica)")


def corrupt(message: str, field: str, rule: str = "DIST-087") -> ListError:
    """DIST_BATCH_CORRUPT: a compressed batch that is not what DIST-087/088 say."""
    return _refused("DIST_BATCH_CORRUPT", rule, message, field)


def inflate_changes(block: bytes, size: int, bound: int = MAX_CHANGES_SIZE) -> bytes:
    """DIST-089: ``block`` inflated, which must give exactly ``size`` bytes; at most
    ``min(size, bound) + 1`` bytes are ever produced, whatever the block holds."""
    if size < 0:  # not on the wire (uint32), but zlib would take a max_length of 0 as no limit at all
        raise corrupt(f"changes_size {size} is negative; nothing was inflated", "changes_size", "DIST-089")
    if size > bound:
        raise _refused(
            "DIST_BATCH_TOO_LARGE",
            "DIST-089",
            f"changes_size {size} is beyond the bound of {bound} bytes; nothing was inflated",
            "changes_size",
        )
    d = zlib.decompressobj()
    try:
        out = d.decompress(block, size + 1)
    except zlib.error as exc:
        raise _refused(
            "DIST_BATCH_CORRUPT", "DIST-087", f"changes_zlib does not inflate: {exc}", "changes_zlib"
        ) from None
    if len(out) > size or d.unconsumed_tail:
        raise _refused(
            "DIST_BATCH_TOO_LARGE",
            "DIST-089",
            f"changes_zlib inflates beyond its changes_size of {size} bytes (stopped at {len(out)})",
            "changes_zlib",
        )
    if len(out) != size or not d.eof or d.unused_data:
        raise _refused(
            "DIST_BATCH_CORRUPT",
            "DIST-087",
            f"changes_zlib inflates to {len(out)} bytes{'' if d.eof else ' and is truncated'}"
            f"{', with bytes after its end' if d.unused_data else ''}, not its changes_size of {size}",
            "changes_zlib",
        )
    return out


def join_index_keys(withheld: Sequence[int], side: Sequence[tuple[int, Sequence[str]]]) -> dict[int, Sequence[str]]:
    """DIST-088: the side list as ``list_seq -> keys``; every entry names a change of the block
    that withholds its origin (``withheld``: their list_seqs), in ascending order, once."""
    names = set(withheld)
    out: dict[int, Sequence[str]] = {}
    last = 0
    for seq, keys in side:
        if seq not in names or seq <= last:
            why = "is not a change of the batch without its origin" if seq not in names else "is out of order or twice"
            raise _refused(
                "DIST_BATCH_CORRUPT", "DIST-088", f"subject_indexes: list_seq {seq} {why}", "subject_indexes"
            )
        out[seq] = keys
        last = seq
    return out
