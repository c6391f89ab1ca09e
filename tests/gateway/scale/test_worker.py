"""A detector worker's partition is wired like the single gateway: its detectors know each
patient's care context (`lives_alone`, `disability`) from the patient record."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import nats
import pytest

from devices.kinds import Kind
from devices.model import PatientKey, Reading, utcnow
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.scale.worker import SNAPSHOT_BUCKET, PartitionRunner, WorkerSettings
from gateway.storage import Patient
from tests.support.nats import nats_server

pytestmark = pytest.mark.integration


def _flags_seen(runner: PartitionRunner, patient: PatientKey) -> set[frozenset[str]]:
    detectors = runner.engine.export_state([patient])[patient]
    return {d.ctx.flags for d in detectors if hasattr(d, "ctx")}


async def test_a_partitions_detectors_know_who_lives_alone(tmp_path: Path) -> None:
    now = utcnow()
    settings = Settings(mode="test", data_dir=tmp_path, partitions=1)
    gw = Gateway(settings)
    await gw.start(mqtt=False, detection=False)
    await gw.stores.patients.save_patient(Patient("p-001", "t1", now, lives_alone=True))
    try:
        with nats_server(tmp_path / "nats") as node:
            nc = await nats.connect(node.url)
            try:
                snapshots = await nc.jetstream().create_object_store(SNAPSHOT_BUCKET)
                ws = WorkerSettings.of(settings)
                runner = PartitionRunner(0, gw.runtime, nc, snapshots, ws, settings.snapshot_key)
                await runner.restore()
                reading = Reading(
                    "t1", "cuff-1", Kind.BP, 1, now - timedelta(seconds=5), now, "p-001",
                    values={"systolic": 128.0, "diastolic": 80.0},
                )  # fmt: skip
                runner.pipeline.detect([reading])
            finally:
                await nc.close()
    finally:
        await gw.stop()
    assert _flags_seen(runner, PatientKey("t1", "p-001")) == {frozenset({"lives_alone"})}
