"""Routes readings to each patient's detectors; creates detector state on first sight.

Cross-signal detectors (`alerts.detectors.base.Observer`) also receive, after the readings'
detectors ran, every candidate the *other* detectors produced for the same patient whose code they
`consume` (from `process` and from `tick`). Their own output is not fed back (no cycles).

`prepare` lets detectors that implement `alerts.detectors.base.Prepares` compute a batch's
numeric work in one block before its readings go through `process` one by one (a cache: the
candidates are the same with or without it); `detect` is the two together, one reading's
candidates at a time. `lanes` splits a batch into its urgent and bulk lanes (`alerts.urgency`)
at each patient's targets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeGuard, cast

from alerts.detectors import DETECTORS, Detector, DetectorFactory, PatientContext
from alerts.detectors.base import DEFAULT_SETTINGS, DetectorSettings, Observer, Prepares
from alerts.model import AlertCandidate
from alerts.targets import DEFAULT_TARGETS, Targets
from alerts.urgency import TARGETED_KINDS, is_urgent, split_lanes
from devices.kinds import Kind
from devices.model import PatientKey, Reading

# Flags that keep a stored reading away from the detectors: an old value must not raise an alert
# as if it were current. `late` is set at ingest (older than the late-data limit), `stale` by any
# stage that knows the reading is outdated (e.g. a store-and-forward batch upload).
SKIP_FLAGS = frozenset({"late", "stale"})


_OBSERVES: dict[type, bool] = {}


def _is_observer(det: Detector) -> TypeGuard[Observer]:
    """`isinstance(det, Observer)`, decided once per detector class (a runtime protocol check
    inspects the class's attributes on every call, and patients are created on the ingest path)."""
    cls = type(det)
    known = _OBSERVES.get(cls)
    if known is None:
        known = _OBSERVES[cls] = isinstance(det, Observer)
    return known


_PREPARES: dict[type, type[Prepares] | None] = {}


def _preparer(det: Detector) -> type[Prepares] | None:
    """The detector's class if it prepares batches in blocks (decided once per class)."""
    cls = type(det)
    if cls not in _PREPARES:
        _PREPARES[cls] = cast("type[Prepares]", cls) if hasattr(cls, "prepare") else None
    return _PREPARES[cls]


class _Patient:
    """One patient's detector instances, routed by kind; every candidate they produce is stamped
    with the patient's tenant (detectors know only the patient id)."""

    def __init__(self, key: PatientKey, detectors: list[Detector]) -> None:
        self.key = key
        self.tenant = key.tenant
        self.detectors = detectors
        self.routes: dict[Kind, list[Detector]] = {}
        self.prepares: dict[Kind, list[tuple[type[Prepares], Detector]]] = {}
        for det in detectors:
            cls = _preparer(det)
            for kind in det.kinds:
                self.routes.setdefault(kind, []).append(det)
                if cls is not None:
                    self.prepares.setdefault(kind, []).append((cls, det))
        self.observers = [d for d in detectors if _is_observer(d)]

    def fan_out(self, produced: list[tuple[Detector, AlertCandidate]]) -> list[AlertCandidate]:
        out = [c for _, c in produced]
        for obs in self.observers:
            for source, cand in produced:
                if cand.code in obs.consumes and id(source) != id(obs):
                    out.extend(obs.observe(cand))
        tenant = self.tenant
        return [c if c.tenant == tenant else replace(c, tenant=tenant) for c in out]


class DetectionEngine:
    """Per-patient detector instances over a registered set of factories, keyed by
    `PatientKey` (tenant, patient id): two tenants' "p-001" never share state.

    Late or stale readings (flags in `SKIP_FLAGS`) are stored by the gateway but never reach the
    detectors.
    """

    def __init__(
        self,
        enabled: Iterable[str] | None = None,
        targets_for: Callable[[PatientKey], Targets] | None = None,
        factories: Mapping[str, DetectorFactory] = DETECTORS,
        settings: DetectorSettings = DEFAULT_SETTINGS,
        flags_for: Callable[[PatientKey], frozenset[str]] | None = None,
    ) -> None:
        names = list(factories) if enabled is None else list(enabled)
        unknown = [n for n in names if n not in factories]
        if unknown:
            raise ValueError(f"unknown detector(s): {', '.join(unknown)}")
        self._factories = [factories[n] for n in names]
        self._targets_for = targets_for or (lambda _pid: DEFAULT_TARGETS)
        self._settings = settings
        self._flags_for = flags_for or (lambda _pid: frozenset())
        # Keyed by the plain (tenant, patient id) tuple: it hashes and compares in C, and a
        # reading's patient is looked up twice a reading on the ingest path (prepare, process).
        self._patients: dict[tuple[str, str], _Patient] = {}

    def _patient(self, tenant: str, patient_id: str) -> _Patient:
        p = self._patients.get((tenant, patient_id))
        if p is None:
            key = PatientKey(tenant, patient_id)
            ctx = self._context(key)
            p = _Patient(key, [f(ctx) for f in self._factories])
            self._patients[tenant, patient_id] = p
        return p

    @property
    def settings(self) -> DetectorSettings:
        return self._settings

    def export_state(
        self, patients: Iterable[PatientKey] | None = None
    ) -> dict[PatientKey, list[Detector]]:
        """Each patient's detector instances (all, or those of `patients`), for a snapshot.
        Detectors are plain objects over numbers and arrays, so they pickle."""
        if patients is None:
            return {p.key: p.detectors for p in self._patients.values()}
        chosen = (self._patients.get((k.tenant, k.patient_id)) for k in patients)
        return {p.key: p.detectors for p in chosen if p is not None}

    def import_state(self, state: Mapping[PatientKey, list[Detector]]) -> None:
        """Take over detector instances from a snapshot; current targets apply from now on."""
        for key, detectors in state.items():
            self._patients[key.tenant, key.patient_id] = _Patient(key, list(detectors))
            self.retarget(key)

    def _context(self, key: PatientKey) -> PatientContext:
        return PatientContext(
            key.patient_id, self._targets_for(key), self._settings, self._flags_for(key)
        )

    def patients(self) -> list[PatientKey]:
        """The patients that have detector state."""
        return [p.key for p in self._patients.values()]

    def reset_patient(self, key: PatientKey) -> None:
        """Forget a patient's detector state (e.g. after the care team changed targets)."""
        self._patients.pop((key.tenant, key.patient_id), None)

    def retarget(self, key: PatientKey) -> None:
        """Apply new targets or care flags (`targets_for`/`flags_for` now answer differently)
        while keeping episode state.

        Detectors that hold their context as `ctx` get the new one; any other is rebuilt.
        """
        p = self._patients.get((key.tenant, key.patient_id))
        if p is None:
            return
        ctx = self._context(key)
        if all(hasattr(d, "ctx") for d in p.detectors):
            for d in p.detectors:
                d.ctx = ctx  # type: ignore[attr-defined]
        else:
            self.reset_patient(key)

    def lanes(self, readings: Sequence[Reading]) -> tuple[list[Reading], list[Reading]]:
        """(urgent lane, bulk lane) of `readings` (`alerts.urgency.split_lanes`), each in arrival
        order, every reading judged at its patient's targets."""
        return split_lanes(readings, self._urgent)

    def _urgent(self, r: Reading) -> bool:
        """`is_urgent` at the patient's targets, looked up only for kinds that depend on them."""
        if r.patient_id is None or r.kind not in TARGETED_KINDS:
            return is_urgent(r)
        return is_urgent(r, self._targets_for(PatientKey(r.tenant, r.patient_id)))

    def detect(self, readings: Sequence[Reading]) -> Iterator[tuple[Reading, list[AlertCandidate]]]:
        """Each reading of `readings` with its candidates, in order: the whole of `readings` is
        prepared at once (`prepare`), then each reading goes through `process` as it is taken (a
        caller may take them a slice at a time; the engine serves nothing else meanwhile)."""
        self.prepare(readings)
        return ((r, self.process(r)) for r in readings)

    def prepare(self, readings: Sequence[Reading]) -> None:
        """Before `readings` go through `process` in this order: each block-preparing detector
        class computes what its instances' updates will need, for the whole batch at once."""
        work: dict[type[Prepares], dict[int, tuple[Detector, list[Reading]]]] = {}
        for r in readings:
            if r.patient_id is None or r.flags & SKIP_FLAGS:
                continue
            p = self._patient(r.tenant, r.patient_id)  # as `process` would
            for cls, det in p.prepares.get(r.kind, ()):
                mine = work.setdefault(cls, {}).setdefault(id(det), (det, []))
                mine[1].append(r)
        for cls, items in work.items():
            cls.prepare(list(items.values()))

    def process(self, reading: Reading) -> list[AlertCandidate]:
        if reading.patient_id is None or reading.flags & SKIP_FLAGS:
            return []
        p = self._patient(reading.tenant, reading.patient_id)
        produced = [(d, c) for d in p.routes.get(reading.kind, ()) for c in d.update(reading)]
        return p.fan_out(produced)

    def tick(
        self, now: datetime, patients: Iterable[PatientKey] | None = None
    ) -> list[AlertCandidate]:
        """Every detector's timeouts at `now` (of the given patients only, when a caller takes
        them a slice at a time)."""
        out: list[AlertCandidate] = []
        chosen = (
            self._patients.values()
            if patients is None
            else [
                p
                for key in patients
                if (p := self._patients.get((key.tenant, key.patient_id))) is not None
            ]
        )
        for p in chosen:
            out.extend(p.fan_out([(d, c) for d in p.detectors for c in d.tick(now)]))
        return out
