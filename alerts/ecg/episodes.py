"""Episode values and the small open/close bookkeeping shared by the ECG stages."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Label(enum.StrEnum):
    """Episode labels, as printed by `hmg ecg analyze`."""

    AF = "AF"
    PAUSE = "pause"
    ASYSTOLE = "asystole"
    BRADYCARDIA = "bradycardia"
    TACHYCARDIA = "tachycardia"
    NOISE = "noise"
    VT = "VT"


@dataclass(frozen=True, slots=True)
class Episode:
    """One episode in sample indices of the stream; `end` is None while it is still open.

    `mean_hr` (/min) is the mean rate over the episode where it means something; `detail` says
    more (for `noise`: the worst defect seen, e.g. ``flat`` or ``clipped``).
    """

    label: Label
    start: int
    end: int | None = None
    mean_hr: float | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.start < 0 or (self.end is not None and self.end < self.start):
            raise ValueError(f"bad episode bounds {self.start}..{self.end}")

    def duration_s(self, fs: float, now: int | None = None) -> float:
        """Length in seconds; an open episode counts up to `now` (or has zero length)."""
        end = self.end if self.end is not None else (now if now is not None else self.start)
        return (end - self.start) / fs


_NOTHING: tuple[tuple[Episode, ...], tuple[Episode, ...]] = ((), ())


@dataclass(slots=True)
class EpisodeLog:
    """Collects opened and closed episodes between two reports."""

    opened: list[Episode] = field(default_factory=list)
    closed: list[Episode] = field(default_factory=list)
    _open: dict[Label, Episode] = field(default_factory=dict)

    def is_open(self, label: Label) -> bool:
        return label in self._open

    def open(self, label: Label, start: int, detail: str = "") -> None:
        if label not in self._open:
            ep = Episode(label, start, detail=detail)
            self._open[label] = ep
            self.opened.append(ep)

    def close(self, label: Label, end: int, mean_hr: float | None = None, detail: str = "") -> None:
        ep = self._open.pop(label, None)
        if ep is not None:
            self.closed.append(
                Episode(label, ep.start, max(end, ep.start), mean_hr, detail or ep.detail)
            )

    def current(self) -> list[Episode]:
        return list(self._open.values())

    def take(self) -> tuple[tuple[Episode, ...], tuple[Episode, ...]]:
        if not self.opened and not self.closed:  # the usual case
            return _NOTHING
        out = (tuple(self.opened), tuple(self.closed))
        self.opened.clear()
        self.closed.clear()
        return out
