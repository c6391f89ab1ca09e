"""The router role: device messages in, stored readings out to their patient's partition.

Routers are stateless and share the device stream's durable pull consumer. One router is active
at a time (a lease in the KV bucket `hmg_router_lease`), the others stand by and take over
within the lease's TTL: two routers working at once would hand a device's readings on out of
order (one batch overtaking the other), and the detectors need each device in order.

For each batch the active router decodes and resolves (dead letters as in the
single gateway), stores the readings idempotently, publishes every resolved reading to its
patient's partition subject (de-duplicated by device and seq), and only then acknowledges the
device messages. A router that dies before the acknowledgement leaves the batch to be delivered
again: the store keeps each reading once and the partition stream drops the repeated publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig

from devices.model import utcnow
from gateway.flow.intake import Inbound
from gateway.flow.pipeline import Pipeline
from gateway.flow.ports import deadletter_message
from gateway.scale.envelope import msg_id, pack
from gateway.scale.leases import Buckets, Membership
from gateway.scale.partition import partition_of, subject
from gateway.scale.streams import DEVICE_STREAM, DEVICE_SUBJECT, PART_PREFIX, mqtt_topic
from gateway.storage import StoreUnavailableError

log = logging.getLogger(__name__)

ROUTERS_CONSUMER = "hmg-routers"


class Router:
    def __init__(
        self,
        pipeline: Pipeline,
        nc: NatsClient,
        *,
        partitions: int,
        batch: int = 256,
        router_id: str = "router",
        lease_ttl_s: float = 6.0,
        replicas: int = 1,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.pipeline = pipeline
        self.nc = nc
        self.js = nc.jetstream()
        self.partitions = partitions
        self.batch = batch
        self.clock = clock
        self.router_id = router_id
        self.lease_ttl_s = lease_ttl_s
        self.replicas = replicas
        self.routed = 0  # device messages stored, forwarded and acknowledged

    async def run(self, stop: asyncio.Event) -> None:
        sub = await self.js.pull_subscribe(
            DEVICE_SUBJECT,
            durable=ROUTERS_CONSUMER,
            stream=DEVICE_STREAM,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0, max_deliver=-1),
        )
        lease = Membership(self.js, self.router_id, 1, self.lease_ttl_s, self.replicas,
                           Buckets(members="hmg_routers", leases="hmg_router_lease"))  # fmt: skip
        await lease.open()
        beat = self.lease_ttl_s / 3
        renewed = 0.0
        while not stop.is_set():
            if 0 not in lease.held:  # standby: try to become the active router
                if not await lease.acquire(0):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), beat)
                    continue
                log.info("router %s is active", self.router_id)
                renewed = time.monotonic()
            if time.monotonic() - renewed >= beat:
                if not await lease.renew(0):
                    continue  # another router took over: back to standby
                renewed = time.monotonic()
            try:
                msgs = await sub.fetch(self.batch, timeout=0.5)
            except TimeoutError:  # nats-py raises its own or asyncio's
                continue
            await self.route(msgs)
        await lease.release(0)

    async def route(self, msgs: Sequence[Msg]) -> None:
        now = self.clock()
        batch = [Inbound(mqtt_topic(m.subject), m.data, now) for m in msgs]
        decoded = self.pipeline.decode(batch)
        try:
            await self.pipeline.store(decoded)
            await asyncio.gather(
                *(
                    self.js.publish(
                        subject(PART_PREFIX, partition_of(r.tenant, r.patient_id, self.partitions)),
                        pack(r),
                        headers={"Nats-Msg-Id": msg_id(r)},
                    )
                    for r in decoded.readings
                    if r.patient_id is not None
                )
            )
        except (StoreUnavailableError, nats.errors.Error) as exc:
            # Nothing is acknowledged: the batch comes again (stored once, forwarded once).
            log.warning("batch of %d not routed, retrying: %s", len(msgs), exc)
            for m in msgs:
                await m.nak(delay=1.0)
            return
        for d in decoded.rejected:
            await self.nc.publish(f"hm.v1.{d.tenant}.deadletter", deadletter_message(d))
        for m in msgs:
            await m.ack()
        self.routed += len(msgs)
