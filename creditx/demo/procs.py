"""Supervising creditx processes: start a role as a child process, wait for it to be ready,
stop it gracefully or kill it.

Used by ``creditx demo`` and by the multi-process tests. A child is started as
``python -m creditx.cli.main <role> …`` with its output in a log file; readiness is a real
condition (a file the child writes after binding, or a predicate), polled with a deadline and
failing early with the child's log tail if the child dies. Nothing here sleeps blindly: the
poll interval only paces re-checking a condition.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from creditx.standard.errors import CreditxError

POLL_S = 0.05


def creditx_argv(*args: str) -> list[str]:
    """The command line that runs ``creditx ARGS`` with this interpreter."""
    return [sys.executable, "-m", "creditx.cli.main", *args]


def run_creditx(*args: str, timeout: float = 120.0, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a short creditx command to completion; raise with its stderr if it fails (exit ≥ 2)."""
    proc = subprocess.run(creditx_argv(*args), capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode >= 2:
        raise CreditxError(f"`creditx {' '.join(args)}` failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc


@dataclass
class Child:
    """One long-running creditx process."""

    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    def start(self, env: dict | None = None) -> Child:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log, "ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def wait_until(self, condition: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Poll ``condition`` until true; fail fast if the child exits, or at the deadline."""
        deadline = time.monotonic() + timeout
        while not condition():
            if not self.alive():
                raise CreditxError(
                    f"{self.name} exited (status {self.proc and self.proc.returncode}) before {what}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise CreditxError(f"{self.name}: no {what} after {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(POLL_S)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait for a graceful exit, SIGKILL if it does not come."""
        if self.proc is None:
            return None
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash would: no cleanup in the child."""
        if self.proc is None:
            return
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._close()

    def _close(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def read_json_file(path: Path) -> dict | None:
    """A JSON file another process writes atomically, or None while it is absent."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def start_gateway(gw_dir: Path, *, timeout: float = 60.0, env: dict | None = None) -> tuple[Child, dict]:
    """Start ``creditx gateway run`` and wait for the run.json it writes after binding."""
    run_file = gw_dir / "run.json"
    run_file.unlink(missing_ok=True)
    child = Child("gateway", creditx_argv("gateway", "run", "--dir", str(gw_dir)), gw_dir / "gateway.log").start(env)
    child.wait_until(lambda: read_json_file(run_file) is not None, timeout=timeout, what="run.json")
    info = read_json_file(run_file)
    if info is None:  # written atomically and never removed while the gateway runs
        raise CreditxError(f"{run_file} vanished after the gateway wrote it")
    return child, info


def start_node(node_dir: Path, *, timeout: float = 60.0, env: dict | None = None) -> Child:
    """Start ``creditx node run`` and wait for its local API socket."""
    sock = node_dir / "node.sock"
    sock.unlink(missing_ok=True)  # a killed node leaves its socket file behind
    child = Child(
        f"node {node_dir.name}", creditx_argv("node", "run", "--dir", str(node_dir)), node_dir / "node.log"
    ).start(env)
    child.wait_until(sock.exists, timeout=timeout, what="local API socket")
    return child


def stop_all(children: Sequence[Child]) -> None:
    for c in children:
        if c.proc is not None and c.alive():
            c.proc.send_signal(signal.SIGTERM)
    for c in children:
        c.stop()
