"""Care teams, members, contact channels, on-call rotations: who a policy tier reaches now.

Policy tiers name their recipients with roster references:

- `team:<team_id>`: every member of a care team;
- `rotation:<rotation_id>`: the member on call at that moment;
- `member:<member_id>`: one person (or a service such as the 120 dispatch desk);
- `patient:care_team`: the patient's signed family-doctor team (patient record `care_team`);
- `patient:emergency_contact`: the patient's emergency contacts, in order.

Pure values; `gateway.storage.rosters` loads them and the API edits them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

CHANNELS: Final = frozenset({"sms", "email", "webhook", "voice", "app"})
LANGS: Final = frozenset({"zh-CN", "en"})


@dataclass(frozen=True, slots=True)
class Contact:
    channel: str
    address: str

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        if not self.address:
            raise ValueError("contact address is empty")


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    tenant: str
    name: str
    role: str = "clinician"
    lang: str = "zh-CN"
    contacts: tuple[Contact, ...] = ()

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ValueError(f"language must be one of {sorted(LANGS)}")


@dataclass(frozen=True, slots=True)
class CareTeam:
    team_id: str
    tenant: str
    name: str
    kind: str = "family_doctor"
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rotation:
    """Members take `shift`-long turns in order, starting at `start` (then round and round)."""

    rotation_id: str
    tenant: str
    team_id: str
    members: tuple[str, ...]
    start: datetime
    shift: timedelta = timedelta(hours=12)

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("a rotation needs members")
        if self.shift <= timedelta(0):
            raise ValueError("shift must be positive")
        if self.start.tzinfo is None:
            raise ValueError("rotation start must be timezone-aware")

    def on_call(self, now: datetime) -> str:
        turns = (now - self.start) // self.shift
        return self.members[turns % len(self.members)]


@dataclass(frozen=True, slots=True)
class Roster:
    members: Mapping[str, Member] = field(default_factory=dict)
    teams: Mapping[str, CareTeam] = field(default_factory=dict)
    rotations: Mapping[str, Rotation] = field(default_factory=dict)
    emergency_contacts: Mapping[str, Sequence[Member]] = field(default_factory=dict)
    patient_teams: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, targets: Sequence[str], patient_id: str, now: datetime) -> list[Member]:
        """The people behind a tier's targets at `now`, each once, unknown references skipped."""
        out: dict[str, Member] = {}
        for target in targets:
            for m in self._resolve_one(target, patient_id, now):
                out.setdefault(m.member_id, m)
        return list(out.values())

    def _resolve_one(self, target: str, patient_id: str, now: datetime) -> list[Member]:
        kind, _, ref = target.partition(":")
        if kind == "team":
            return self._team(ref)
        if kind == "rotation":
            rot = self.rotations.get(ref)
            m = self.members.get(rot.on_call(now)) if rot else None
            return [m] if m else []
        if kind == "member":
            m = self.members.get(ref)
            return [m] if m else []
        if target == "patient:care_team":
            return self._team(self.patient_teams.get(patient_id, ""))
        if target == "patient:emergency_contact":
            return list(self.emergency_contacts.get(patient_id, ()))
        return []

    def _team(self, team_id: str) -> list[Member]:
        team = self.teams.get(team_id)
        if team is None:
            return []
        return [self.members[m] for m in team.members if m in self.members]
