"""A vendor's commands, and the child processes the suite starts with them (chapter 10, CONF-020).

A node adapter is a JSON file (or the flags of ``creditx conformance node``) naming three
commands; the suite fills in the placeholders, splits them like a POSIX shell (no shell runs)
and starts them::

    {"vendor": "example", "init": "vendor-node setup --home {dir} --certs {certs} --gateway {gateway}",
     "run": "vendor-node serve --home {dir}", "submit": "vendor-node load {file} --home {dir}",
     "status": "vendor-node outcomes --home {dir}"}

``status`` is optional: once the node is stopped it prints a JSON object with the number of
records the node recorded per ack outcome, as ``accepted``, ``duplicate``, ``superseded`` and
``rejected`` (at the top level or under ``outbox``; case does not matter).

Placeholders: ``{dir}`` an empty directory for the node, ``{certs}`` the node's credentials
(``ca.crt``, ``auth.crt``/``auth.key`` for mutual TLS, ``signing.crt``/``signing.key`` for
records, PEM), ``{region}``, ``{gateway}`` HOST:PORT of the suite's gateway, ``{ca}`` the CA
certificate, ``{file}`` a national-template CSV (submit only). A command whose first word is
``creditx`` runs this installation's ``creditx`` (the interpreter running the suite).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from creditx.standard.errors import CreditxError, InputError

OUR_NODE = {
    "vendor": "creditx",
    "init": "creditx node init --dir {dir} --region {region} --gateway {gateway} --certs {certs}"
    " --metrics-listen 127.0.0.1:0 --health-listen 127.0.0.1:0",
    "run": "creditx node run --dir {dir}",
    "submit": "creditx node import {file} --dir {dir}",
    # optional for a vendor: prints JSON counts of the ack outcomes the node recorded (CONF-020)
    "status": "creditx node status --dir {dir} --json",
}


@dataclass(frozen=True)
class NodeAdapter:
    vendor: str
    init: str
    run: str
    submit: str
    status: str = ""  # "" : the vendor names no status command (NODE-ACK-RECORDED not applicable)

    @classmethod
    def load(cls, path: Path | None, **flags: str | None) -> NodeAdapter:
        base = dict(OUR_NODE)
        if path is not None:
            try:
                raw = json.loads(Path(path).read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"adapter {path}: {exc}", hint="write a JSON object with init, run, submit") from None
            if not isinstance(raw, dict) or set(raw) - set(OUR_NODE):
                raise InputError(f"adapter {path}: keys must be among {sorted(OUR_NODE)}")
            base.update({k: str(v) for k, v in raw.items()})
        given = {k for k, v in flags.items() if v} | (set(raw) if path is not None else set())
        base.update({k: v for k, v in flags.items() if v})
        if "status" not in given and any(base[k] != OUR_NODE[k] for k in ("init", "run", "submit")):
            base["status"] = ""  # another node's commands: our status command would not read its state
        for k in ("init", "run", "submit", "status"):
            try:
                shlex.split(base[k])
            except ValueError as exc:
                raise InputError(f"--{k}-cmd {base[k]!r} cannot be split: {exc}") from None
        if base["vendor"] == OUR_NODE["vendor"] and any(base[k] != OUR_NODE[k] for k in ("init", "run", "submit")):
            base["vendor"] = "unnamed"  # the report must not credit our node with another's commands
        if "{file}" not in base["submit"]:
            raise InputError("the submit command must contain {file}", hint="e.g. 'vendor-import {file}'")
        return cls(**base)

    def argv(self, which: str, **values: str | Path) -> list[str]:
        words = [w.format_map(_Strict(values)) for w in shlex.split(getattr(self, which))]
        if words and words[0] == "creditx":
            words = [sys.executable, "-m", "creditx.cli.main", *words[1:]]
        return words


class _Strict(dict):
    def __missing__(self, key: str) -> str:
        raise InputError(
            f"unknown placeholder {{{key}}} in an adapter command", hint="see creditx conformance node --help"
        )


def run_command(argv: list[str], *, log: Path, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run a vendor command to completion, its output appended to ``log``."""
    with open(log, "ab") as out:
        out.write(f"$ {shlex.join(argv)}\n".encode())
        out.flush()
        try:
            return subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout)
        except FileNotFoundError:
            raise InputError(f"command not found: {argv[0]}", hint="check the adapter's commands") from None


class Child:
    """A long-running vendor process (the node under test), in its own session."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.argv, self.log = argv, log
        self._out = open(log, "ab")
        try:
            self.proc = subprocess.Popen(
                argv, stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        except FileNotFoundError:
            self._out.close()
            raise InputError(f"command not found: {argv[0]}", hint="check the adapter's run command") from None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._out.close()
        return self.proc.returncode


def require(ok: bool, what: str, child: Child | None = None) -> None:
    if not ok:
        raise CreditxError(what + (f"\n{child.tail()}" if child else ""))
