"""Glucose physiology (meals, insulin, exercise) and the CGM / fingerstick measurement.

The plasma glucose model is linear and written in closed form as a sum of impulse responses, so any
time can be evaluated without integrating from the start:
- a meal of g grams raises glucose by `carb_effect * g * (A(t; tau_meal) - A(t; tau_clear))`, where
  A(t; tau) = 1 - (1 + t/tau) exp(-t/tau) is the cumulative two-compartment (gamma-2) absorption
  of the Hovorka model (Hovorka R et al. Nonlinear model predictive control of glucose
  concentration in subjects with type 1 diabetes. Physiol Meas 2004;25:905-920), and the second
  term is the slower disposal by endogenous insulin (weaker and slower in diabetes);
- a subcutaneous insulin bolus of U units lowers it by `carb_effect * carb_ratio * U *
  (A(t; tau_ins) - A(t; tau_counter))` (gamma-2 insulin absorption, t_max ~55 min in Hovorka
  2004; counter-regulation slowly restores the level);
- exercise acts like extra insulin proportional to intensity and minutes.
The CGM measures interstitial glucose: a first-order lag of ~8 min behind plasma (Rebrin K et al.
Am J Physiol 1999;277:E561-E571), a calibration gain error and noise, compression lows while
lying on the sensor, and warm-up gaps after a sensor change. Fingersticks carry the ISO 15197
error (95 % within +-15 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
CGM_MIN, CGM_MAX = 2.2, 22.2  # mmol/L reportable range (40-400 mg/dL)


def absorbed(t: F64, tau: float) -> F64:
    """Cumulative gamma-2 absorption, 0 before t=0."""
    x = np.clip(t, 0.0, None) / tau
    return 1.0 - (1.0 + x) * np.exp(-x)


@dataclass(frozen=True, slots=True)
class GlucoseProfile:
    basal: float = 5.5  # mmol/L fasting
    carb_effect: float = 0.09  # mmol/L per gram of carbohydrate
    tau_meal: float = 40.0  # min
    tau_clear: float = 120.0  # min: endogenous disposal (no insulin users)
    insulin: bool = False
    carb_ratio: float = 10.0  # g per unit bolus
    bolus_error: float = 0.2  # relative SD of bolus dosing vs carbs
    tau_ins: float = 55.0
    tau_counter: float = 300.0
    meals: tuple[tuple[float, float], ...] = ((7.5, 50.0), (12.0, 60.0), (18.5, 60.0))
    wobble: float = 0.4  # mmol/L slow unexplained variation


@dataclass(frozen=True, slots=True)
class GlucoseEvent:
    """Scenario override: glucose ramps to `target` over `ramp` min from `at` (s), holds `hold`
    min, then returns over `recover` min."""

    at: float
    target: float
    ramp: float = 30.0
    hold: float = 30.0
    recover: float = 60.0

    def weight(self, t_min: F64) -> F64:
        a = self.at / 60.0
        up = np.clip((t_min - a) / max(self.ramp, 1e-9), 0.0, 1.0)
        down = np.clip(1.0 - (t_min - a - self.ramp - self.hold) / max(self.recover, 1e-9), 0, 1)
        return np.minimum(up, down)


@dataclass(frozen=True, slots=True)
class Exercise:
    start: float  # s
    minutes: float
    intensity: float = 1.0  # 1 = brisk walk


@dataclass(frozen=True, slots=True)
class GlucoseModel:
    """Plasma glucose over stream time; `day0_hour` is the local clock hour at t = 0."""

    profile: GlucoseProfile
    seed: int
    day0_hour: float = 8.0
    events: tuple[GlucoseEvent, ...] = ()
    exercise: tuple[Exercise, ...] = ()

    def _day_meals(self, day: int) -> list[tuple[float, float, float]]:
        """(minute, grams, bolus units) of that day's meals, drawn from the day's own stream."""
        rng = np.random.Generator(np.random.PCG64([self.seed, 11, day + 1000]))
        out = []
        for hour, grams in self.profile.meals:
            minute = (day * 24 + hour - self.day0_hour) * 60 + rng.normal(0, 20)
            g = max(5.0, grams * rng.lognormal(0, 0.25))
            units = 0.0
            if self.profile.insulin:
                units = g / self.profile.carb_ratio * rng.lognormal(0, self.profile.bolus_error)
            out.append((minute, g, units))
        return out

    def plasma(self, t_s: F64) -> F64:
        """True plasma glucose (mmol/L) at stream times `t_s` (seconds)."""
        p = self.profile
        t = np.asarray(t_s, dtype=np.float64) / 60.0
        phase = self.seed % 997
        g = p.basal + p.wobble * (
            np.sin(2 * math.pi * t / 173.0 + phase) + 0.5 * np.sin(2 * math.pi * t / 61.0 + phase)
        )
        first = math.floor((t.min() / 60.0 + self.day0_hour) / 24.0) - 1
        last = math.floor((t.max() / 60.0 + self.day0_hour) / 24.0) + 1
        for day in range(first, last + 1):
            for minute, grams, units in self._day_meals(day):
                dt = t - minute
                back = p.tau_counter if p.insulin else p.tau_clear
                g += p.carb_effect * grams * (absorbed(dt, p.tau_meal) - absorbed(dt, back))
                if units:
                    shape = absorbed(dt, p.tau_ins) - absorbed(dt, p.tau_counter)
                    g -= p.carb_effect * p.carb_ratio * units * shape
        for ex in self.exercise:
            dt = t - ex.start / 60.0
            dose = ex.intensity * ex.minutes / 30.0
            g -= 1.5 * dose * (absorbed(dt, 25.0) - absorbed(dt, 150.0))
        g = np.clip(g, 1.5, 30.0)
        for ev in self.events:
            w = ev.weight(t)
            g = (1.0 - w) * g + w * ev.target
        return g


@dataclass(frozen=True, slots=True)
class CgmSensor:
    """CGM measurement of a `GlucoseModel`; compression lows and warm-ups are (start s, end s)."""

    lag_min: float = 8.0
    noise_sd: float = 0.15  # mmol/L
    gain_sd: float = 0.04
    compressions: tuple[tuple[float, float], ...] = ()
    warmups: tuple[tuple[float, float], ...] = ()

    def read(self, model: GlucoseModel, t_s: F64, rng: np.random.Generator) -> F64:
        """Readings at times `t_s` (NaN where the sensor reports nothing)."""
        t_s = np.asarray(t_s, dtype=np.float64)
        grid = np.arange(t_s.min() - 3600.0, t_s.max() + 60.0, 60.0)
        plasma = model.plasma(grid)
        alpha = 1.0 - math.exp(-1.0 / self.lag_min)
        isf = np.empty_like(plasma)
        acc = plasma[0]
        for i, v in enumerate(plasma):  # one step per simulated minute, not per ECG sample
            acc += alpha * (v - acc)
            isf[i] = acc
        inter = np.interp(t_s, grid, isf)
        gain_rng = np.random.Generator(np.random.PCG64([model.seed, 12]))
        gain = 1.0 + self.gain_sd * float(gain_rng.standard_normal())
        out = inter * gain + self.noise_sd * rng.standard_normal(t_s.size)
        for c0, c1 in self.compressions:
            w = np.clip(np.minimum(t_s - c0, c1 - t_s) / 600.0, 0.0, 1.0)
            out -= 2.5 * w
        out = np.clip(out, CGM_MIN, CGM_MAX)
        for w0, w1 in self.warmups:
            out[(t_s >= w0) & (t_s < w1)] = np.nan
        return out


def fingerstick(true_mmol: float, rng: np.random.Generator) -> float:
    """ISO 15197:2013-grade meter: SD 5 % so that ~95 % fall within +-15 % (below 5.55 mmol/L
    within +-0.83 mmol/L)."""
    return float(max(1.1, true_mmol * (1.0 + 0.05 * rng.standard_normal())))
