"""The end-of-term job body (DIST-020 … DIST-023): remove entries whose period has ended, on a
clock its witnesses vouch for (DIST-023, :mod:`creditx.gateway.lists.clock_guard`).

The scheduler calls :meth:`ExpiryJob.run` with nothing; the clock is injected, terms come from
the catalogue (``creditx.standard.lists.expiry``), never from code. One write transaction per run:
candidates are read, decided by ``due_for_expiry``/``expire`` in (period end, entry_id) order,
published with their origin envelope (DIST-032: the version that was listed), then the hub is
woken after COMMIT. A second run on the same day finds nothing due (idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from creditx.gateway.lists import store
from creditx.gateway.lists.hub import Hub
from creditx.gateway.store.engine import transaction
from creditx.standard.catalogue import Catalogue, load_catalogue
from creditx.standard.lists.clock import ClockRefusal
from creditx.standard.lists.expiry import due_for_expiry, expire


class ExpiryJob:
    def __init__(
        self,
        db_path: Path | str,
        hub: Hub | None,
        clock: Callable[[], datetime],
        *,
        catalogue: Catalogue | None = None,
        audit: bool = True,
        clock_guard: Callable[[datetime], ClockRefusal | None] | None = None,
    ) -> None:
        self.db_path, self.hub, self.clock, self.audit = db_path, hub, clock, audit
        self.catalogue = catalogue or load_catalogue()
        self.clock_guard = clock_guard  # DIST-023: None only where the clock is the test's own
        self.refused: ClockRefusal | None = None  # the alarm: why the last run expired nothing

    def run(self) -> int:
        """Expire what is due today; return how many entries were removed (0 while the clock
        is not vouched for: DIST-023, :attr:`refused` says why)."""
        now = self.clock()
        if self.clock_guard is not None:
            self.refused = self.clock_guard(now)
            if self.refused is not None:
                logging.getLogger(__name__).error(
                    "%s [%s]: list expiry refused: %s", self.refused.reason, self.refused.rule, self.refused.message
                )
                return 0
        today = now.date()
        terms = {lt.code: lt.term_months for lt in self.catalogue.list_types if lt.term_months}
        conn = store.open_conn(self.db_path)
        try:
            with transaction(conn):
                candidates = {e.entry_id: e for e in store.listed_candidates(conn, today, terms)}
                drafts = []
                for due in due_for_expiry(candidates.values(), today, self.catalogue):
                    decision = expire(candidates[due.entry_id], today=today, at=now, catalogue=self.catalogue)
                    if decision.change is not None:
                        drafts.append(replace(decision.change, origin=store.current_origin(conn, due.entry_id)))
                out = store.publish(conn, drafts, audit=self.audit)
        finally:
            conn.close()
        if out and self.hub is not None:
            self.hub.publish(out[-1].list_seq)
        return len(out)

    def tick(self) -> None:
        """Scheduler body: a failure is retried at the next run (the log is untouched by it)."""
        try:
            self.run()
        except Exception:  # noqa: BLE001 — the job must keep its schedule; the error is logged
            logging.getLogger(__name__).exception("DIST-021 list expiry run failed; retried at the next run")
