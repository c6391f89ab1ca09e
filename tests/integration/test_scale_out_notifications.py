"""At-least-once notification in the scaled-out setup: real nats-server (devices and the alert
subscriber on its MQTT listener), PostgreSQL, a real webhook receiver process (answering 503 to a
fifth of the POSTs) and `hmg gateway --role router|worker` processes. Workers are SIGKILLed at
random points (seeded) while 100 crisis alerts are raised among routine readings: every crisis
alert's webhook and MQTT notification arrives at least once, every copy of one alert's
notification carries the same delivery id, none is lost, and each alert is raised once.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from tests.integration.test_faults import stream
from tests.integration.test_notification_faults import (
    CODE,
    SECRET,
    AlertWatch,
    check_notified,
    crises,
    hooked,
)
from tests.integration.test_scale_out import (
    Role,
    balanced,
    opened,
    publish,
    role_env,
    sql,
    stop_all,
)
from tests.integration.test_scale_out import wait_until as wait
from tests.support import webhook_receiver
from tests.support.nats import nats_server
from tests.support.servers import stop_process, wait_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKERS = ("w1", "w2", "w3")
KILLS = 2  # one worker is left to own every partition


def undelivered(db_url: str) -> int:
    """Notifications on the alert topic and the webhook stored but not yet sent."""
    return int(
        str(
            sql(
                db_url,
                "SELECT count(*) FROM notification_outbox "
                "WHERE delivered_at IS NULL AND channel IN ('mqtt', 'webhook')",
            )[0][0]
        )
    )


def test_workers_killed_while_crises_are_raised_lose_no_notification(
    tmp_path: Path, pg: str
) -> None:
    seed = int(os.environ.get("HMG_FAULT_SEED", "20261204"))
    rnd = random.Random(seed)
    out = tmp_path / "webhook.jsonl"
    hook_port, receiver = webhook_receiver.start(out, SECRET, 0.2)
    patients = {f"cuff-{k:03d}" for k in range(100)}
    try:  # listening before five role processes start up beside it
        wait_port(hook_port, 60)
    except TimeoutError:
        stop_process(receiver)
        raise
    t_start = time.monotonic()
    with nats_server(tmp_path / "nats") as node:
        env = role_env([node], pg, tmp_path / "data")
        env["HMG_WEBHOOK_URL"] = f"http://127.0.0.1:{hook_port}/hook"
        env["HMG_WEBHOOK_SECRET"] = SECRET
        roles = [Role(f"router-{i}", ["--role", "router"], env, tmp_path) for i in (1, 2)]
        workers = {w: Role(w, ["--role", "worker", "--worker-id", w], env, tmp_path)
                   for w in WORKERS}  # fmt: skip
        watch = AlertWatch(node.mqtt_port)
        killed: list[tuple[int, str, int]] = []  # (chunk, worker, undelivered rows then)
        try:
            wait(lambda: balanced(node.url, list(WORKERS)), 120, "partitions spread")
            t0 = time.monotonic()
            started = t0 - t_start
            # 100 crisis readings spread through routine ones, ten chunks a second apart.
            alarms = crises()
            routine = stream(1000)
            chunks = [
                [m for k in range(i, i + 10) for m in (alarms[k], *routine[k * 10 : k * 10 + 10])]
                for i in range(0, 100, 10)
            ]
            kills = sorted(rnd.sample(range(len(chunks)), KILLS))
            for i, chunk in enumerate(chunks):
                publish(node.mqtt_port, chunk, f"dev-{i}")
                if i in kills:
                    time.sleep(rnd.uniform(0.0, 0.8))  # detecting, storing or sending
                    alive = sorted(w for w in WORKERS if workers[w].proc.poll() is None)
                    victim = rnd.choice(alive)
                    workers[victim].kill()
                    killed.append((i, victim, undelivered(pg)))
                else:
                    time.sleep(1.0)
            try:
                wait(
                    lambda: watch.patients() >= patients and hooked(out) >= patients,
                    75,
                    "every crisis notified on MQTT and the webhook",
                )
            except AssertionError as exc:
                missing = (len(patients - watch.patients()), len(patients - hooked(out)))
                raise AssertionError(f"{exc}; missing on MQTT, webhook: {missing}") from None
            notified_after = time.monotonic() - t0
            time.sleep(2)  # a copy sent twice would show up by now
        finally:
            watch.close()
            stop_all([*roles, *workers.values()])
            stop_process(receiver)

    check_notified(
        watch,
        out,
        patients,
        f"scaled-out notification faults (seed {seed}; killed (chunk, worker, undelivered "
        f"rows) {killed}): partitions spread {started:.1f} s after the start, all notified "
        f"{notified_after:.1f} s after the first reading; ",
    )
    crisis = [p for p, c in opened(pg) if c == CODE]
    assert sorted(crisis) == sorted(patients)  # raised once each
