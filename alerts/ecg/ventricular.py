"""Beat classification (normal or supraventricular `N`, ventricular ectopic `V`, unknown `Q`)
against the patient's own running template, and ventricular tachycardia runs.

A premature ventricular beat starts in the ventricle and spreads through muscle instead of the
conduction system: its QRS is wide, differently shaped and often of other polarity and larger
area than the patient's conducted beats, it comes early and is usually followed by a
compensatory pause (Surawicz & Knilans, Chou's Electrocardiography in Clinical Practice, 6th ed.,
ch. 16). Automatic classifiers use the same two families of features: morphology and RR
intervals (de Chazal, O'Dwyer & Reilly, IEEE Trans Biomed Eng 2004;51:1196-1206; Hamilton's
template-based beat classifier in the EP Limited open-source software). Morphology is judged
against a template of this patient's own dominant beat rather than a population model, which is
what makes a small model generalise to people it has never seen.

The stages, one module each: `alerts.ecg.beatmodel` (the per-beat features and the logistic
model), `alerts.ecg.classifier` (the running template, morphology clusters and the classes of
each group of beats) and `alerts.ecg.vt` (runs of ventricular beats). This module names them
together.
"""

from alerts.ecg.beatmodel import FEATURES, UNLIKE, shipped_model
from alerts.ecg.classifier import (
    ALIKE_CORR,
    GROUP,
    MATCH_CORR,
    RESEED_GROUPS,
    BeatClassifier,
    settle,
)
from alerts.ecg.vebmodel import VebModel
from alerts.ecg.vt import VtRuns

_UNLIKE = UNLIKE  # the names `bench/eval_ventricular.py` has always imported

__all__ = [
    "ALIKE_CORR",
    "FEATURES",
    "GROUP",
    "MATCH_CORR",
    "RESEED_GROUPS",
    "BeatClassifier",
    "VebModel",
    "VtRuns",
    "settle",
    "shipped_model",
]
