"""Observers the call path notifies: Prometheus metrics (metrics.py), usage totals and `track()`
(usage.py), `on_response`/`on_error` hooks (hooks.py), circuit breakers and latency (health.py).
They do not know each other or any layer."""
