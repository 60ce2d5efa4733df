"""creditx.node.witness: the one AUD-030 rule both of the node's logs are witnessed by."""

from __future__ import annotations

import pytest

from creditx.node.witness import CheckpointWitness, LogAlarm
from creditx.standard.checkpoint import Checkpoint
from creditx.standard.merkle import consistency_proof, leaf_hash, root

ORIGIN = "gw/lists/v1"
LEAVES = [leaf_hash(b"%d" % i) for i in range(10)]


class Record:
    """An in-memory WitnessRecord."""

    def __init__(self) -> None:
        self.kept: list[tuple[Checkpoint, str]] = []
        self.alarms: list[tuple[str, str, str]] = []

    def last_seen(self):
        return self.kept[-1] if self.kept else None

    def remember(self, cp, note):
        self.kept.append((cp, note))

    def alarm(self, reason, message, old_note, new_note):
        self.alarms.append((reason, old_note, new_note))


def cp(size: int, leaves=LEAVES, origin=ORIGIN) -> Checkpoint:
    return Checkpoint(origin, size, root(leaves[:size]))


def proofs(leaves=LEAVES):
    asked = []

    def consistency(old, new):
        asked.append((old, new))
        return consistency_proof(old, leaves[:new])

    return consistency, asked


def test_growth_is_remembered_and_the_same_size_changes_nothing():
    rec, (consistency, asked) = Record(), proofs()
    w = CheckpointWitness(rec)
    assert w.observe(cp(3), "n3", consistency) is True  # the first one is taken as it is
    assert w.observe(cp(7), "n7", consistency) is True
    assert w.observe(cp(7), "n7'", consistency) is False
    assert [n for _, n in rec.kept] == ["n3", "n7"] and asked == [(3, 7)] and not rec.alarms


@pytest.mark.parametrize(
    "new, reason",
    [
        (cp(5), "ROLLBACK"),  # the tree shrank
        (cp(7, LEAVES[:4] + [leaf_hash(b"x")] + LEAVES[5:]), "FORK"),  # leaf 4 rewritten
        (cp(7, LEAVES[:6] + [leaf_hash(b"y")]), "FORK"),  # another root, same size
        (cp(8, origin="other/lists/v1"), "WRONG_ORIGIN"),  # another log
    ],
)
def test_an_inconsistent_checkpoint_is_an_alarm_with_both_notes_and_is_not_kept(new, reason):
    rec = Record()
    w = CheckpointWitness(rec)
    w.observe(cp(7), "old", proofs()[0])
    leaves = LEAVES if reason != "FORK" else LEAVES[:4] + [leaf_hash(b"x")] + LEAVES[5:]
    with pytest.raises(LogAlarm) as e:
        w.observe(new, "new", proofs(leaves)[0])
    assert e.value.reason == reason and e.value.rule == "AUD-030"
    assert rec.alarms == [(reason, "old", "new")] and [n for _, n in rec.kept] == ["old"]
