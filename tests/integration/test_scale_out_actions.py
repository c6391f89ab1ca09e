"""Clinicians' actions in the scaled-out roles, on real nats-server, PostgreSQL and
`hmg gateway --role ...` processes: an acknowledgement through the `api` process reaches the
worker that owns the patient's partition, which stops the escalation and stores and audits it
once; with no owner alive the API answers 503 within its bound and nothing is applied.

The escalation policy gives the first tier a short deadline so that it passes during the test;
an alert nobody acknowledges escalates on time, which shows the deadline did pass.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from alerts.model import Alert, AlertEvent, EventType, Priority, State
from devices.model import utcnow
from gateway.scale.partition import partition_of
from gateway.storage import AlertRecord, Database, Stores
from tests.integration.test_scale_out import (
    PARTITIONS,
    TENANT,
    Role,
    balanced,
    bp,
    owners,
    publish,
    role_env,
    sql,
    wait_until,
)
from tests.support.nats import nats_server
from tests.support.servers import free_port, wait_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEADLINE_S = 20  # the first tier's deadline: the acknowledgement comes well before it
POLICY = f"""
schema = "hm.escalation-policy/1"
tenant = "{TENANT}"
version = "scale-actions"
repeat_interval = "10m"
max_repeats = 1

[ack_silence]
high = "30m"

[[tiers]]
name = "family_doctor"
targets = ["patient:care_team"]
deadlines = {{ high = "{DEADLINE_S}s" }}

[[tiers]]
name = "on_call_physician"
targets = ["rotation:oncall-physicians"]
deadlines = {{ high = "10m" }}
"""
PASSWORD = "a long enough password 42"
ACTION_TIMEOUT_S = 3.0


@pytest.fixture
def env(tmp_path: Path, pg: str) -> dict[str, str]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    return {"HMG_POLICIES": str(policy), "HMG_ACTION_TIMEOUT_S": str(ACTION_TIMEOUT_S)}


def add_clinician(env: dict[str, str], name: str) -> None:
    """`hmg users add`, the password on standard input (as an operator would script it)."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "users", "add", name, "--role", "clinician",
         "--tenant", TENANT],
        input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


class Api:
    """The `api` process over HTTP, signed in as a clinician through `/auth/token`."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.port = free_port()
        self.role = Role("api", ["--role", "api"], {**env, "HMG_API_PORT": str(self.port)}, logdir)
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ""

    def sign_in(self, user: str) -> None:
        wait_port(self.port, timeout=60)
        r = httpx.post(
            f"{self.url}/auth/token",
            data={"grant_type": "password", "username": user, "password": PASSWORD},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]

    def act(self, alert_id: str, action: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.post(
            f"{self.url}/alerts/{alert_id}/{action}", json={}, headers=headers, timeout=30
        )


@pytest.fixture
def processes() -> Iterator[list[Role]]:
    started: list[Role] = []
    yield started
    for r in started:
        r.stop()


def alert_of(db: str, patient: str) -> str | None:
    rows = sql(db, f"SELECT alert_id FROM alerts WHERE patient_id = '{patient}'")
    return str(rows[0][0]) if rows else None


def events(db: str, alert_id: str) -> list[str]:
    rows = sql(db, f"SELECT event FROM alert_events WHERE alert_id = '{alert_id}' ORDER BY id")
    return [str(e) for (e,) in rows]


def audited(db: str, alert_id: str) -> list[tuple[str, str]]:
    rows = sql(db, f"SELECT action, actor FROM audit_log WHERE subject_id = '{alert_id}'")
    return [(str(a), str(u)) for a, u in rows]


def crisis(device: str) -> list[tuple[str, bytes]]:
    return [bp(device, 1, 150, 92, 3.0), bp(device, 2, 158, 96, 2.0),
            bp(device, 3, 194, 124, 1.0)]  # fmt: skip


def test_ack_through_the_api_stops_the_owners_escalation(
    tmp_path: Path, pg: str, env: dict[str, str], processes: list[Role]
) -> None:
    with nats_server(tmp_path / "nats") as node:
        base = {**role_env([node], pg, tmp_path / "data"), **env}
        add_clinician(base, "dr.wang")
        processes += [
            Role(w, ["--role", "worker", "--worker-id", w], base, tmp_path) for w in ("w1", "w2")
        ]
        processes.append(Role("router", ["--role", "router"], base, tmp_path))
        api = Api(base, tmp_path)
        processes.append(api.role)
        api.sign_in("dr.wang")
        wait_until(lambda: balanced(node.url, ["w1", "w2"]), 240, "partitions spread")
        held = owners(node.url)

        def cuff_on(worker: str, skip: str = "") -> str:
            return next(
                c
                for k in range(500)
                if (c := f"cuff-a{k}") != skip
                and held[partition_of(TENANT, c, PARTITIONS)] == worker
            )

        acked = [cuff_on("w1"), cuff_on("w2")]  # one on each worker
        control = cuff_on("w1", skip=acked[0])  # nobody acknowledges this one
        publish(node.mqtt_port, [m for c in [*acked, control] for m in crisis(c)], "dev-a")
        wait_until(lambda: all(alert_of(pg, c) for c in [*acked, control]), 60, "the crisis alerts")
        ids = {c: str(alert_of(pg, c)) for c in [*acked, control]}
        t_open = time.monotonic()
        for c in acked:
            r = api.act(ids[c], "ack")
            assert r.status_code == 200, r.text
            assert (r.json()["state"], r.json()["acknowledged_by"]) == ("acknowledged", "dr.wang")
        assert time.monotonic() - t_open < DEADLINE_S - 5, "acknowledged too late to tell"
        # The deadline passes: the unacknowledged alert escalates on its worker ...
        wait_until(lambda: "escalated" in events(pg, ids[control]), DEADLINE_S + 40,
                   "the control alert to escalate")  # fmt: skip
        time.sleep(3)  # ... and the acknowledged ones would have by now, on both workers
        for c in acked:
            assert events(pg, ids[c]) == ["opened", "acknowledged"], c
            assert audited(pg, ids[c]) == [("acknowledge", "dr.wang")], c
        assert audited(pg, ids[control]) == []


def test_an_action_with_no_live_owner_fails_clearly_within_the_bound(
    tmp_path: Path, pg: str, env: dict[str, str], processes: list[Role]
) -> None:
    alert = seed_alert(pg, "p-nobody")
    with nats_server(tmp_path / "nats") as node:
        base = {**role_env([node], pg, tmp_path / "data"), **env}
        add_clinician(base, "dr.wang")
        api = Api(base, tmp_path)  # and no worker at all
        processes.append(api.role)
        api.sign_in("dr.wang")
        t = time.monotonic()
        r = api.act(alert.alert_id, "ack")
        took = time.monotonic() - t
    assert r.status_code == 503, r.text
    part = partition_of(TENANT, "p-nobody", PARTITIONS)
    assert f"partition {part} has no owner within {ACTION_TIMEOUT_S:g} s" in r.json()["detail"]
    assert "Retry-After" in r.headers
    assert ACTION_TIMEOUT_S <= took < ACTION_TIMEOUT_S + 2.0, took
    assert events(pg, alert.alert_id) == ["opened"]  # nothing applied anywhere
    assert audited(pg, alert.alert_id) == []
    assert sql(pg, f"SELECT state FROM alerts WHERE alert_id = '{alert.alert_id}'") == [("open",)]


def seed_alert(db_url: str, patient: str) -> Alert:
    """An open crisis alert, stored as a worker would have stored it."""
    now = utcnow() - timedelta(seconds=5)
    alert = Alert(f"a-{patient}", TENANT, patient, "bp.hypertensive_crisis",
                  "bp.hypertensive_crisis", Priority.HIGH, State.OPEN, now, now, now,
                  {"en": "crisis"}, {})  # fmt: skip

    async def save() -> None:
        db = Database(db_url)
        try:
            opened = AlertEvent(EventType.OPENED, now, alert)
            await Stores.of(db).records.commit(AlertRecord(at=now, events=[opened]))
        finally:
            await db.dispose()

    asyncio.run(save())
    return alert
