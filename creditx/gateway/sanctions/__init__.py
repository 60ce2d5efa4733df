"""The province's 联合奖惩 loop at the gateway: the signed measures list nodes take up, the
departments' action reports nodes forward (stored once, audited), and the sanctions report."""
