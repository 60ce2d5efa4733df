"""Which configured gateway a node calls next (SYNC-018): pure rules of creditx.node.sync.targets."""

from __future__ import annotations

from creditx.node.sync.targets import Targets
from creditx.standard.call_status import writer_from

A, B, C = "gw-a:9741", "gw-b:9741", "gw-c:9741"


def test_a_standby_naming_a_listed_writer_sends_the_node_there():
    t = Targets([A, B, C])
    assert t.failed("UNAVAILABLE", "GATEWAY_STANDBY", C) and t.current() == C


def test_a_writer_the_node_does_not_list_is_never_dialled_the_next_address_is():
    t = Targets([A, B])
    assert t.failed("UNAVAILABLE", "GATEWAY_STANDBY", "elsewhere:1") and t.current() == B
    assert t.failed("UNAVAILABLE", "GATEWAY_STANDBY", "") and t.current() == A  # none named yet


def test_transport_failures_rotate_and_other_refusals_stay():
    t = Targets([A, B])
    assert t.failed("DEADLINE_EXCEEDED") and t.current() == B
    assert t.failed("UNAVAILABLE", "SHUTTING_DOWN") and t.current() == A
    assert not t.failed("PERMISSION_DENIED", "CERT_WRONG_ROLE") and t.current() == A
    assert not t.failed("INVALID_ARGUMENT", "BATCH_MALFORMED") and t.current() == A


def test_one_address_never_moves_and_duplicates_collapse():
    assert not Targets([A]).failed("UNAVAILABLE")
    assert Targets([A, A, B]).addresses == (A, B)


def test_the_writer_is_read_from_the_trailing_metadata():
    assert writer_from((("creditx-reason", "GATEWAY_STANDBY"), ("creditx-writer", b"gw-b:9741"))) == B
    assert writer_from((("creditx-reason", "GATEWAY_STANDBY"),)) == ""
    assert writer_from(None) == ""
