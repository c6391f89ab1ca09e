"""Notification channels, registered in one list and switched on by configuration.

`CHANNELS` names every channel kind the gateway can build; `build_channels` turns a
`NotifierConfig` into channel instances for the `Dispatcher`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.notifiers.apprise_channel import AppriseChannel
from gateway.notifiers.base import Channel, Notification, Receipt, idempotency_key, render_text
from gateway.notifiers.mqtt import MqttTopicChannel, Publisher, alert_topic
from gateway.notifiers.sse import SseChannel
from gateway.notifiers.tiers import DeliveryLog, TierChannel
from gateway.notifiers.webhook import WebhookChannel, sign, verify
from gateway.runtime.settings import Settings

CHANNELS = ("mqtt", "sse", "webhook", "email", "sms")


@dataclass(frozen=True, slots=True)
class NotifierConfig:
    """Which channels run. `webhooks` are (url, secret) pairs; email/SMS take Apprise URL
    templates with an `{address}` placeholder."""

    enabled: tuple[str, ...] = ("mqtt", "sse", "webhook", "email", "sms")
    webhooks: tuple[tuple[str, str], ...] = ()
    email_url: str | None = None
    sms_url: str | None = None
    webhook_attempts: int = 5
    webhook_backoff_s: float = 0.5
    extra: tuple[Channel, ...] = field(default=())

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifierConfig:
        hooks: tuple[tuple[str, str], ...] = ()
        if settings.notify.webhook_url and settings.notify.webhook_secret:
            hooks = ((settings.notify.webhook_url, settings.notify.webhook_secret),)
        return cls(
            enabled=tuple(settings.notify.notify_channels or CHANNELS),
            webhooks=hooks,
            email_url=settings.notify.email_url,
            sms_url=settings.notify.sms_url,
        )


def build_channels(
    config: NotifierConfig, outbox: Callable[[], Publisher | None], sse: SseChannel
) -> list[Channel]:
    unknown = set(config.enabled) - set(CHANNELS)
    if unknown:
        raise ValueError(f"unknown notification channel(s): {', '.join(sorted(unknown))}")
    out: list[Channel] = []
    for name in CHANNELS:
        if name not in config.enabled:
            continue
        if name == "mqtt":
            out.append(MqttTopicChannel(outbox))
        elif name == "sse":
            out.append(sse)
        elif name == "webhook":
            out.extend(
                WebhookChannel(
                    url,
                    secret,
                    attempts=config.webhook_attempts,
                    backoff=config.webhook_backoff_s,
                )
                for url, secret in config.webhooks
            )
        elif name == "email" and config.email_url:
            out.append(AppriseChannel("email", config.email_url))
        elif name == "sms" and config.sms_url:
            out.append(AppriseChannel("sms", config.sms_url))
    out.extend(config.extra)
    return out


__all__ = [
    "CHANNELS",
    "AppriseChannel",
    "Channel",
    "DeliveryLog",
    "MqttTopicChannel",
    "Notification",
    "NotifierConfig",
    "Receipt",
    "SseChannel",
    "TierChannel",
    "WebhookChannel",
    "alert_topic",
    "build_channels",
    "idempotency_key",
    "render_text",
    "sign",
    "verify",
]
