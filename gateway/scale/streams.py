"""The JetStream streams of a scaled-out deployment, declared once.

- `HMG_DEVICES` captures what devices publish over nats-server's MQTT listener
  (`hm/v1/{tenant}/{device}/{kind}` arrives as subject `hm.v1.{tenant}.{device}.{kind}`) as a
  work queue: each message goes to one router, and leaves the stream once a router has stored
  and forwarded it. Only five-token subjects are captured, so the gateway's dead letters
  (`hm.v1.{tenant}.deadletter`) and alerts (`hm.alerts.v1...`) never come back in.
- `HMG_PARTS` holds resolved readings by patient partition (`hmg.part.{n}`). It is kept for
  `retention_h` hours (not a work queue), so a worker taking over a partition can replay it from
  the sequence its snapshot covers. Publishing de-duplicates on the reading's (tenant, device,
  seq) within `duplicate_window_s`.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

DEVICE_STREAM = "HMG_DEVICES"
DEVICE_SUBJECT = "hm.v1.*.*.*"
PART_STREAM = "HMG_PARTS"
PART_PREFIX = "hmg.part"


@dataclass(frozen=True, slots=True)
class StreamSettings:
    replicas: int = 1
    retention_h: float = 48.0
    duplicate_window_s: float = 600.0


async def ensure_streams(js: JetStreamContext, s: StreamSettings) -> None:
    """Create the streams if absent (every role calls this; the first one creates them)."""
    configs = (
        StreamConfig(
            name=DEVICE_STREAM,
            subjects=[DEVICE_SUBJECT],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            num_replicas=s.replicas,
        ),
        StreamConfig(
            name=PART_STREAM,
            subjects=[f"{PART_PREFIX}.*"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=s.replicas,
            max_age=s.retention_h * 3600.0,
            duplicate_window=s.duplicate_window_s,
        ),
    )
    for config in configs:
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)  # exists with other limits: take ours


def mqtt_topic(subject: str) -> str:
    """The MQTT topic a device published, from its NATS subject (nats-server turns a `.`
    inside a topic level into `//`).

    >>> mqtt_topic("hm.v1.t1.cuff-1.bp")
    'hm/v1/t1/cuff-1/bp'
    >>> mqtt_topic("hm.v1.t1.cuff//1.bp")
    'hm/v1/t1/cuff.1/bp'
    """
    return "/".join(level.replace("\0", ".") for level in subject.replace("//", "\0").split("."))


def nats_subject(topic: str) -> str:
    """The NATS subject nats-server's MQTT listener delivers to subscribers of `topic` (the
    inverse of `mqtt_topic`).

    >>> nats_subject("hm/alerts/v1/t1/p-001")
    'hm.alerts.v1.t1.p-001'
    >>> nats_subject("hm/alerts/v1/t1/p.1")
    'hm.alerts.v1.t1.p//1'
    """
    return ".".join(level.replace(".", "//") for level in topic.split("/"))
