"""Prometheus metrics of one gateway, on its own registry (served at /metrics).

Each `Gateway` owns a `Metrics`, so several gateways (tests, embedders) in one process count
separately and nothing is registered process-wide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry(auto_describe=True)
        self.messages = Counter(
            "hmg_messages_total", "MQTT messages taken from the broker", ["result"], registry=r
        )
        self.readings_stored = Counter(
            "hmg_readings_stored_total", "Readings durably stored", ["kind"], registry=r
        )
        self.duplicates = Counter(
            "hmg_readings_duplicate_total", "Redelivered readings stored only once", registry=r
        )
        self.deadletters = Counter(
            "hmg_deadletters_total", "Rejected messages", ["reason"], registry=r
        )
        self.late = Counter(
            "hmg_readings_late_total", "Readings stored but too old to alert on", registry=r
        )
        self.alert_events = Counter(
            "hmg_alert_events_total", "Alert lifecycle events", ["event", "code"], registry=r
        )
        self.batch_seconds = Histogram(
            "hmg_batch_seconds", "Time to store and process one batch", registry=r
        )
        self.batch_size = Histogram(
            "hmg_batch_size",
            "Messages per write batch",
            buckets=(1, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
            registry=r,
        )
        self.queue_depth = Gauge(
            "hmg_queue_depth",
            "Messages taken from the broker and not yet stored and acknowledged",
            registry=r,
        )
        self.store_failures = Counter(
            "hmg_store_failures_total", "Batches not stored (not acknowledged)", registry=r
        )

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
