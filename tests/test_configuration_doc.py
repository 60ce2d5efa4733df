"""docs/configuration.md is generated from the configuration dataclasses and must be current."""

from __future__ import annotations

import dataclasses

import pytest

from creditx.cli import configdoc


def test_configuration_doc_is_current():
    assert configdoc.DOC.read_text("utf-8") == configdoc.render(), (
        "docs/configuration.md is stale: run python -m creditx.cli.configdoc"
    )
    assert configdoc.main(["--check"]) == 0


def test_every_key_of_both_files_is_documented():
    from creditx.gateway.config import GatewayConfig
    from creditx.node.config import Limits, Ops

    text = configdoc.render()
    for f in dataclasses.fields(GatewayConfig):
        assert f"| `{f.name}` |" in text
    for cls, prefix in ((Limits, "limits."), (Ops, "ops.")):
        for f in dataclasses.fields(cls):
            assert f"| `{prefix}{f.name}` |" in text


def test_a_setting_without_a_description_is_refused():
    @dataclasses.dataclass
    class Cfg:
        documented: int = 1  # says what it does
        silent: int = 2

    with pytest.raises(ValueError, match="Cfg.silent has no description"):
        configdoc.table(Cfg)
