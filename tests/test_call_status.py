"""creditx.standard.call_status: the SYNC-016 status detail of a call-level failure."""

from __future__ import annotations

import pytest

from creditx.standard.call_status import REASON_KEY, RULE_KEY, details, reason_from, rule_from, trailing


def test_details_keep_the_v1_0_text_form():
    assert details("STREAM_BUSY", "another stream is open") == "STREAM_BUSY: another stream is open"
    assert (
        details("DIST_SNAPSHOT_GONE", "no snapshot at 9", rule="DIST-072", hint="start from chunk 0")
        == "DIST_SNAPSHOT_GONE [DIST-072]: no snapshot at 9; start from chunk 0"
    )


def test_trailing_metadata_carries_reason_and_rule():
    assert trailing("CERT_REVOKED", "SEC-040") == ((REASON_KEY, "CERT_REVOKED"), (RULE_KEY, "SEC-040"))
    assert trailing("SHUTTING_DOWN") == ((REASON_KEY, "SHUTTING_DOWN"),)
    with pytest.raises(ValueError, match="SYNC-016"):
        trailing("not a code")


@pytest.mark.parametrize(
    "metadata, text, want",
    [
        (((REASON_KEY, "AUDIT_UNSEALED"),), "something else: entirely", "AUDIT_UNSEALED"),  # the data wins
        (((REASON_KEY, b"BATCH_MALFORMED"),), "", "BATCH_MALFORMED"),  # binary value
        ((("other", "x"),), "DIST_SNAPSHOT_GONE [DIST-072]: gone", "DIST_SNAPSHOT_GONE"),  # v1.0 peer
        (None, "STREAM_BUSY: another Push stream", "STREAM_BUSY"),
        (None, "DIST_SNAPSHOT_REQUIRED", "DIST_SNAPSHOT_REQUIRED"),
        (None, "scripted refusal", ""),  # no code in the text
        (None, "Socket closed", ""),
        (((REASON_KEY, "lower"),), "", ""),  # not a reason code
    ],
)
def test_reason_from_prefers_metadata_and_falls_back_to_the_leading_code(metadata, text, want):
    assert reason_from(metadata, text) == want


def test_rule_from_reads_the_rule_key():
    assert rule_from(trailing("CERT_EXPIRED", "SEC-033")) == "SEC-033" and rule_from(None) == ""
