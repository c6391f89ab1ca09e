"""Streaming ECG analysis: QRS detection, signal quality and rhythm labels. Pure, no I/O."""

from alerts.ecg.config import EcgConfig
from alerts.ecg.qrs import QrsDetector

__all__ = ["EcgConfig", "QrsDetector"]
