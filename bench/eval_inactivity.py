"""`make eval-inactivity`: the silent-home wellness check on the simulator's living-alone cohort.

Each elder of `simulator.living_alone` lives `--warmup` days (the detector's learning period) and
then `--days` days of ordinary life, fed to `alerts.detectors.inactivity.InactivityDetector` on the
readings' own clock with a tick every 5 minutes, as the gateway runs it. Printed:

- false wellness checks per elder-month: alerts raised during the ordinary days (those during a
  night away with family are counted, and also shown apart: the elder really was not at home);
- time to detect a silent home: the same elders' lives replayed again, all sends stopping at a
  random waking moment of the day after the ordinary days; the time from that moment to the
  alert (median, 90th percentile, maximum, share found within 12 h and 24 h).

The detector's constants were fixed before this evaluation; the reported cohort (seed 101) is
not the one looked at during development (seed 1).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import UTC, datetime, timedelta

import numpy as np

from alerts.detectors.base import PatientContext
from alerts.detectors.inactivity import CODE, InactivityDetector
from alerts.model import Action
from devices.model import Reading
from simulator.living_alone import LOCAL, Elder, away_window, cohort, sends

START = datetime(2026, 1, 5, tzinfo=UTC)
TICK = timedelta(minutes=5)


def run(readings: list[Reading], pid: str, until: datetime) -> list[datetime]:
    """Times of the wellness checks raised for one elder, ticking every 5 min up to `until`
    (a check still open when the readings end is its raise time: nothing clears it)."""
    det = InactivityDetector(PatientContext(pid, flags=frozenset({"lives_alone"})))
    raised: list[datetime] = []
    t = readings[0].ts if readings else START
    i = 0
    while t <= until:
        while i < len(readings) and readings[i].ts <= t:
            det.update(readings[i])
            i += 1
        raised += [c.at for c in det.tick(t) if c.code == CODE and c.action is Action.RAISE]
        t += TICK
    return raised


def onset(e: Elder, day: datetime, rng: np.random.Generator) -> datetime:
    """A random waking moment (an hour after waking to an hour before bed) of local day `day`."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) - LOCAL
    return midnight + timedelta(hours=float(rng.uniform(e.wake_h + 1, e.bed_h - 1)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eval-inactivity", description=__doc__)
    p.add_argument("--elders", type=int, default=40)
    p.add_argument("--seed", type=int, default=101)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--warmup", type=int, default=7)
    a = p.parse_args(argv)
    elders = cohort(a.elders, a.seed)
    total = a.warmup + a.days
    measured_from = START + timedelta(days=a.warmup) - LOCAL
    end = START + timedelta(days=total) - LOCAL
    false_checks = away_checks = 0
    delays: list[float] = []
    missed = open_at_onset = 0
    rng = np.random.default_rng(a.seed)
    for e in elders:
        ordinary = list(sends(e, START, total, a.seed))
        checks = [t for t in run(ordinary, e.patient_id, end) if t >= measured_from]
        away = away_window(e, START, total + 2, a.seed)
        in_away = [t for t in checks if away is not None and away[0] <= t <= away[1] + TICK]
        false_checks += len(checks)
        away_checks += len(in_away)
        silent_at = onset(e, START + timedelta(days=total), rng)
        silent = list(sends(e, START, total + 2, a.seed, silent_from=silent_at))
        raised = run(silent, e.patient_id, silent_at + timedelta(hours=48))
        found = [t for t in raised if t >= silent_at]
        if raised and raised[-1] < silent_at and silent and raised[-1] > silent[-1].ts:
            open_at_onset += 1  # a check raised in the last quiet stretch was still open
        elif found:
            delays.append((found[0] - silent_at).total_seconds() / 3600)
        else:
            missed += 1
    months = len(elders) * a.days / 30
    out = sys.stdout
    out.write(
        f"living-alone cohort: {len(elders)} elders (seed {a.seed}), {a.warmup} days of "
        f"learning, then {a.days} ordinary days ({months:.0f} elder-months)\n"
    )
    out.write(
        f"false wellness checks: {false_checks} = {false_checks / months:.2f} per "
        f"elder-month ({away_checks} of them during a night away with family, "
        f"{(false_checks - away_checks) / months:.2f} per elder-month otherwise)\n"
    )
    if delays:
        q = statistics.quantiles(delays, n=10)[-1] if len(delays) > 1 else delays[0]
        out.write(
            f"time to detect a silent home ({len(delays)} found, {open_at_onset} with a check "
            f"already open at the onset, {missed} not within 48 h): "
            f"median {statistics.median(delays):.1f} h, p90 {q:.1f} h, max {max(delays):.1f} h; "
            f"within 12 h {sum(d <= 12 for d in delays) / len(elders):.0%}, "
            f"within 24 h {sum(d <= 24 for d in delays) / len(elders):.0%}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
