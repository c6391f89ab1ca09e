"""Escalation policies: ordered tiers, acknowledgement deadlines, quiet hours, patient context.

A policy is a versioned document per tenant (TOML, YAML or JSON; see docs/alerts.md). Parsing
turns it into frozen values; `plan_for` applies the patient-context rules and returns the tier
chain one patient's alert actually follows. Pure: the caller reads the file.

Context rules (documented in docs/alerts.md): each matching rule multiplies every deadline by its
`deadline_factor` (so an elder who lives alone *and* has a disability gets both factors), never
below `min_deadline`; a rule with `emergency_contact = true` inserts the emergency-contact tier
after the tier named in `[emergency_contact] after_tier`.
"""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, timezone
from types import MappingProxyType
from typing import Any, Final

from alerts.model import Priority

POLICY_SCHEMA: Final = "hm.escalation-policy/1"
CONTEXT_FLAGS: Final = frozenset({"lives_alone", "disability"})

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


class PolicyError(ValueError):
    """A policy document that cannot be used; `path` says where (e.g. `tiers[1].deadlines`)."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


def parse_duration(value: object, where: str = "duration") -> timedelta:
    """`90`, `"90s"`, `"10m"`, `"2h"`, `"1d"`: seconds when no unit is given."""
    if isinstance(value, bool):
        raise PolicyError(where, "expected a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    else:
        raise PolicyError(where, f"expected a duration like '10m', got {value!r}")
    if seconds < 0:
        raise PolicyError(where, "duration must not be negative")
    return timedelta(seconds=seconds)


def _deadlines(raw: object, where: str) -> Mapping[Priority, timedelta]:
    if not isinstance(raw, Mapping):
        raise PolicyError(where, "expected a table of priority = duration")
    out: dict[Priority, timedelta] = {}
    for key, value in raw.items():
        try:
            prio = Priority(key)
        except ValueError:
            raise PolicyError(where, f"unknown priority {key!r}") from None
        d = parse_duration(value, f"{where}.{key}")
        if d <= timedelta(0):
            raise PolicyError(f"{where}.{key}", "deadline must be positive")
        out[prio] = d
    return MappingProxyType(out)


def _str_tuple(raw: object, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise PolicyError(where, "expected a list of non-empty strings")
    return tuple(raw)


@dataclass(frozen=True, slots=True)
class Tier:
    """One step of the chain: who is notified, and how long they have to acknowledge.

    A priority missing from `deadlines` does not escalate past this tier. `targets` are roster
    references (see `alerts.roster`), `channels` the preferred personal channels in order.
    """

    name: str
    targets: tuple[str, ...]
    deadlines: Mapping[Priority, timedelta]
    channels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise PolicyError("tiers", "a tier needs a name")

    def deadline(self, priority: Priority) -> timedelta | None:
        return self.deadlines.get(priority)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A nightly window (local time at `utc_offset`) during which `defer` priorities wait.

    High priority can never be deferred: the constructor rejects it.
    """

    start: time
    end: time
    utc_offset: timedelta = timedelta(0)
    defer: frozenset[Priority] = frozenset({Priority.LOW, Priority.MEDIUM})

    def __post_init__(self) -> None:
        if Priority.HIGH in self.defer:
            raise PolicyError("quiet_hours.defer", "quiet hours never delay high-priority alerts")

    def _local(self, at: datetime) -> datetime:
        return at.astimezone(timezone(self.utc_offset))

    def contains(self, at: datetime) -> bool:
        t = self._local(at).time()
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def end_after(self, at: datetime) -> datetime:
        """The end of the quiet window that contains `at` (`at` itself when outside it)."""
        if not self.contains(at):
            return at
        local = self._local(at)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)

    def defer_until(self, at: datetime, priority: Priority) -> datetime:
        return self.end_after(at) if priority in self.defer else at


@dataclass(frozen=True, slots=True)
class EmergencyTimes:
    """The closed loop of an emergency call (`[emergency_calls]`): someone must answer within
    `answer` (else the next tier and the elder's emergency contacts hear at once, and each tier
    has `answer` again); help must be there by the dispatch's expected arrival, or `arrival`
    after the answer when no time was given (else the dispatcher and the next tier hear, and
    again every `arrival_repeat` until someone confirms arrival). Defaults: the TEC Quality
    answer target (60 s) and the Lifeline home unit's 30 min for a responder to press arrival."""

    answer: timedelta = timedelta(seconds=60)
    arrival: timedelta = timedelta(minutes=30)
    arrival_repeat: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        if min(self.answer, self.arrival, self.arrival_repeat) <= timedelta(0):
            raise PolicyError("emergency_calls", "deadlines must be positive")


@dataclass(frozen=True, slots=True)
class ContextRule:
    """Patient context that changes escalation (flags from the patient record)."""

    when: str
    deadline_factor: float = 1.0
    emergency_contact: bool = False

    def __post_init__(self) -> None:
        if self.when not in CONTEXT_FLAGS:
            raise PolicyError("context.when", f"unknown flag {self.when!r}")
        if not 0 < self.deadline_factor <= 1:
            raise PolicyError("context.deadline_factor", "must be in (0, 1]")


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    tenant: str
    version: str
    tiers: tuple[Tier, ...]
    repeat_interval: timedelta | None = None
    max_repeats: int = 0
    ack_silence: Mapping[Priority, timedelta] = field(default_factory=dict)
    quiet_hours: QuietHours | None = None
    emergency_contact: Tier | None = None
    emergency_after: str | None = None
    context: tuple[ContextRule, ...] = ()
    min_deadline: timedelta = timedelta(minutes=1)
    emergency_calls: EmergencyTimes = field(default_factory=EmergencyTimes)
    min_confidence: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for code, level in self.min_confidence.items():
            if not 0.0 <= level <= 1.0:
                raise PolicyError(f"min_confidence.{code}", "must be in [0, 1]")
        if not self.tiers:
            raise PolicyError("tiers", "a policy needs at least one tier")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise PolicyError("tiers", "tier names must be unique")
        if self.emergency_after is not None and self.emergency_after not in names:
            raise PolicyError("emergency_contact.after_tier", f"no tier {self.emergency_after!r}")

    def confident(self, code: str, evidence: Mapping[str, Any]) -> bool:
        """Whether an alert is sure enough to notify anyone: its code has no `min_confidence`, its
        evidence states no `confidence`, or the stated confidence reaches the required one. An
        alert held back stays on the desk and notifies when an update brings the confidence up."""
        required = self.min_confidence.get(code)
        stated = evidence.get("confidence")
        if required is None or isinstance(stated, bool) or not isinstance(stated, int | float):
            return True
        return float(stated) >= required

    def plan_for(self, flags: frozenset[str] | set[str]) -> EscalationPlan:
        """The tier chain for a patient with these context flags (e.g. {'lives_alone'})."""
        rules = [r for r in self.context if r.when in flags]
        factor = 1.0
        for r in rules:
            factor *= r.deadline_factor
        tiers = list(self.tiers)
        if self.emergency_contact is not None and any(r.emergency_contact for r in rules):
            after = names_index(tiers, self.emergency_after) if self.emergency_after else 0
            tiers.insert(after + 1, self.emergency_contact)
        if factor < 1.0:
            tiers = [self._scaled(t, factor) for t in tiers]
        return EscalationPlan(self, tuple(tiers), frozenset(r.when for r in rules), factor)

    def _scaled(self, tier: Tier, factor: float) -> Tier:
        return replace(
            tier,
            deadlines=MappingProxyType(
                {p: max(d * factor, self.min_deadline) for p, d in tier.deadlines.items()}
            ),
        )


def names_index(tiers: list[Tier], name: str) -> int:
    return [t.name for t in tiers].index(name)


@dataclass(frozen=True, slots=True)
class EscalationPlan:
    """A policy applied to one patient's context: the chain their alerts follow."""

    policy: EscalationPolicy
    tiers: tuple[Tier, ...]
    flags: frozenset[str]
    factor: float

    def tier(self, index: int) -> Tier:
        return self.tiers[min(index, len(self.tiers) - 1)]

    def deadline(self, index: int, priority: Priority) -> timedelta | None:
        if index >= len(self.tiers):
            return None
        return self.tiers[index].deadline(priority)

    def next_tier(self, index: int, priority: Priority) -> int | None:
        """The tier an unacknowledged alert moves to when tier `index`'s deadline passes."""
        if self.deadline(index, priority) is None or index + 1 >= len(self.tiers):
            return None
        return index + 1


def _time(value: object, where: str) -> time:
    if not isinstance(value, str):
        raise PolicyError(where, "expected 'HH:MM'")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise PolicyError(where, f"expected 'HH:MM', got {value!r}") from None


def _offset(value: object) -> timedelta:
    if value is None:
        return timedelta(0)
    if isinstance(value, str) and (m := re.fullmatch(r"([+-])(\d\d):(\d\d)", value)):
        sign = -1 if m.group(1) == "-" else 1
        return sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    raise PolicyError("quiet_hours.utc_offset", f"expected '+08:00', got {value!r}")


def _tier(raw: object, where: str) -> Tier:
    if not isinstance(raw, Mapping):
        raise PolicyError(where, "expected a table")
    return Tier(
        name=str(raw.get("name", "")),
        targets=_str_tuple(raw.get("targets"), f"{where}.targets"),
        deadlines=_deadlines(raw.get("deadlines", {}), f"{where}.deadlines"),
        channels=_str_tuple(raw.get("channels"), f"{where}.channels"),
    )


def parse_policy(doc: Mapping[str, Any]) -> EscalationPolicy:
    """Validate a policy document (already parsed from TOML/YAML/JSON)."""
    schema = doc.get("schema", POLICY_SCHEMA)
    if schema != POLICY_SCHEMA:
        raise PolicyError("schema", f"expected {POLICY_SCHEMA!r}, got {schema!r}")
    for key in ("tenant", "version"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise PolicyError(key, "required string")
    raw_tiers = doc.get("tiers")
    if not isinstance(raw_tiers, list):
        raise PolicyError("tiers", "expected an array of tables")
    quiet = None
    if (q := doc.get("quiet_hours")) is not None:
        if not isinstance(q, Mapping):
            raise PolicyError("quiet_hours", "expected a table")
        defer = frozenset(Priority(p) for p in _str_tuple(q.get("defer", ["low", "medium"]), "d"))
        quiet = QuietHours(
            _time(q.get("start"), "quiet_hours.start"),
            _time(q.get("end"), "quiet_hours.end"),
            _offset(q.get("utc_offset")),
            defer,
        )
    emergency, after = None, None
    if (e := doc.get("emergency_contact")) is not None:
        if not isinstance(e, Mapping):
            raise PolicyError("emergency_contact", "expected a table")
        emergency = _tier(
            {"name": "emergency_contact", "targets": ["patient:emergency_contact"], **e},
            "emergency_contact",
        )
        after = str(e["after_tier"]) if "after_tier" in e else None
    rules = []
    for i, r in enumerate(doc.get("context", [])):
        if not isinstance(r, Mapping):
            raise PolicyError(f"context[{i}]", "expected a table")
        rules.append(
            ContextRule(
                str(r.get("when")),
                float(r.get("deadline_factor", 1.0)),
                bool(r.get("emergency_contact", False)),
            )
        )
    calls = doc.get("emergency_calls", {})
    if not isinstance(calls, Mapping):
        raise PolicyError("emergency_calls", "expected a table")
    defaults = EmergencyTimes()
    times = EmergencyTimes(
        *(
            parse_duration(calls[k], f"emergency_calls.{k}") if k in calls else getattr(defaults, k)
            for k in ("answer", "arrival", "arrival_repeat")
        )
    )
    repeat = doc.get("repeat_interval")
    confidence = doc.get("min_confidence", {})
    if not isinstance(confidence, Mapping) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in confidence.values()
    ):
        raise PolicyError("min_confidence", "expected a table of alert code = number in [0, 1]")
    return EscalationPolicy(
        tenant=doc["tenant"],
        version=doc["version"],
        tiers=tuple(_tier(t, f"tiers[{i}]") for i, t in enumerate(raw_tiers)),
        repeat_interval=parse_duration(repeat, "repeat_interval") if repeat else None,
        max_repeats=int(doc.get("max_repeats", 3 if repeat else 0)),
        ack_silence=_deadlines(doc.get("ack_silence", {}), "ack_silence"),
        quiet_hours=quiet,
        emergency_contact=emergency,
        emergency_after=after,
        context=tuple(rules),
        min_deadline=parse_duration(doc.get("min_deadline", 60), "min_deadline"),
        emergency_calls=times,
        min_confidence=MappingProxyType({str(k): float(v) for k, v in confidence.items()}),
    )


def parse_policy_text(text: str, fmt: str) -> EscalationPolicy:
    """`fmt` is `toml`, `yaml`/`yml` or `json`."""
    if fmt == "toml":
        doc: Any = tomllib.loads(text)
    elif fmt in ("yaml", "yml"):
        yaml = importlib.import_module("yaml")  # optional dependency, untyped
        doc = yaml.safe_load(text)
    elif fmt == "json":
        doc = json.loads(text)
    else:
        raise PolicyError("file", f"unknown policy format {fmt!r}")
    if not isinstance(doc, Mapping):
        raise PolicyError("file", "the policy must be a table/object")
    return parse_policy(doc)
