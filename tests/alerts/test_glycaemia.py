"""The consensus glycaemic figures: range edges, GMI, CV, sensor activity and the AGP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from alerts.glycaemia import RANGES, agp_bins, gmi_mmol_mol, gmi_percent, range_index, summarise

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_range_edges_follow_the_consensus() -> None:
    values = np.array([2.9, 3.0, 3.89, 3.9, 10.0, 10.01, 13.9, 13.91])
    assert [RANGES[i] for i in range_index(values)] == [
        "very_low", "low", "low", "in_range", "in_range", "high", "high", "very_high",
    ]  # fmt: skip


def test_gmi_matches_the_published_formula() -> None:
    # Bergenstal 2018: mean 154 mg/dL -> GMI 7.0 %; 8.55 mmol/L -> 52.9 mmol/mol.
    assert gmi_percent(154 / 18.016) == pytest.approx(3.31 + 0.02392 * 154, abs=1e-9)
    assert gmi_percent(154 / 18.016) == pytest.approx(6.99, abs=0.01)
    assert gmi_mmol_mol(8.55) == pytest.approx(52.9, abs=0.05)


def test_summary_of_a_regular_sensor() -> None:
    rng = np.random.default_rng(7)
    n = 14 * 288
    times = [T0 + timedelta(minutes=5 * i) for i in range(n)]
    values = np.clip(rng.normal(8.0, 2.5, n), 2.2, 22.0)
    s = summarise(times, values, start=T0, end=T0 + timedelta(days=14))
    assert s.readings == n
    assert s.sensor_active_percent == pytest.approx(100.0)
    assert sum(r.readings for r in s.ranges) == n
    assert sum(r.percent for r in s.ranges) == pytest.approx(100.0, abs=0.3)
    in_range = ((values >= 3.9) & (values <= 10.0)).mean() * 100
    assert s.ranges[2].percent == pytest.approx(in_range, abs=0.05)
    assert s.mean_mmol == pytest.approx(values.mean(), abs=0.005)
    assert s.cv_percent == pytest.approx(100 * values.std(ddof=1) / values.mean(), abs=0.05)
    assert len(s.agp) == 96
    assert all(b.p05 is not None and b.p05 <= b.p25 <= b.p50 <= b.p75 <= b.p95 for b in s.agp)  # type: ignore[operator]


def test_half_the_period_without_sensor() -> None:
    times = [T0 + timedelta(minutes=5 * i) for i in range(7 * 288)]
    s = summarise(times, [6.0] * len(times), start=T0, end=T0 + timedelta(days=14))
    assert s.sensor_active_percent == pytest.approx(50.0)
    assert s.cv_percent == 0.0


def test_agp_time_of_day_is_local() -> None:
    # Readings at 00:00-00:14 UTC are 08:00-08:14 in Shanghai.
    times = [T0 + timedelta(days=d, minutes=m) for d in range(5) for m in (0, 5, 10)]
    values = np.full(len(times), 5.0)
    bins = agp_bins(times, values, ZoneInfo("Asia/Shanghai"))
    filled = [b for b in bins if b.p50 is not None]
    assert [b.minute for b in filled] == [8 * 60]
    assert filled[0].count == 15


def test_empty_period() -> None:
    s = summarise([], [], start=T0, end=T0 + timedelta(days=14))
    assert s.readings == 0
    assert s.mean_mmol is None
    assert s.gmi_percent is None
    assert all(b.p50 is None for b in s.agp)


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="after its start"):
        summarise([], [], start=T0, end=T0)
