"""Observers the call path notifies: Prometheus metrics (metrics.py), usage totals and `track()`
(usage.py), `on_response`/`on_error` hooks (hooks.py), circuit breakers and latency (health.py).
They do not know each other or any layer."""

LOG_OFF = frozenset({"0", "off", "false", "no"})
"""`MODELS_LOG` values that turn the call log off rather than name a file (the service and the
`models` command read it)."""
