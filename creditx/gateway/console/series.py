"""Figures over time for the status page's plots, kept in memory: every sample holds the
records decided so far, the list log's head and the lowest list position any node has applied
(what every city has). Bounded: the newest ``keep`` samples only; lost on restart (Prometheus
keeps the long history)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Sample:
    t: float  # unix seconds
    decided: int  # records decided, all nodes and outcomes
    rejected: int
    list_head: int
    list_everywhere: int  # min applied_list_seq over the nodes (0 without nodes)


class Series:
    def __init__(self, read: Callable[[], Sample], keep: int = 720) -> None:
        self.read = read
        self._samples: deque[Sample] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def sample(self) -> None:
        s = self.read()
        with self._lock:
            self._samples.append(s)

    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def rates(self) -> list[dict]:
        """Per interval: records decided and list changes that reached every city, per minute."""
        s = self.samples()
        out = []
        for a, b in zip(s, s[1:], strict=False):
            dt = max(b.t - a.t, 1e-6)
            out.append(
                {
                    "t": b.t,
                    "ingest_per_min": 60 * (b.decided - a.decided) / dt,
                    "rejected_per_min": 60 * (b.rejected - a.rejected) / dt,
                    "lists_everywhere_per_min": 60 * max(0, b.list_everywhere - a.list_everywhere) / dt,
                    "list_head": b.list_head,
                    "list_everywhere": b.list_everywhere,
                }
            )
        return out

    def as_json(self) -> list[dict]:
        return [asdict(x) for x in self.samples()]
