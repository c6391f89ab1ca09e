"""Prometheus metrics (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("hmg_messages_total", "MQTT messages taken from the broker", ["result"])
READINGS_STORED = Counter("hmg_readings_stored_total", "Readings durably stored", ["kind"])
DUPLICATES = Counter("hmg_readings_duplicate_total", "Redelivered readings stored only once")
DEADLETTERS = Counter("hmg_deadletters_total", "Rejected messages", ["reason"])
LATE = Counter("hmg_readings_late_total", "Readings stored but too old to alert on")
ALERT_EVENTS = Counter("hmg_alert_events_total", "Alert lifecycle events", ["event", "code"])
BATCH_SECONDS = Histogram("hmg_batch_seconds", "Time to store and process one batch")
BATCH_SIZE = Histogram(
    "hmg_batch_size",
    "Messages per write batch",
    buckets=(1, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
QUEUE_DEPTH = Gauge(
    "hmg_queue_depth", "Messages taken from the broker and not yet stored and acknowledged"
)
STORE_FAILURES = Counter("hmg_store_failures_total", "Batches not stored (not acknowledged)")
