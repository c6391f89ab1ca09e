"""Simulated and replayed devices: physiology, scenarios, faults, publishing (imports `devices`)."""

from simulator.cohort import Cohort, SimDevice
from simulator.publisher import Publisher, PublishError, PublisherStats
from simulator.truth import Episode
from simulator.wire import DeviceWire, Message

__all__ = [
    "Cohort",
    "DeviceWire",
    "Episode",
    "Message",
    "PublishError",
    "Publisher",
    "PublisherStats",
    "SimDevice",
]
