"""`hmg demo`: embedded MQTT broker (amqtt), SQLite, a simulated cohort, the gateway and the API.

Everything runs in one process on 127.0.0.1 so that a new user sees alerts within two minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import uvicorn

from alerts.consult import Centre
from alerts.model import AlertEvent, EventType
from devices.model import utcnow
from devices.registry import Binding, Device
from gateway.actor import Actor, Role
from gateway.api.app import create_app
from gateway.auth.model import Account, AccountKind
from gateway.auth.passwords import hash_secret, new_secret
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage.accounts import AccountStore
from simulator.cohort import Cohort
from simulator.publisher import Publisher

log = logging.getLogger("hmg.demo")

# The example escalation policy (family doctor -> on-call physician -> emergency), when the demo
# runs from a source checkout.
DEMO_POLICY = Path(__file__).resolve().parent.parent / "deploy" / "policies" / "demo.toml"


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def pick_port(preferred: int) -> int:
    return preferred if port_free(preferred) else free_port()


async def start_broker(port: int) -> Any:
    """An in-process amqtt broker (MQTT 3.1.1), bound to 127.0.0.1 only."""
    from amqtt.broker import Broker

    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
        },
    }
    broker = Broker(config)
    await broker.start()
    return broker


def _fresh_database(db_path: Path) -> None:
    """Each demo starts from a clean record."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)


class ConsoleSink:
    """Prints alert openings and escalations as they happen, and counts every event."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    async def send(self, events: Sequence[AlertEvent]) -> None:
        for e in events:
            self.counts[f"{e.event.value}:{e.alert.code}"] += 1
            if e.event in (EventType.OPENED, EventType.ESCALATED):
                a = e.alert
                print(
                    f"  [{e.event.value:9}] {a.priority.value:6} {a.code:28} {a.patient_id:8} "
                    f"{a.message.get('en', '')} / {a.message.get('zh-CN', '')}",
                    flush=True,
                )


DEMO_ACCOUNTS = (
    ("demo.clinician", Role.CLINICIAN, "Demo clinician"),
    ("demo.admin", Role.ADMIN, "Demo administrator"),
)


async def demo_accounts(
    store: AccountStore,
    tenant: str = "demo",
    accounts: tuple[tuple[str, Role, str], ...] = DEMO_ACCOUNTS,
) -> list[tuple[str, str, Role]]:
    """Create the demo's clinician and administrator with fresh random passwords (the demo
    database is new each run); returns (name, password, role) to print once."""
    out = []
    now = utcnow()
    for name, role, display in accounts:
        password = new_secret()
        hashed = await asyncio.to_thread(hash_secret, password)
        account = Account(name, AccountKind.USER, role, tenant, display, hashed)
        if await store.add(account, now):
            out.append((name, password, role))
    return out


DEMO_CENTRE = "demo-heart"
DEMO_READER = ("demo.cardiologist", Role.CARDIOLOGIST, "Demo cardiologist")


async def demo_centre(gw: Gateway) -> list[tuple[str, str, Role]]:
    """The demo's ECG reading centre (the demo tenant sends to it) and its cardiologist."""
    reader = DEMO_READER[0]
    centre = Centre(DEMO_CENTRE, "Demo ECG reading centre", (reader,), reader, frozenset({"demo"}))
    await gw.consult.save_centre(Actor("system:demo", Role.ADMIN, DEMO_CENTRE, "demo"), centre)
    return await demo_accounts(AccountStore(gw.db), DEMO_CENTRE, (DEMO_READER,))


async def run_demo(
    *,
    duration: float | None = None,
    patients: int = 20,
    api_port: int = 8000,
    broker_port: int = 1883,
    data_dir: str = "hmg-data/demo",
    speed: float = 1.0,
    on_started: Callable[[], None] | None = None,
) -> int:
    for noisy in ("amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    port = pick_port(broker_port)
    api = pick_port(api_port)
    db_path = Path(data_dir) / "hmg.db"
    await asyncio.to_thread(_fresh_database, db_path)

    broker = await start_broker(port)
    settings = Settings(
        mode="demo",
        data_dir=Path(data_dir),
        mqtt_port=port,
        api_port=api,
        mqtt_client_id="hmg-demo-gateway",
        tick_interval_s=2.0,
        policies=DEMO_POLICY if DEMO_POLICY.is_file() else None,
    )
    sink = ConsoleSink()
    gw = Gateway(settings, sinks=[sink])
    await gw.start()
    if on_started is not None:
        on_started()
    if gw.ingest is not None:
        await gw.ingest.wait_connected(10.0)

    start = utcnow()
    cohort = Cohort(patients, seed=7, tenant="demo", start=start, time_scale=speed)
    for sd in cohort.devices():
        dev = Device(
            sd.device_id,
            sd.tenant,
            sd.kind,
            kiosk=sd.kiosk,
            bindings=() if sd.kiosk else (Binding(sd.patient_id, start),),
        )
        await gw.stores.patients.save_device(dev, start)
        gw.registry.put(dev)

    logins = await demo_accounts(AccountStore(gw.db), "demo")
    readers = await demo_centre(gw)
    app = create_app(gateway=gw)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=api,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,  # open live streams never end by themselves
        )
    )
    server_task = asyncio.create_task(server.serve())
    publisher = Publisher("127.0.0.1", port, client_id="hmg-demo-simulator", qos=1)
    await asyncio.to_thread(publisher.connect)

    print(f"hmg demo: {patients} simulated elders, devices publish to mqtt://127.0.0.1:{port}")
    print(f"  dashboard  http://127.0.0.1:{api}/   (sign in with a login below)")
    print(f"  API        http://127.0.0.1:{api}   (OpenAPI docs: http://127.0.0.1:{api}/docs)")
    print(f"  alerts     http://127.0.0.1:{api}/alerts   MQTT topic hm/alerts/v1/demo/#")
    print(f"  storage    {db_path} (SQLite)")
    for name, password, role in logins:
        print(f"  login      {name} / {password}   ({role.value}, tenant demo)")
    for name, password, role in readers:
        print(f"  login      {name} / {password}   ({role.value}, centre {DEMO_CENTRE})")
    print("  Ctrl-C to stop" + (f"; stopping after {duration:g} s" if duration else ""), flush=True)

    t_end = time.monotonic() + duration if duration else None
    try:
        while t_end is None or time.monotonic() < t_end:
            for topic, payload in cohort.due(utcnow()):
                await asyncio.to_thread(publisher.publish, topic, payload)
            await asyncio.sleep(0.25)
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    finally:
        await asyncio.to_thread(publisher.flush, 5.0)
        await asyncio.sleep(1.0)  # let the gateway drain what was just sent
        publisher.close()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await server_task
        await gw.stop()
        await broker.shutdown()
    opened = {k.split(":", 1)[1]: v for k, v in sink.counts.items() if k.startswith("opened:")}
    print(f"hmg demo: done. alerts opened: {dict(sorted(opened.items())) or 'none'}")
    return 0
