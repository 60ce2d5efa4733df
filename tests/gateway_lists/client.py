"""A minimal list subscriber and LIST record maker for the gateway's Distribution tests.
Never imports node/: the gateway and the node meet only on the wire."""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
from typing import Any

import grpc

from creditx.pki.tls import channel_credentials
from creditx.standard.record import Record, encode_record
from creditx.standard.synth import generate_rows
from creditx.v1 import exchange_pb2, exchange_pb2_grpc, lists_pb2_grpc
from creditx.v1 import lists_pb2 as lpb

TODAY = dt.date.today()


def list_rows(region: str, count: int, *, seed: int = 1) -> list[dict]:
    """Synthetic LIST rows (op I, version 1), each its own entry."""
    rows = [r for r in generate_rows(region, "LIST", count * 3, seed=seed, today=TODAY) if r.op == "I"]
    out, seen = [], set()
    for r in rows:
        key = (r.fields.get("MD_RDWSH"), r.fields.get("MD_RDJGDM"), r.fields.get("MD_LX"))
        if key not in seen:
            seen.add(key)
            out.append({"source_id": r.source_id, "fields": dict(r.fields)})
    return out[:count]


def list_payload(region: str, row: dict, seq: int, *, op: str = "I", version: int = 1, **fields) -> bytes:
    f = dict(row["fields"])
    f.update(fields)
    return encode_record(Record("LIST", op, region, row["source_id"], version, seq, f))


def push_rows(address: str, node, region: str, rows: list[dict]) -> None:
    """Push ``rows`` as one batch of ``region``'s node from source_seq 1 (PushClient, mutual TLS)."""
    from tests.gateway.push_client import PushClient

    c = PushClient(address, node)
    c.handshake()
    c.push([c.batch([list_payload(region, r, i + 1) for i, r in enumerate(rows)], start_seq=1)])
    c.close()


INDEX_KEY = bytes(range(32))  # the subject index key these test subscribers send (DIST-077)


class Subscriber:
    """Reads a Subscribe stream on a thread into a queue; ``until`` waits with a deadline."""

    def __init__(self, address: str, node, **request) -> None:
        self.channel = grpc.secure_channel(
            address,
            channel_credentials(node.ca, node.auth_cert, node.auth_key),
            options=[("grpc.ssl_target_name_override", "localhost")],
        )
        grpc.channel_ready_future(self.channel).result(timeout=10)
        self.stub = lists_pb2_grpc.DistributionStub(self.channel)
        self.batches: queue.Queue = queue.Queue()
        self.changes: list[lpb.ListChange] = []
        self.received: list[lpb.ListChangeBatch] = []  # every batch as it came (either form, DIST-086)
        self.through = 0
        self.live = False
        self.error: grpc.RpcError | None = None
        self.call: Any = None  # the streaming call: an iterator of batches and a grpc.Call
        if request is not None and "from_list_seq" in request:
            request.setdefault("subject_index_key", INDEX_KEY)  # DIST-077
            self.call = self.stub.Subscribe(lpb.SubscribeRequest(**request))
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.call is not None  # started in __init__ before this thread
        try:
            for b in self.call:
                self.batches.put(b)
        except grpc.RpcError as exc:
            self.error = exc
            self.batches.put(exc)

    def until(self, predicate, timeout: float = 10.0) -> None:
        """Consume batches until ``predicate(self)`` holds; AssertionError after ``timeout``."""
        import time

        deadline = time.monotonic() + timeout
        while not predicate(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"not reached in {timeout}s: through={self.through} live={self.live}")
            try:
                b = self.batches.get(timeout=left)
            except queue.Empty:
                continue
            if isinstance(b, grpc.RpcError):
                raise AssertionError(f"stream ended: {b.code()} {b.details()}")
            assert b.through_list_seq >= self.through
            self.received.append(b)
            self.changes.extend(b.changes)
            self.through, self.live = b.through_list_seq, b.live

    def heartbeat(self, applied: int) -> None:
        exchange_pb2_grpc.ExchangeStub(self.channel).Heartbeat(
            exchange_pb2.HeartbeatRequest(applied_list_seq=applied), timeout=10
        )

    def close(self) -> None:
        if self.call is not None:
            self.call.cancel()
        self.channel.close()


def entry_json(e: lpb.ListEntry) -> str:
    from google.protobuf.json_format import MessageToDict

    return json.dumps(MessageToDict(e), sort_keys=True)
