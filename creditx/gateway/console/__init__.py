"""The operator's console: figures for alerts, the statistics and the status page."""
