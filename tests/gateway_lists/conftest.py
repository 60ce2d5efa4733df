"""Fixtures: a real PKI and a real gateway on port 0 with mutual TLS (as tests/gateway)."""

from tests.gateway.conftest import gateway, gw_dir, pki, store_url  # noqa: F401 — re-exported fixtures
