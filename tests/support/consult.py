"""Remote ECG consultation fixtures: an elder with an ECG patch whose strip is in AF, and a
reading centre that the elder's tenant sends to."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from devices.registry import Binding, Device
from gateway.flow.intake import Inbound
from gateway.runtime.service import Gateway
from gateway.storage.patients import Patient
from tests.alerts.ecg.ecg_synth import synth_ecg
from tests.support.wire import v1_doc

FS = 250.0
GAIN = 200.0
CENTRE = "c-heart"
CENTRE_BODY: dict[str, Any] = {
    "name": "City No.1 Hospital ECG centre",
    "cardiologists": ["dr.chen", "dr.zhou"],
    "lead": "dr.wu",
    "senders": ["t-east"],
}


def af_signal(beats: int = 90, seed: int = 5) -> np.ndarray:
    """ADC units of an irregular rhythm with fibrillatory waves (the analyser calls it AF)."""
    rr = list(np.random.default_rng(seed).uniform(0.45, 1.0, beats))
    x = synth_ecg(FS, rr, atrial="f", seed=2, wander=0.05)
    return np.round(x * GAIN).astype(np.int16)


def ecg_messages(
    tenant: str, device: str, start: datetime, adc: np.ndarray, seconds: float = 2.0
) -> list[tuple[str, bytes]]:
    """The patch's chunks as MQTT (topic, payload) pairs, `seconds` each."""
    chunk = int(seconds * FS)
    out = []
    for k, i in enumerate(range(0, adc.size, chunk)):
        data = {"fs": FS, "lead": "II", "gain": GAIN, "samples": adc[i : i + chunk].tolist()}
        ts = start + timedelta(seconds=i / FS)
        doc = v1_doc(device, "ecg", k + 1, data, ts)
        out.append((f"hm/v1/{tenant}/{device}/ecg", json.dumps(doc).encode()))
    return out


async def seed_af(
    gw: Gateway, now: datetime, patient_id: str, tenant: str, start: datetime
) -> np.ndarray:
    """The elder, their patch, and an AF strip from `start` through the pipeline."""
    since = now - timedelta(days=30)
    await gw.stores.patients.save_patient(Patient(patient_id, tenant, since, name=patient_id))
    device = f"patch-{patient_id}"
    dev = Device(device, tenant, "ecg", bindings=(Binding(patient_id, since),))
    await gw.stores.patients.save_device(dev, now)
    gw.registry.put(dev)
    adc = af_signal()
    batch = [Inbound(t, p, now) for t, p in ecg_messages(tenant, device, start, adc)]
    await gw.pipeline.handle(batch)
    return adc
