"""The README's promises stay true: its commands exist and CI runs its test command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from creditx.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def fenced_after(marker: str) -> list[str]:
    """The lines of the first fenced block after an HTML comment marker."""
    m = re.search(rf"<!-- {marker} -->\s*```\w*\n(.*?)```", README, re.S)
    assert m, f"README has no fenced block after <!-- {marker} -->"
    return [ln.strip() for ln in m.group(1).splitlines() if ln.strip() and not ln.strip().startswith("#")]


def readme_creditx_commands() -> list[list[str]]:
    cmds = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            for part in re.split(r"&&|\|", line):
                words = shlex.split(part.strip(), comments=True)
                if words and words[0].endswith("creditx"):
                    cmds.append(words[1:])
    return cmds


def test_ci_runs_the_readme_test_command():
    (command,) = fenced_after("test-command")
    test_part = command.split("&&")[-1].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_part in ci, f".ci/run must run the README's test command {test_part!r}"


def test_readme_has_a_main_job_command():
    (command,) = fenced_after("main-command")
    assert command.endswith("creditx demo"), command
    # The same install as the test command, so one set-up serves both.
    assert command.split("&&")[:2] == fenced_after("test-command")[0].split("&&")[:2]


@pytest.mark.parametrize("argv", readme_creditx_commands(), ids=lambda a: " ".join(a[:2]))
def test_every_readme_command_parses(argv):
    """Each `creditx …` line in the README is accepted by the real parser (no rot)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse reports a bad command line by exiting
        pytest.fail(f"README command `creditx {' '.join(argv)}` does not parse (exit {exc.code})")
    assert callable(args.func)


def test_every_cli_command_is_in_the_readme():
    """Every sub-command the CLI offers is named somewhere in the README."""
    parser = build_parser()
    missing = []
    for name, _sub in _subcommands(parser):
        if f"creditx {name}" not in README:
            missing.append(name)
    assert not missing, f"README does not mention: {', '.join('creditx ' + m for m in missing)}"


def _subcommands(parser, prefix=""):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix} {name}".strip()
                children = list(_subcommands(sub, full))
                if children:
                    yield from children
                else:
                    yield full, sub


def test_a_broken_role_plugin_leaves_the_other_commands_working(monkeypatch, capsys):
    from importlib.metadata import EntryPoint

    import creditx.cli.main as cli

    real = list(cli.entry_points(group=cli.ENTRY_POINT_GROUP))
    broken = EntryPoint("vendor", "no_such_vendor_module:register", cli.ENTRY_POINT_GROUP)
    monkeypatch.setattr(cli, "entry_points", lambda group: [*real, broken])
    args = cli.build_parser().parse_args(["standard", "check-id", "914403001922038216"])
    assert callable(args.func)
    assert "'vendor' commands are unavailable" in capsys.readouterr().err
