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
import gc
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from creditx.gateway.ingest.check import CheckJob, check_job, check_rows, to_row
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


def _start_worker(parent_pid: int) -> None:
    """Worker initializer: die with the gateway, load the rules, settle the heap."""
    _die_with_parent(parent_pid)
    _load_rules()
    settle_heap()


def _warm() -> None:
    """A task that only makes the pool start a worker (``CheckPool.warm``)."""


def _load_rules() -> None:
    import creditx.gateway.ingest.check  # noqa: F401
    import creditx.standard.validation
    from creditx.standard.catalogue import load_catalogue

    for code in ("XZXK", "XZCF", "LIST"):  # the compiled plans, built before the first batch
        creditx.standard.validation._plan(load_catalogue(), code)


def settle_heap() -> None:
    """Move everything a started process holds (modules, catalogue, plans) out of the cyclic
    garbage collector's reach: its full collections then scan only what ingest allocates. Every
    batch allocates thousands of objects, and the full collections of an unfrozen heap cost the
    gateway about a tenth of its ingest CPU (py-spy, native frames). Only for a process that is
    the gateway's own (a worker, ``creditx gateway run``): whatever is frozen is never collected."""
    gc.collect()
    gc.freeze()


class CheckPool:
    """Invariant: a dead worker never stops ingest. A broken pool (a worker killed by OOM or a
    signal) is replaced by a new one and the batch in flight is checked again there; checks are
    pure, so a second run gives the same answers. ``healthy`` is False only while no working
    pool can be started (health NOT_SERVING)."""

    MAX_RESTARTS = 3  # per batch: a batch that kills a fresh pool every time is refused

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._lock = threading.Lock()
        self.restarts = 0
        self.healthy = True
        self._pool = self._new_pool() if workers > 0 else None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )

    def _replace(self, broken: ProcessPoolExecutor | None) -> None:
        with self._lock:
            if self._pool is not broken or broken is None:
                return  # another thread replaced it already
            broken.shutdown(wait=False, cancel_futures=True)
            try:
                self._pool = self._new_pool()
                self.restarts += 1
                self.healthy = True
            except OSError:
                self.healthy = False
                raise

    def warm(self) -> None:
        """Start every worker now (spawn + imports take ~1 s), not on the first batch."""
        if self._pool is not None:
            for f in [self._pool.submit(_warm) for _ in range(self.workers)]:
                f.result()

    def submit(self, job: CheckJob) -> list[Future]:
        """Futures of ``list[Checked]``, in record order."""
        try:
            return self._submit(job)
        except BrokenProcessPool:
            self._replace(self._pool)
            return self._submit(job)

    def _submit(self, job: CheckJob) -> list[Future]:
        if self._pool is None or len(job.records) < 2:
            f: Future = Future()
            try:
                f.set_result(check_job(job))
            except BaseException as exc:  # surfaced by result()
                f.set_exception(exc)
            return [f]
        n = min(self.workers, len(job.records))
        size = -(-len(job.records) // n)
        header = replace(job, records=())
        rows = tuple(to_row(r) for r in job.records)
        return [self._pool.submit(check_rows, header, rows[i : i + size]) for i in range(0, len(rows), size)]

    def gather(self, futures: list[Future], job: CheckJob | None = None) -> list[Checked]:
        """The results in record order; if a worker died under them, the job is checked again
        on a replacement pool (up to MAX_RESTARTS times)."""
        for attempt in range(self.MAX_RESTARTS + 1):
            pool = self._pool
            try:
                out: list[Checked] = []
                for f in futures:
                    res = f.result()
                    out.extend(map(Checked.from_row, res) if res and type(res[0]) is tuple else res)
                self.healthy = True
                return out
            except BrokenProcessPool:
                if job is None or attempt == self.MAX_RESTARTS:
                    self.healthy = False  # health NOT_SERVING until a batch gets through again
                    raise
                self._replace(pool)
                futures = self._submit(job)
        raise AssertionError("unreachable")

    def pids(self) -> list[int]:
        """Worker process ids (tests kill one)."""
        procs = getattr(self._pool, "_processes", None) or {}
        return list(procs)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
