"""Bounded input: request bodies capped, calls per client rate limited, live streams per user
capped. Each answers with a clear status (413, 429 with `Retry-After`) and never echoes input."""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit", "RateLimiter", "StreamSlots"]


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` is refused with 413 before the route
    sees any of it (by its Content-Length, or while it streams in when it has none)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _too_large(send, self.max_bytes)
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            # Past the cap the caller is answered 413 at once and the route sees the client
            # go away; whatever it answers to that is dropped.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await _too_large(send, self.max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, unless_refused)


async def _too_large(send: Send, max_bytes: int) -> None:
    body = json.dumps({"detail": f"request body over {max_bytes} bytes"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per client: `per_minute` calls a minute on average, bursts of `burst`.
    The least recently seen clients are forgotten beyond `max_clients` (bounded memory)."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 50_000,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, client: str) -> float | None:
        """Spend one call of `client`: None if allowed, else the seconds until one is."""
        now = self.clock()
        b = self._buckets.pop(client, None) or _Bucket(self.burst, now)
        b.tokens = min(self.burst, b.tokens + (now - b.at) * self.rate)
        b.at = now
        self._buckets[client] = b
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return None
        return math.ceil((1.0 - b.tokens) / self.rate * 10) / 10


class StreamSlots:
    """At most `per_user` live streams open per user at once."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: dict[str, int] = {}

    def open(self, user: str) -> bool:
        n = self._open.get(user, 0)
        if n >= self.per_user:
            return False
        self._open[user] = n + 1
        return True

    def close(self, user: str) -> None:
        n = self._open.get(user, 0) - 1
        if n > 0:
            self._open[user] = n
        else:
            self._open.pop(user, None)

    def count(self, user: str) -> int:
        return self._open.get(user, 0)
