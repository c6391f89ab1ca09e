"""The regional platform as an outbox channel: transaction Bundles POSTed with an OAuth2 token.

`PlatformChannel` is a broadcast-style channel of the notification outbox (`fhir.platform`): the
outbox stores each push, retries it with back-off until the platform confirms it, and finds it
again after a crash, so a push is delivered at least once; the Bundle's entries are PUTs of
resources with stable ids, so delivering it twice changes nothing. Before each attempt the
elder's consent is checked again (a push queued before a withdrawal is dropped, not sent), and
every attempt is written to the audit trail.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from gateway.actor import system_actor
from gateway.fhir.settings import PlatformSettings
from gateway.notifiers.base import Notification, Receipt
from gateway.storage.audit import AuditEntry, AuditStore
from gateway.storage.consents import ConsentStore

__all__ = ["CHANNEL", "ClientCredentials", "PlatformChannel"]

log = logging.getLogger(__name__)

CHANNEL = "fhir.platform"


class ClientCredentials:
    """OAuth2 client-credentials grant (RFC 6749 §4.4), the token kept until shortly before it
    expires; client id and secret in HTTP Basic (§2.3.1)."""

    def __init__(self, s: PlatformSettings, client: httpx.AsyncClient) -> None:
        self.s = s
        self.client = client
        self._token: str | None = None
        self._until = 0.0

    async def header(self) -> dict[str, str]:
        if not self.s.token_url:
            return {}
        if self._token is None or time.monotonic() >= self._until:
            secret = self.s.client_secret.get_secret_value() if self.s.client_secret else ""
            form = {"grant_type": "client_credentials"}
            if self.s.scope:
                form["scope"] = self.s.scope
            r = await self.client.post(
                self.s.token_url, data=form, auth=(self.s.client_id or "", secret)
            )
            r.raise_for_status()
            doc = r.json()
            self._token = str(doc["access_token"])
            self._until = time.monotonic() + max(float(doc.get("expires_in", 300)) - 30.0, 5.0)
        return {"Authorization": f"Bearer {self._token}"}

    def forget(self) -> None:
        self._token = None


def _confirmed(r: httpx.Response, sent: int) -> str | None:
    """None when the platform applied the whole transaction, else why not."""
    if r.status_code != 200:
        return f"HTTP {r.status_code}"
    try:
        doc = r.json()
    except ValueError:
        return "response is not JSON"
    if doc.get("resourceType") != "Bundle" or doc.get("type") != "transaction-response":
        return "response is not a transaction-response Bundle"
    statuses = [str(e.get("response", {}).get("status", "")) for e in doc.get("entry", [])]
    if len(statuses) != sent or not all(s[:1] == "2" for s in statuses):
        return f"entries not applied: {statuses[:5]}"
    return None


class PlatformChannel:
    name = CHANNEL
    personal = False
    slow = True

    def __init__(
        self,
        settings: PlatformSettings,
        consents: ConsentStore,
        audit: AuditStore,
        clock: Callable[[], Any],
        client: httpx.AsyncClient | None = None,
    ) -> None:
        assert settings.url
        self.url = settings.url.rstrip("/")
        self.consents = consents
        self.audit = audit
        self.clock = clock
        self.client = client or httpx.AsyncClient(timeout=settings.timeout_s)
        self.oauth = ClientCredentials(settings, self.client)

    async def _audit(self, n: Notification, outcome: str, detail: dict[str, Any]) -> None:
        tenant, pid = str(n.payload["tenant"]), str(n.payload["patient_id"])
        entry = AuditEntry.by(
            system_actor(tenant, "platform-push"),
            self.clock(),
            f"platform.push.{outcome}",
            "patient",
            pid,
            {"delivery_id": n.key, "resources": len(n.payload["bundle"]["entry"]), **detail},
        )
        await self.audit.append(entry)

    async def deliver(self, n: Notification) -> Receipt:
        tenant, pid = str(n.payload["tenant"]), str(n.payload["patient_id"])
        consent = await self.consents.get(tenant, pid)
        if consent is None or not consent.shares:
            await self._audit(n, "dropped", {"reason": "no consent to share"})
            return Receipt(CHANNEL, self.url, True, detail={"dropped": "no consent to share"})
        bundle = n.payload["bundle"]
        send: Callable[[], Awaitable[httpx.Response]] = lambda: self._post(bundle, n.key)  # noqa: E731
        try:
            r = await send()
            if r.status_code == 401:  # the token expired or was revoked: once more, anew
                self.oauth.forget()
                r = await send()
            error = _confirmed(r, len(bundle["entry"]))
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        await self._audit(n, "failed" if error else "delivered", {"error": error} if error else {})
        if error:
            log.warning("platform push %s failed: %s", n.key, error)
            return Receipt(CHANNEL, self.url, False, error=error)
        return Receipt(CHANNEL, self.url, True, detail={"entries": len(bundle["entry"])})

    async def _post(self, bundle: dict[str, Any], key: str) -> httpx.Response:
        headers = {
            "Content-Type": "application/fhir+json",
            "Accept": "application/fhir+json",
            "X-Request-Id": key,
            **(await self.oauth.header()),
        }
        return await self.client.post(self.url, json=bundle, headers=headers)

    async def close(self) -> None:
        await self.client.aclose()
