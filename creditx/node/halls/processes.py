"""More processes serving the hall API on the node's ports (HALL-053, ADR 0023).

One Python process runs Python on one core at a time; a node on a machine with more cores
serves its halls from ``processes`` processes: the node's own and the ones started here, each
with sockets bound to the same two addresses with SO_REUSEPORT (the kernel spreads connections
over them), its own gRPC server and uvicorn, its own read-only SQLite connections to
``node.db`` (WAL: readers never wait for the writer) and its own rate limiter and identity
cache. Each builds its hall side with :func:`creditx.node.halls.wiring.build_halls`, so the
rules, the one gate (certificate or token, HALL-003/006) and the answers are the node's.

The node's writer stays one process: a serving process opens ``node.db`` read-only, so a write
from it would fail. What a check or a report writes goes to the node over a pipe:

* its check counters (HALL-042), every ``forward_interval_s`` and when it stops, added to the
  node's counters, which the node's forward job flushes as before;
* an action report (HALL-030/031), verified in the serving process and kept by the node's
  :meth:`HallStore.keep_action` (the answer waits for it).

A serving process follows the node's measures list by re-reading ``measures.json`` when the
file changes (verified again, creditx.node.halls.measures), and ends when the node stops it
or when the node's end of its pipe closes (the node died).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from creditx.node.halls.measures import CACHE_FILE, MeasuresCache
from creditx.node.halls.store import HallStore
from creditx.sqlite import Readers
from creditx.standard.measures import MeasuresCatalogue

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from creditx.node.halls.service import Counters
    from creditx.node.halls.wiring import HallSettings
    from creditx.node.store import NodeStore

log = logging.getLogger(__name__)
STARTUP_S = 120.0  # a serving process imports the project and opens its TLS context
SERVER_STOP_S = 5.0  # a serving process's wait for its open connections when stopped


class ReadOnlyStore:
    """``node.db`` as a serving process sees it: the pooled read-only connections the hall check
    reads on, and one read-only connection of its own (``conn``): a write through it fails."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.readers = Readers(self.path)
        self.conn = sqlite3.connect(self.readers.uri, uri=True, isolation_level=None, check_same_thread=False)

    def close(self) -> None:
        self.readers.close()
        self.conn.close()


class _Link:
    """The serving process's end of its pipe to the node (one message at a time)."""

    def __init__(self, conn: Connection) -> None:
        self.conn, self._lock = conn, threading.Lock()

    def send(self, message: tuple) -> None:
        with self._lock:
            self.conn.send(message)

    def call(self, name: str, args: tuple) -> Any:
        with self._lock:
            self.conn.send((name, args))
            kind, value = self.conn.recv()
        if kind != "ok":
            raise RuntimeError(f"the node refused {name}: {value}")
        return value


class _RelayedStore(HallStore):
    """The hall store of a serving process: reads on its own connections, keeps action reports
    through the node (the one writer)."""

    def __init__(self, store: ReadOnlyStore, subject_key: bytes, link: _Link) -> None:
        super().__init__(cast("NodeStore", store), subject_key)
        self.link = link

    def keep_action(self, *args: Any) -> bool:
        return bool(self.link.call("keep_action", args))


class _FollowedMeasures:
    """The node's measures list, re-read when ``measures.json`` changes."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._stamp = self._stat()
        self.cache = MeasuresCache(directory)

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = (self.dir / CACHE_FILE).stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def refresh(self) -> None:
        stamp = self._stat()
        if stamp != self._stamp:
            self._stamp, self.cache = stamp, MeasuresCache(self.dir)

    def current(self) -> MeasuresCatalogue:
        return self.cache.current()


def serve(
    directory: str, settings: dict, grpc_listen: str, listen: str, db: str, link_end: Connection, stop_end: Connection
) -> None:
    """A serving process's body (spawned by :class:`HallProcesses`)."""
    from creditx.node.config import load_config, subject_key
    from creditx.node.halls.wiring import HallSettings, build_halls, start_grpc, start_http
    from creditx.node.replica.store import ReplicaStore

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s hall-serving[%(process)d] %(message)s")
    d, s = Path(directory), HallSettings(**settings)
    link = _Link(link_end)
    grpc_server = None
    try:
        cfg, key = load_config(d), subject_key(d)
        ro = ReadOnlyStore(Path(db))
        measures = _FollowedMeasures(d)
        parts = build_halls(
            d,
            s,
            store=_RelayedStore(ro, key, link),
            replica=ReplicaStore(cast("NodeStore", ro), key),
            subject_key=key,
            region=cfg.region,
            stale_after_s=cfg.limits.list_stale_after_s,
            measures=measures.current,
        )
        grpc_server, grpc_port = start_grpc(d, s, parts, listen=grpc_listen)
        server, port = start_http(d, s, parts, listen=listen, reuse_port=True)
    except Exception as exc:  # told to the node, which refuses to start
        if grpc_server is not None:
            grpc_server.stop(None)
        link.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    link.send(("ready", (os.getpid(), grpc_port, port)))
    try:
        while not stop_end.poll(s.forward_interval_s):  # readable: "stop", or the node is gone
            link.send(("counts", parts.halls.counters.take()))
            measures.refresh()
    finally:
        try:  # the counts so far before the (bounded) wait for open connections, the rest after
            link.send(("counts", parts.halls.counters.take()))
            grpc_server.stop(SERVER_STOP_S).wait()
            server.stop(SERVER_STOP_S)
            link.send(("counts", parts.halls.counters.take()))
        except OSError:  # the node is gone: nobody to tell
            pass
        ro.close()


class HallProcesses:
    """The node's side: starts the serving processes, relays their writes, stops them."""

    def __init__(
        self,
        directory: Path,
        settings: HallSettings,
        grpc_listen: str,
        listen: str,
        db: Path,
        store: HallStore,
        counters: Counters,
    ) -> None:
        self.dir, self.settings, self.grpc_listen, self.listen, self.db = directory, settings, grpc_listen, listen, db
        self.store, self.counters = store, counters
        self._procs: list[tuple[multiprocessing.process.BaseProcess, Connection, Connection]] = []
        self._relays: list[threading.Thread] = []

    def start(self, n: int) -> list[tuple[int, int, int]]:
        """Start ``n`` serving processes and wait until each serves; their (pid, gRPC port, HTTPS port). OSError if
        one cannot (the port taken by a socket without SO_REUSEPORT, a bad certificate, …)."""
        ctx = multiprocessing.get_context("spawn")
        for _ in range(n):
            mine, theirs = ctx.Pipe()
            stop_r, stop_w = ctx.Pipe(duplex=False)
            args = (
                str(self.dir),
                dataclasses.asdict(self.settings),
                self.grpc_listen,
                self.listen,
                str(self.db),
                theirs,
                stop_r,
            )
            p = ctx.Process(target=serve, args=args, name="creditx-hall-serving", daemon=True)
            p.start()
            theirs.close()
            stop_r.close()
            self._procs.append((p, mine, stop_w))
        served = []
        for proc, mine, _ in self._procs:
            if not mine.poll(STARTUP_S):
                self.stop(1.0)
                raise OSError(
                    f"a hall serving process did not start within {STARTUP_S:.0f} s; see its log lines (hall-serving[pid])"
                )
            try:
                kind, value = mine.recv()
            except EOFError:
                kind, value = "failed", f"it exited with status {proc.exitcode}"
            if kind != "ready":
                self.stop(1.0)
                raise OSError(
                    f"cannot serve the hall API on {self.grpc_listen} and {self.listen} from another process: {value}"
                )
            served.append(tuple(value))
            t = threading.Thread(target=self._relay, args=(mine,), name="hall-serving-relay", daemon=True)
            t.start()
            self._relays.append(t)
        log.info("hall API also served by processes %s", [x[0] for x in served])
        return served

    def _relay(self, conn: Connection) -> None:
        while True:
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                return
            if kind == "counts":
                self.counters.add(value)
            elif kind == "keep_action":
                try:
                    reply: tuple = ("ok", self.store.keep_action(*value))
                except Exception as exc:
                    log.warning("action report from a hall serving process not kept: %s", exc)
                    reply = ("error", str(exc))
                conn.send(reply)

    def stop(self, grace: float) -> None:
        for _p, _mine, stop_w in self._procs:
            try:
                stop_w.send("stop")
            except OSError:
                pass
        for p, _mine, _ in self._procs:
            p.join(max(grace, SERVER_STOP_S + 5.0))
            if p.is_alive():
                log.warning(
                    "hall serving process %s did not stop in time: terminated (its last counts are lost)", p.pid
                )
                p.terminate()
                p.join(5.0)
        for t in self._relays:  # a relay ends when its process's end closes: its last counts are in
            t.join(5.0)
        for _p, mine, stop_w in self._procs:
            mine.close()
            stop_w.close()
        self._procs, self._relays = [], []
