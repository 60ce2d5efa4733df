"""Hypothesis profiles of the fuzz suite: bounded in the default run; ``pytest -m fuzz`` selects
only the fuzz tests and runs them with the long profile."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "bounded",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def pytest_configure(config) -> None:
    settings.load_profile("long" if "fuzz" in (config.getoption("markexpr", "") or "") else "bounded")
