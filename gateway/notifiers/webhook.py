"""Signed webhooks: HMAC-SHA256 over `{timestamp}.{body}`, retries with backoff, idempotency key.

Headers sent with every attempt of one delivery:

- `Idempotency-Key`: the same for every retry of the same alert event (receivers de-duplicate);
- `X-HMG-Timestamp`: unix seconds of this attempt;
- `X-HMG-Signature`: `sha256=` + hex HMAC-SHA256(secret, f"{timestamp}.{body}").

Receivers check both, and refuse a timestamp more than 5 minutes from their clock (`verify`
does). Receipts show the URL redacted to its scheme and host (paths often carry tokens).

Connection errors, timeouts, 408, 429 and 5xx are retried (`attempts` in all, delays
`backoff * 2**n` capped at `max_backoff`); other 4xx are final. A 2xx response is the delivery
receipt: its status and, when the body is JSON, the body are recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable

import httpx

from gateway.notifiers.addresses import redact_url
from gateway.notifiers.base import Notification, Receipt

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


MAX_AGE_S = 300.0


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    max_age_s: float = MAX_AGE_S,
) -> bool:
    """For receivers: constant-time check of `X-HMG-Signature`, and of `X-HMG-Timestamp` being
    within `max_age_s` (5 minutes) of `now`, so a captured delivery cannot be replayed later."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > max_age_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookChannel:
    name = "webhook"
    personal = False
    slow = True

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs a signing secret")
        self.url = url
        self.target = redact_url(url)  # what receipts, logs and the API show
        self.secret = secret
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self._sleep = sleep
        self._transport = transport

    async def deliver(self, n: Notification) -> Receipt:
        body = json.dumps(
            {**n.payload, "delivery_id": n.key}, ensure_ascii=False, separators=(",", ":")
        ).encode()
        error = "not attempted"
        async with httpx.AsyncClient(timeout=self.timeout, transport=self._transport) as client:
            for attempt in range(1, self.attempts + 1):
                ts = str(int(time.time()))
                headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    "Idempotency-Key": n.key,
                    "X-HMG-Timestamp": ts,
                    "X-HMG-Signature": sign(self.secret, ts, body),
                    "X-HMG-Attempt": str(attempt),
                }
                try:
                    resp = await client.post(self.url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    if resp.is_success:
                        return Receipt(self.name, self.target, True, attempt, detail=_receipt(resp))
                    error = f"HTTP {resp.status_code}"
                    if resp.status_code not in RETRY_STATUS:
                        return Receipt(self.name, self.target, False, attempt, error)
                if attempt < self.attempts:
                    await self._sleep(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))
        return Receipt(self.name, self.target, False, self.attempts, error)


def _receipt(resp: httpx.Response) -> dict[str, object]:
    out: dict[str, object] = {"status": resp.status_code}
    with contextlib.suppress(ValueError):
        out["body"] = resp.json()
    return out
