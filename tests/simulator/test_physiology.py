"""Physiology generators: block independence, rhythm properties, CGM sensor behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.artefacts import Artefact, NoiseEpisode
from simulator.ecgstream import EcgStream
from simulator.glucose import CgmSensor, GlucoseEvent, GlucoseModel, GlucoseProfile
from simulator.rhythm import BeatTrain, Pause, Rhythm, RhythmPlan, Segment


@pytest.mark.parametrize("fs", [125.0, 250.0, 360.0, 1000.0])
def test_ecg_same_samples_whatever_the_chunking(fs: float) -> None:
    plan = RhythmPlan(70, segments=(Segment(10, 30, Rhythm.AF, 110),), pauses=(Pause(35, 3.5),))
    noise = (NoiseEpisode(5, 8, Artefact.EMG, 0.3),)
    a = EcgStream(fs, plan, 9, noise)
    b = EcgStream(fs, plan, 9, noise)
    whole = a.samples(0, int(40 * fs))
    parts = np.concatenate([b.chunk(k) for k in range(40)])
    assert np.array_equal(whole, parts)
    assert not np.array_equal(whole, EcgStream(fs, plan, 10, noise).samples(0, int(40 * fs)))


def test_af_is_irregular_and_sinus_is_not() -> None:
    plan = RhythmPlan(70, segments=(Segment(300, 600, Rhythm.AF, 100),))
    train = BeatTrain.start(plan, np.random.default_rng(1))
    train.extend(600, np.random.default_rng(2))
    t = np.asarray(train.times)
    rr = np.diff(t)
    sinus, af = rr[t[1:] < 290], rr[t[1:] > 310]
    assert np.std(sinus) / np.mean(sinus) < 0.06
    assert np.std(af) / np.mean(af) > 0.12
    assert 95 < 60 / np.mean(af) < 115


def test_pause_and_asystole_leave_no_beats() -> None:
    plan = RhythmPlan(60, segments=(Segment(50, 58, Rhythm.ASYSTOLE),), pauses=(Pause(20, 3.5),))
    train = BeatTrain.start(plan, np.random.default_rng(1))
    train.extend(80, np.random.default_rng(2))
    t = np.asarray(train.times)
    assert not ((t > 50) & (t < 58)).any()
    assert np.isclose(np.diff(t).max(), (t[t > 58][0] - t[t < 50][-1]))
    assert np.any(np.isclose(np.diff(t), 3.5))


def test_lead_off_is_flat() -> None:
    s = EcgStream(250.0, RhythmPlan(70), 1, (NoiseEpisode(4, 6, Artefact.LEAD_OFF),))
    x = s.samples(0, 2500)
    assert np.ptp(x[1000:1500]) == 0
    assert np.ptp(x[:1000]) > 100


def test_cgm_lags_and_has_warmup_gaps() -> None:
    ev = GlucoseEvent(3600, 2.5, ramp=30, hold=60, recover=30)
    model = GlucoseModel(GlucoseProfile(basal=7.0, wobble=0.0, meals=()), 1, events=(ev,))
    t = np.arange(0, 4 * 3600, 300.0)
    plasma = model.plasma(t)
    cgm = CgmSensor(noise_sd=0.0, gain_sd=0.0, warmups=((9000, 10800),)).read(
        model, t, np.random.default_rng(1)
    )
    falling = (t > 3600) & (t < 5400)
    assert np.all(cgm[falling] > plasma[falling])  # interstitial lags a falling plasma level
    assert np.isnan(cgm[(t >= 9000) & (t < 10800)]).all()
    assert np.nanmin(cgm) < 3.0
