"""Verification worker pool: signature checks (the ingest bound, ~13k/s/core) on every core.

A batch is split into one chunk per worker; each chunk is a :class:`CheckJob` carrying the
node's key grants (a few hundred bytes; each worker parses a public key once and caches it).
SQLite stays in the main process. ``workers=0`` checks in-process (unit tests, tiny setups).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace

from gateway.ingest.check import CheckJob, check_job
from gateway.ingest.values import Checked


def _warm() -> None:
    import gateway.ingest.check  # noqa: F401
    import standards.validation  # noqa: F401


class CheckPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
                      if workers > 0 else None)

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
        return [self._pool.submit(check_job, replace(job, records=job.records[i:i + size]))
                for i in range(0, len(job.records), size)]

    @staticmethod
    def gather(futures: list[Future]) -> list[Checked]:
        out: list[Checked] = []
        for f in futures:
            out.extend(f.result())
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
