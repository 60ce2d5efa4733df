"""Verification worker pool: signature checks (the ingest bound, ~13k/s/core) on every core.

A batch is split into one chunk per worker; each chunk is a :class:`CheckJob` carrying the
node's key grants (a few hundred bytes; each worker parses a public key once and caches it).
SQLite stays in the main process. ``workers=0`` checks in-process (unit tests, tiny setups).

Invariant: a worker never outlives the gateway. If the gateway is killed (SIGKILL, OOM), its
workers get SIGKILL from the kernel too (``PR_SET_PDEATHSIG`` on Linux; elsewhere a watchdog
thread notices the parent is gone), so a crashed gateway leaves no orphans behind.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace

from creditx.gateway.ingest.check import CheckJob, check_job
from creditx.gateway.ingest.values import Checked

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """Worker initializer: be killed when the gateway process dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent_pid:  # the parent died before prctl took effect
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent_pid:
            threading.Event().wait(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _warm() -> None:
    import creditx.gateway.ingest.check  # noqa: F401
    import creditx.standard.validation  # noqa: F401


class CheckPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = (
            ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
            if workers > 0
            else None
        )

    def warm(self) -> None:
        """Start every worker now (spawn + imports take ~1 s), not on the first batch."""
        if self._pool is not None:
            for f in [self._pool.submit(_warm) for _ in range(self.workers)]:
                f.result()

    def submit(self, job: CheckJob) -> list[Future]:
        """Futures of ``list[Checked]``, in record order."""
        if self._pool is None or len(job.records) < 2:
            f: Future = Future()
            try:
                f.set_result(check_job(job))
            except BaseException as exc:  # surfaced by result()
                f.set_exception(exc)
            return [f]
        n = min(self.workers, len(job.records))
        size = -(-len(job.records) // n)
        return [
            self._pool.submit(check_job, replace(job, records=job.records[i : i + size]))
            for i in range(0, len(job.records), size)
        ]

    @staticmethod
    def gather(futures: list[Future]) -> list[Checked]:
        out: list[Checked] = []
        for f in futures:
            out.extend(f.result())
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
