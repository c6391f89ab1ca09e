"""Simulated and replayed devices: physiology, scenarios, faults, publishing (imports `devices`)."""

from simulator.cohort import Cohort, SimDevice
from simulator.publisher import Publisher, PublishError, PublisherStats
from simulator.truth import Episode
from simulator.wire import DeviceWire, Message

__all__ = [
    "FAULTS",
    "PROFILES",
    "Cohort",
    "DeviceWire",
    "Episode",
    "FaultRecord",
    "LoadConfig",
    "LoadSummary",
    "Message",
    "Profile",
    "PublishError",
    "Publisher",
    "PublisherStats",
    "Rendered",
    "Scenario",
    "ScenarioError",
    "SimDevice",
    "cgm_csv_messages",
    "jsonl_messages",
    "library",
    "load_scenario",
    "render",
    "render_jsonl",
    "run_load",
    "wfdb_messages",
    "write_jsonl",
]
