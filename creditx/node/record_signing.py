"""The v1.0 envelope signature of an outbox record, made once (NODE-002, NODE-051).

With ``record_suite: "envelope"`` intake signs every record. With ``"batch"`` (SIG-040) a
pushed record carries its inclusion path under the batch's signed checkpoint instead, so intake
stores it unsigned (:data:`UNSIGNED`) and spends no ECDSA signature on it; should the node push
it as a v1.0 envelope after all (the suite switched back in node.json: SYNC-060 lets the two
alternate), it is signed then, once, and the signature stored for every re-send.
"""

from __future__ import annotations

from creditx.node.store import UNSIGNED, encode_signatures
from creditx.standard.envelope import Signer, sign_envelope
from creditx.standard.record import RECORD_PAYLOAD_TYPE

__all__ = ["UNSIGNED", "signatures"]


def signatures(payload: bytes, signer: Signer) -> str:
    """The stored form of ``payload``'s v1.0 envelope signatures (SIG-001, one per key)."""
    env = sign_envelope(RECORD_PAYLOAD_TYPE, payload, signer)
    return encode_signatures((s.keyid, s.suite, s.sig) for s in env.signatures)
