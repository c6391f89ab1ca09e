"""The hazard clock and the tail of an elder's own quiet stretches."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.detectors.activity_profile import (
    HazardClock,
    after_waking,
    tail_threshold,
    waking_between,
)


def test_the_clock_weighs_active_hours_and_inverts_exactly() -> None:
    counts = np.zeros(24, dtype=np.int64)
    counts[8:20] = 28  # active every day 08:00-20:00, never at night
    clock = HazardClock.from_counts(counts, 28)
    assert clock.length(10.0, 11.0) > 20 * clock.length(2.0, 3.0)
    rng = np.random.default_rng(1)
    for start, amount in zip(rng.uniform(0, 500, 50), rng.uniform(0, 80, 50), strict=True):
        end = clock.until(float(start), float(amount))
        assert clock.length(float(start), end) == pytest.approx(amount, abs=1e-9)
        assert end >= start
    # whole days add a whole day's hazard
    assert clock.length(5.5, 5.5 + 24 * 3) == pytest.approx(3 * clock.day)


def test_a_clock_needs_increasing_values() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        HazardClock(np.zeros(25))


def test_tail_threshold_is_the_quantile_inside_the_data_and_a_fitted_tail_beyond() -> None:
    days = np.arange(1.0, 29.0)  # 28 days, longest stretches 1..28
    assert tail_threshold(days, 0.5) == pytest.approx(np.quantile(days, 0.5))
    limits = [tail_threshold(days, a) for a in (0.2, 0.1, 0.05, 0.01, 0.001)]
    assert limits == sorted(limits)  # rarer means longer
    assert limits[-1] > days.max()  # beyond what the history has seen
    same = np.full(20, 3.0)  # a perfectly regular elder still gets a margin
    assert tail_threshold(same, 0.01) > 3.0 + 0.5
    with pytest.raises(ValueError, match="no days"):
        tail_threshold(np.array([]), 0.1)


def test_waking_hours_skip_the_rest_hours_both_ways() -> None:
    rest = frozenset({22, 23, 0, 1, 2, 3, 4, 5})
    assert waking_between(20.0, 32.0, rest) == pytest.approx(4.0)  # 20-22 and 06-08
    assert after_waking(20.0, 4.0, rest) == pytest.approx(32.0)
    for start, hours in ((7.25, 16.0), (21.5, 40.0), (3.0, 100.0)):
        end = after_waking(start, hours, rest)
        assert waking_between(start, end, rest) == pytest.approx(hours)
    with pytest.raises(ValueError, match="fill the day"):
        after_waking(0.0, 1.0, frozenset(range(24)))
