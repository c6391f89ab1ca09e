"""Login failure limits: per account name and per peer address, over a sliding window."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timedelta


class LoginLimiter:
    """After `max_failures` failed logins of one name within `window_s` (or `peer_factor` times
    that many from one address), further attempts are refused until the oldest failure leaves
    the window, whether or not the password is right. A success clears the name's failures."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        max_failures: int = 5,
        window_s: float = 900.0,
        peer_factor: int = 4,
        max_keys: int = 100_000,
    ) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_s)
        self.peer_max = max_failures * peer_factor
        self.max_keys = max_keys
        self._failures: defaultdict[str, deque[datetime]] = defaultdict(deque)

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and now - q[0] >= self.window:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def retry_after(self, name: str, peer: str) -> float | None:
        """Seconds until an attempt is allowed again, or None when it is allowed now."""
        now = self.clock()
        waits = []
        for key, limit in ((f"n:{name}", self.max_failures), (f"p:{peer}", self.peer_max)):
            q = self._recent(key, now)
            if len(q) >= limit:
                waits.append((q[len(q) - limit] + self.window - now).total_seconds())
        return max(waits) if waits else None

    def failed(self, name: str, peer: str) -> None:
        now = self.clock()
        if len(self._failures) >= self.max_keys:  # bounded memory under a spray of names
            oldest = min(self._failures, key=lambda k: self._failures[k][-1])
            del self._failures[oldest]
        self._failures[f"n:{name}"].append(now)
        self._failures[f"p:{peer}"].append(now)

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"n:{name}", None)
