"""Technical (device) alerts: `device.battery_low`, `device.signal_quality`, `device.stale`.

`DeviceStatusDetector` is a per-patient detector over `status` messages: battery below
`BATTERY_LOW` (15 %) raises `device.battery_low` until it is back above `BATTERY_OK` (25 %,
hysteresis so a level dithering around the limit is one episode); `lead_off: true` raises
`device.signal_quality` (reason "leads off") until a status says `lead_off: false`. One episode
per device (the alert group carries the device id). Warm-up: none.

`StaleWatch` is not per patient but per device, on the *server* clock (`received_at` and the
gateway's `now`), because silence is a property of the device: a device that normally reports
(at least `min_reports` messages seen) and has been silent for longer than `grace` times its
usual interval raises `device.stale` for the patient it reports for; its next message clears it.
The usual interval is the larger of the kind's expected interval
(`devices.kinds.EXPECTED_INTERVAL_S`) and the device's own cadence (a moving average of the gaps
between its messages), so a wristband set to report hourly is not stale after 23 minutes.
The alert desk (`alerts.desk`) feeds it every stored reading and ticks it with the timers.

>>> from datetime import UTC, datetime
>>> from alerts.detectors.base import PatientContext
>>> from devices.kinds import Kind
>>> from devices.model import Reading
>>> t = datetime(2026, 1, 1, tzinfo=UTC)
>>> r = Reading("t", "patch-1", Kind.STATUS, 1, t, t, "p1", {"battery": 0.08}, {"lead_off": True})
>>> sorted(c.code for c in DeviceStatusDetector(PatientContext("p1")).update(r))
['device.battery_low', 'device.signal_quality']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from alerts.detectors.base import PatientContext
from alerts.model import Action, AlertCandidate
from devices.kinds import EXPECTED_INTERVAL_S, Kind
from devices.model import Reading

BATTERY_LOW = 0.15
BATTERY_OK = 0.25
BATTERY = "device.battery_low"
SIGNAL = "device.signal_quality"
STALE = "device.stale"


class DeviceStatusDetector:
    """Battery and electrode status from `status` messages (see module docstring)."""

    name: ClassVar[str] = "device"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.STATUS})

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx
        self._low: set[str] = set()
        self._leads_off: set[str] = set()

    def update(self, reading: Reading) -> list[AlertCandidate]:
        out: list[AlertCandidate] = []
        dev = reading.device_id
        battery = reading.values.get("battery")
        if battery is not None:
            if battery < BATTERY_LOW:
                self._low.add(dev)
                out.append(self._cand(BATTERY, reading, Action.RAISE, percent=battery * 100))
            elif battery >= BATTERY_OK and dev in self._low:
                self._low.discard(dev)
                out.append(self._cand(BATTERY, reading, Action.CLEAR, percent=battery * 100))
        lead_off = reading.attrs.get("lead_off")
        if lead_off is True:
            self._leads_off.add(dev)
            out.append(self._cand(SIGNAL, reading, Action.RAISE, reason="leads off"))
        elif lead_off is False and dev in self._leads_off:
            self._leads_off.discard(dev)
            out.append(self._cand(SIGNAL, reading, Action.CLEAR, reason="leads back on"))
        return out

    def tick(self, now: datetime) -> list[AlertCandidate]:
        return []

    def _cand(self, code: str, r: Reading, action: Action, **params: object) -> AlertCandidate:
        evidence = {"device_id": r.device_id, "seq": r.seq, **dict(r.values), **dict(r.attrs)}
        return AlertCandidate(
            patient_id=self.ctx.patient_id,
            code=code,
            at=r.ts,
            action=action,
            params={"device_id": r.device_id, **params},
            evidence=evidence,
            group=f"{code}:{r.device_id}",
        )


@dataclass(slots=True)
class _Seen:
    kind: Kind
    patient_id: str
    tenant: str
    last: datetime
    reports: int = 1
    stale: bool = False
    cadence_s: float = 0.0  # moving average of the gaps between messages


class StaleWatch:
    """Per-device silence detector on the server clock (see module docstring)."""

    def __init__(
        self,
        intervals: Mapping[Kind, float] = EXPECTED_INTERVAL_S,
        *,
        grace: float = 1.5,
        min_reports: int = 3,
    ) -> None:
        self.intervals = intervals
        self.grace = grace
        self.min_reports = min_reports
        self._devices: dict[str, _Seen] = {}

    def tenant_of(self, device_id: str) -> str | None:
        seen = self._devices.get(device_id)
        return seen.tenant if seen else None

    def seen(self, reading: Reading, at: datetime | None = None) -> list[AlertCandidate]:
        """Note a stored reading received at `at` (default: its receive time; a replay passes
        its own clock); a stale device that reports again clears its alert."""
        if reading.patient_id is None:
            return []
        at = at or reading.received_at
        s = self._devices.get(reading.device_id)
        if s is None:
            self._devices[reading.device_id] = _Seen(
                reading.kind, reading.patient_id, reading.tenant, at
            )
            return []
        out = []
        if s.stale:
            s.stale = False
            out.append(self._cand(reading.device_id, s, at, Action.CLEAR))
        if reading.kind is not Kind.STATUS:
            s.kind = reading.kind  # the data kind sets the cadence, not status heartbeats
        gap = (at - s.last).total_seconds()
        if gap > 0:
            s.cadence_s = gap if s.cadence_s == 0.0 else 0.7 * s.cadence_s + 0.3 * gap
        s.patient_id, s.last = reading.patient_id, max(s.last, at)
        s.reports += 1
        return out

    def _limit(self, s: _Seen) -> timedelta:
        usual = max(self.intervals.get(s.kind, 3600.0), s.cadence_s)
        return timedelta(seconds=usual * self.grace)

    def next_due(self) -> datetime | None:
        """The earliest time at which a watched device would turn stale."""
        dues = [
            s.last + self._limit(s)
            for s in self._devices.values()
            if not s.stale and s.reports >= self.min_reports
        ]
        return min(dues) if dues else None

    def tick(self, now: datetime) -> list[AlertCandidate]:
        out = []
        for device_id, s in self._devices.items():
            if s.stale or s.reports < self.min_reports:
                continue
            if now - s.last >= self._limit(s):
                s.stale = True
                out.append(self._cand(device_id, s, now, Action.RAISE))
        return out

    def forget(self, device_id: str) -> None:
        self._devices.pop(device_id, None)

    @staticmethod
    def _cand(device_id: str, s: _Seen, at: datetime, action: Action) -> AlertCandidate:
        minutes = (at - s.last).total_seconds() / 60.0
        return AlertCandidate(
            patient_id=s.patient_id,
            tenant=s.tenant,
            code=STALE,
            at=at,
            action=action,
            params={"device_id": device_id, "minutes": minutes},
            evidence={
                "device_id": device_id,
                "kind": s.kind.value,
                "last_seen": s.last.isoformat(),
            },
            group=f"{STALE}:{device_id}",
        )
