"""Every test server binds free ports only (port 0): the product's defaults are fixed, documented
ports (9741–9743 for a gateway, 9751–9752 for a node), which parallel tests would fight over."""

from __future__ import annotations

from typing import Any

from creditx.gateway.config import GatewayConfig

FREE = "127.0.0.1:0"
# `creditx node init` flags for a node that binds no fixed port
NODE_FREE_PORTS = ("--metrics-listen", FREE, "--health-listen", FREE)
# `creditx gateway init` flags for a gateway that binds no fixed port
GATEWAY_FREE_PORTS = ("--metrics-listen", FREE, "--health-listen", FREE, "--console-listen", FREE)


def gateway_config(**settings: Any) -> GatewayConfig:
    """A gateway configuration on free ports with in-process verification, plus ``settings``."""
    base: dict[str, Any] = dict(
        listen=FREE, metrics_listen=FREE, health_listen=FREE, console_listen=FREE, verify_workers=0
    )
    return GatewayConfig(**{**base, **settings})
