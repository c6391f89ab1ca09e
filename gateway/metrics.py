"""Prometheus metrics of one gateway, on its own registry (served at /metrics).

Each `Gateway` owns a `Metrics`, so several gateways (tests, embedders) in one process count
separately and nothing is registered process-wide.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from alerts.model import AlertEvent
    from devices.model import Reading
    from gateway.flow.intake import Rejected


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

    def count_batch(
        self,
        messages: int,
        readings: Sequence[Reading],
        new: Sequence[Reading],
        rejected: Sequence[Rejected],
        events: Sequence[AlertEvent],
    ) -> None:
        """One batch through the pipeline: its messages, readings, rejects and alert events."""
        self.batch_size.observe(messages)
        self.messages.labels("accepted").inc(messages - len(rejected))
        if rejected:
            self.messages.labels("rejected").inc(len(rejected))
            for d in rejected:
                self.deadletters.labels(d.reason.value).inc()
        self.duplicates.inc(len(readings) - len(new))
        for kind, n in collections.Counter(r.kind.value for r in new).items():
            self.readings_stored.labels(kind).inc(n)
        late = sum(1 for r in new if "late" in r.flags)
        if late:
            self.late.inc(late)
        for e in events:
            self.alert_events.labels(e.event.value, e.alert.code).inc()
