"""A virtual clock for gateway tests: the test moves time, every timer reads it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class VirtualClock:
    """Callable like `utcnow`; only moves forward, and is safe to read from the MQTT thread."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance_to(self, t: datetime) -> None:
        with self._lock:
            self._now = max(self._now, t)

    def advance(self, dt: timedelta) -> None:
        with self._lock:
            self._now += dt
