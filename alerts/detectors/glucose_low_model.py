"""The predicted-low model: logistic regression on CGM trend and context, and its alarm rule.

The model gives the probability that a CGM reading below the patient's low limit follows within
`LABEL_HORIZON_MIN` (30) minutes, from the features of `glucose_features` (standardised with the
training means and scales shipped beside the weights). Its parameters are the versioned file
`glucose_low_model.json` beside this module, written by `make train-glucose`
(bench/train_glucose.py) from the Weinstock 2016 CGM of 140 older adults with type 1 diabetes,
with the SHA-256 of the training file recorded in it; the alarm threshold in it was chosen by
patient-grouped cross-validation on the same data (held-out figures: `make eval-vitals`).

Alarm rule (`alarm_step`, the same code in the detector and in the evaluation): an alarm opens
when the probability reaches `threshold` on a warmed-up reading at or above the limit; once open it
stays open until the probability has been below `threshold * clear_ratio` on `clear_readings`
consecutive readings (hysteresis, so a probability wavering around the threshold is one alarm, not
several). The caller also ends it when the low is reached (the level alert takes over) and at a CGM
gap (the forecast is no longer current).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.detectors.glucose_features import CONTEXT_NAMES, FEATURE_NAMES

MODEL_FILE = Path(__file__).with_name("glucose_low_model.json")
LABEL_HORIZON_MIN = 30.0
ALL_FEATURES = FEATURE_NAMES + CONTEXT_NAMES


@dataclass(frozen=True, slots=True)
class LowModel:
    """Standardised logistic regression plus the alarm rule's constants."""

    version: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    intercept: float
    weights: tuple[float, ...]
    threshold: float
    clear_ratio: float = 0.5
    clear_readings: int = 2

    def __post_init__(self) -> None:
        n = len(self.features)
        if self.features != ALL_FEATURES:
            raise ValueError(f"model features {self.features} are not {ALL_FEATURES}")
        if not (len(self.mean) == len(self.scale) == len(self.weights) == n):
            raise ValueError("mean, scale and weights need one value per feature")
        if not 0.0 < self.threshold < 1.0 or not 0.0 < self.clear_ratio <= 1.0:
            raise ValueError("threshold must be in (0, 1) and clear_ratio in (0, 1]")
        if self.clear_readings < 1 or min(self.scale) <= 0.0:
            raise ValueError("clear_readings must be >= 1 and scales positive")

    def probability(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Probability of a low within 30 min for each feature row (N, len(features))."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = self.intercept + z @ np.asarray(self.weights)
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logit, -30.0, 30.0))))

    def to_json(self, extra: dict[str, Any]) -> str:
        doc = {
            "version": self.version,
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "intercept": self.intercept,
            "weights": list(self.weights),
            "threshold": self.threshold,
            "clear_ratio": self.clear_ratio,
            "clear_readings": self.clear_readings,
            **extra,
        }
        return json.dumps(doc, indent=1) + "\n"


def model_from_json(text: str) -> LowModel:
    doc = json.loads(text)
    return LowModel(
        version=str(doc["version"]),
        features=tuple(doc["features"]),
        mean=tuple(float(v) for v in doc["mean"]),
        scale=tuple(float(v) for v in doc["scale"]),
        intercept=float(doc["intercept"]),
        weights=tuple(float(v) for v in doc["weights"]),
        threshold=float(doc["threshold"]),
        clear_ratio=float(doc["clear_ratio"]),
        clear_readings=int(doc["clear_readings"]),
    )


@cache
def shipped_model() -> LowModel:
    """The model file shipped in the package (read once per process)."""
    return model_from_json(MODEL_FILE.read_text())


@dataclass(frozen=True, slots=True)
class AlarmState:
    active: bool = False
    below_run: int = 0


def alarm_step(
    state: AlarmState, p: float, eligible: bool, model: LowModel
) -> tuple[AlarmState, str]:
    """One reading of the alarm rule: the new state and "open", "hold", "clear" or ""."""
    if eligible and p >= model.threshold:
        return AlarmState(True, 0), "hold" if state.active else "open"
    if not state.active:
        return state, ""
    run = state.below_run + 1 if (not eligible or p < model.threshold * model.clear_ratio) else 0
    if run >= model.clear_readings:
        return AlarmState(), "clear"
    return AlarmState(True, run), ""
