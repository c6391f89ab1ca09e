"""Streaming ECG analysis: QRS detection, signal quality and rhythm labels. Pure, no I/O."""

from alerts.ecg.analyzer import EcgAnalyzer, EcgUpdate
from alerts.ecg.config import EcgConfig
from alerts.ecg.episodes import Episode, Label
from alerts.ecg.qrs import QrsDetector
from alerts.ecg.quality import Defect, QualityMonitor
from alerts.ecg.rhythm import RhythmAnalyzer, analyze_beats

__all__ = [
    "Defect",
    "EcgAnalyzer",
    "EcgConfig",
    "EcgUpdate",
    "Episode",
    "Label",
    "QrsDetector",
    "QualityMonitor",
    "RhythmAnalyzer",
    "analyze_beats",
]
