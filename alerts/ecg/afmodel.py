"""AF decision for a window of beats when the ECG signal is known: a small logistic model.

RR irregularity alone mistakes other irregular rhythms (sinus arrhythmia, frequent or
multifocal ectopy, noise detected as beats) for AF. With the signal we also know whether each
beat is preceded by the same P wave (P-wave absence is the second ECG criterion of AF: 2020
ESC guideline, Hindricks et al., Eur Heart J 2021;42:373), so the window decision combines
RR-irregularity and P-wave features in a logistic model, as in Ladavich & Ghoraani
(Biomed Signal Process Control 2015;18:274-281: P-wave template features with RR features)
and many CinC 2017 entries (Clifford et al., Comput Cardiol 2017;44).

The features are window means kept as running integer sums (each normal RR interval adds its
`contributions`; the window adds them as it slides), so a beat costs O(1) and the sums are
exact: no drift over a long stream, and the same value whichever way the stream was chunked.

Features of a window of `n` normal intervals (`FEATURES`, in this order):
- `high`: share of normalised successive RR differences above `af_threshold` (the statistic
  whose median Petrenas et al., Comput Biol Med 2015;65:184, compare with the threshold);
- `mean_d`, `rms_d`: mean and root mean square of the normalised successive differences,
  each capped at 1 (a missed or extra beat should not dominate a window);
- `mean_d2`: mean normalised difference from the interval two before (capped at 1): small in
  bigeminy-like alternation that the ectopic filter missed, large in AF;
- `turns`: share of turning points of the RR series (about 2/3 for a random series, lower for
  the slow swings of sinus arrhythmia; Dash et al., Ann Biomed Eng 2009;37:1701);
- `lorenz`: occupied cells of the Lorenz plot of successive differences per interval (AF
  scatters the points, sinus rhythm and regular ectopy cluster them; Sarkar, Ritscher & Mehra,
  IEEE Trans Biomed Eng 2008;55:1219);
- `ectopic`: share of intervals dropped as premature/compensatory pairs or as unusable;
- `qrs_corr`: mean QRS template correlation (noise detected as beats is irregular but unlike);
- `p_share`: share of intervals with a P window (none after an RR shorter than 0.4 s);
- `p_corr`: mean P-wave template correlation (`alerts.ecg.beats.BeatQuality`): high when every
  QRS has the same P wave before it, low with fibrillatory waves;
- `hr`: mean rate (/min).
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

SCALE = 1 << 16  # fixed-point scale of the running sums
N_SUMS = 9
_MISSING = math.nan
CLIP = 3.0  # standardised features are clipped to +-CLIP
# Lorenz plot of successive differences (Sarkar et al. 2008): cells of LORENZ_BIN (relative
# to the reference RR), +-LORENZ_HALF cells per axis (larger differences share the edge cells).
LORENZ_BIN = 0.05
LORENZ_HALF = 10
LORENZ_STRIDE = 2 * LORENZ_HALF + 1
CORR_N = 5  # index of the sum counting intervals with a known QRS correlation

FEATURES = (
    "high",
    "mean_d",
    "rms_d",
    "mean_d2",
    "turns",
    "lorenz",
    "ectopic",
    "qrs_corr",
    "p_share",
    "p_corr",
    "hr",
)

# Model: AF when B0 + sum(W[k] * clip((f[k] - MU[k]) / SD[k])) > 0. The constants ship in
# `af_model.json` beside this module (package data; no download at run time), written by
# `make train-af` (`bench/train_af.py`: L2 logistic regression on the windows of the CinC 2017
# training records, every record weighted equally, threshold shift chosen by record-level
# cross-validation), with the training data's hash and the cross-validated figures in it.
MODEL_FILE = "af_model.json"
MODEL_VERSION = 2


def parse_model(text: str) -> dict[str, Any]:
    """The model file's content, checked against this code's version and features."""
    raw: dict[str, Any] = json.loads(text)
    if raw.get("version") != MODEL_VERSION or tuple(raw.get("features", ())) != FEATURES:
        raise ValueError(f"{MODEL_FILE}: expected version {MODEL_VERSION} over {FEATURES}")
    return raw


def _load_model() -> dict[str, Any]:
    return parse_model(resources.files("alerts.ecg").joinpath(MODEL_FILE).read_text())


MODEL = _load_model()
MU: tuple[float, ...] = tuple(MODEL["mu"])
SD: tuple[float, ...] = tuple(MODEL["sd"])
W: tuple[float, ...] = tuple(MODEL["w"])
B0: float = float(MODEL["b0"])
# The same model in raw units: weight per unit of feature, and the clipping bounds.
_SLOPE = tuple(w / sd for w, sd in zip(W, SD, strict=True))
_LO = tuple(mu - CLIP * sd for mu, sd in zip(MU, SD, strict=True))
_HI = tuple(mu + CLIP * sd for mu, sd in zip(MU, SD, strict=True))
_TERMS = tuple(zip(MU, _SLOPE, _LO, _HI, strict=True))


def contributions(
    d: float, d2: float, turn: bool, rr: int, corr: float | None, p_corr: float | None
) -> tuple[int, ...]:
    """One normal interval's share of the window sums (fixed point, see `SCALE`): `d` and `d2`
    are its normalised differences from the previous normal interval and the one before."""
    dc = d if d < 1.0 else 1.0
    d2c = d2 if d2 < 1.0 else 1.0
    c = (int(corr * SCALE), 1) if corr is not None else (0, 0)
    p = (int(p_corr * SCALE), 1) if p_corr is not None else (0, 0)
    return (int(dc * SCALE), int(dc * dc * SCALE), int(d2c * SCALE), int(turn), *c, *p, rr)


def lorenz_bin(x: float) -> int:
    """Lorenz-plot coordinate of a normalised signed successive RR difference."""
    k = round(x / LORENZ_BIN)
    return k if -LORENZ_HALF <= k <= LORENZ_HALF else (LORENZ_HALF if k > 0 else -LORENZ_HALF)


def features(
    sums: list[int], n: int, high: int, dropped: int, cells: int, fs: float
) -> tuple[float, ...]:
    """The `FEATURES` of a window of `n` normal intervals from its running sums and the
    number of occupied Lorenz-plot `cells`."""
    s = float(SCALE)
    sn = s * n
    p_n = sums[7]
    sp = s * p_n
    return (
        high / n,
        sums[0] / sn,
        math.sqrt(sums[1] / sn),
        sums[2] / sn,
        sums[3] / n,
        cells / n,
        dropped / (dropped + n),
        sums[4] / (s * sums[5]) if sums[5] else 1.0,
        p_n / n,
        sums[6] / sp if p_n else _MISSING,
        60.0 * fs * n / sums[8] if sums[8] else 0.0,
    )


def score(f: tuple[float, ...]) -> float:
    """The model's log-odds of AF for a window's features. A missing feature (NaN: no P
    window in the whole window, e.g. at rates above 150 /min) counts as its mean, and every
    standardised feature is clipped to +-`CLIP`, so no single outlying feature decides."""
    z = B0
    for x, (mu, a, lo, hi) in zip(f, _TERMS, strict=True):
        if x == x:  # noqa: PLR0124 (not NaN; cheaper than a call)
            z += a * ((lo if x < lo else hi if x > hi else x) - mu)
    return z


def is_af(f: tuple[float, ...]) -> bool:
    return score(f) > 0.0
