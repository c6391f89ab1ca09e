"""Streaming rhythm labels from beat times: rate, pause, asystole and atrial fibrillation.

Input is the sequence of beats (sample indices) and of unusable stretches (`bad` intervals from
the quality stage, or from annotations), each final up to a given sample. Beats are handled one
at a time in order (per-beat Python work is a few microseconds), so the labels depend only on the
beat sequence, never on how it was split into updates.

Atrial fibrillation is judged on the clean RR intervals by `alerts.ecg.af.AfWindows`, which
this analyser feeds; its episodes share this analyser's log.
"""

from __future__ import annotations

from collections import deque

from alerts.ecg.af import AfWindows, cosen, median
from alerts.ecg.config import EcgConfig
from alerts.ecg.episodes import Episode, EpisodeLog, Label

__all__ = ["RhythmAnalyzer", "analyze_beats", "cosen"]  # cosen: re-exported from alerts.ecg.af
# A received beat: (sample, QRS correlation, P correlation).
_Beat = tuple[int, float | None, float | None]


class RhythmAnalyzer:
    """Feed beats and bad intervals with `update`; `finish` closes everything at the end."""

    def __init__(self, fs: float, config: EcgConfig | None = None) -> None:
        cfg = config or EcgConfig()
        self.fs = fs
        self.cfg = cfg
        self.log = EpisodeLog()
        self._pause = cfg.pause_s * fs
        self._asys = cfg.asystole_s * fs
        self._sustain = cfg.rate_sustain_s * fs
        self._hr_scale = 60.0 * fs
        # received, not processed
        self._beats: deque[_Beat] = deque()
        self._bad: list[tuple[int, int]] = []  # received bad intervals, not yet processed
        self._until = 0  # processed up to here
        self._prev: int | None = None  # last processed beat
        self._origin = 0  # a clean gap without beats is measured from here
        self._origin_is_beat = False
        self._clean = False  # no bad stretch since `_prev`
        self._gap_open = False  # a pause or asystole may be open
        # Rate.
        self._rate: deque[tuple[int, int]] = deque(maxlen=cfg.rate_window_beats)  # (start, rr)
        self._rate_rr: deque[int] = deque(maxlen=cfg.rate_window_beats)  # the same rr
        self._since: dict[Label, int | None] = {Label.BRADYCARDIA: None, Label.TACHYCARDIA: None}
        self._rate_pending = 0  # labels whose `_since` is set
        self._hr_sum: dict[Label, list[float]] = {
            Label.BRADYCARDIA: [0.0, 0.0],
            Label.TACHYCARDIA: [0.0, 0.0],
        }
        self._af = AfWindows(fs, cfg, self.log)

    # -- public -------------------------------------------------------------------------------

    def update(
        self,
        beats: list[int] | tuple[int, ...],
        bad: list[tuple[int, int]],
        until: int,
        corr: list[float | None] | None = None,
        p_corr: list[float | None] | None = None,
    ) -> tuple[tuple[Episode, ...], tuple[Episode, ...]]:
        """Add beats and bad intervals (both complete before `until`); return (opened, closed).

        `corr` (optional, one per beat) is the beat's correlation with the recent QRS template
        (`alerts.ecg.beats`); without it (beats-only mode) AF is judged from RR intervals alone."""
        if corr is None:
            self._beats.extend((b, None, None) for b in beats)
        elif p_corr is None:
            self._beats.extend((b, c, None) for b, c in zip(beats, corr, strict=True))
        else:
            self._beats.extend(zip(beats, corr, p_corr, strict=True))
        self._bad.extend(bad)
        self._advance(until, final=False)
        return self.log.take()

    def finish(self, until: int) -> tuple[tuple[Episode, ...], tuple[Episode, ...]]:
        """Process everything up to `until` and close all episodes there."""
        self._advance(until, final=True)
        self._gap(until, closing=True)
        self._af.flush()
        for label in (Label.BRADYCARDIA, Label.TACHYCARDIA):
            self._close_rate(label, self._prev if self._prev is not None else until)
        return self.log.take()

    @property
    def heart_rate(self) -> float | None:
        """Rate (/min) from the median of the last clean RR intervals, None while unknown."""
        if len(self._rate) < 2:
            return None
        return 60.0 * self.fs / median(self._rate_rr)

    def open_episodes(self) -> list[Episode]:
        return self.log.current()

    @property
    def trace(self) -> list[tuple[int, int, tuple[float, ...]]] | None:
        """The AF stage's trace (`AfWindows.trace`): set a list to record the windows."""
        return self._af.trace

    @trace.setter
    def trace(self, value: list[tuple[int, int, tuple[float, ...]]] | None) -> None:
        self._af.trace = value

    @property
    def af(self) -> AfWindows:
        """The AF stage."""
        return self._af

    @property
    def nbytes(self) -> int:
        return 64 * (len(self._beats) + len(self._rate)) + self._af.nbytes + 512

    # -- event loop ---------------------------------------------------------------------------

    def _advance(self, until: int, *, final: bool) -> None:
        beats = self._beats
        if not self._bad:  # the usual case: beats only
            on_beat = self._on_beat
            while beats and (final or beats[0][0] < until):
                on_beat(*beats.popleft())
            self._until = max(self._until, until)
            self._gap(until, closing=False)
            return
        self._bad.sort()
        while True:
            b = self._beats[0] if self._beats and (final or self._beats[0][0] < until) else None
            s = self._bad[0] if self._bad and (final or self._bad[0][0] < until) else None
            if b is None and s is None:
                break
            if s is not None and (b is None or s[0] <= b[0]):
                self._bad.pop(0)
                self._on_bad(*s)
            elif b is not None:
                self._beats.popleft()
                self._on_beat(*b)
        self._until = max(self._until, until)
        self._gap(until, closing=False)

    def _on_bad(self, start: int, end: int) -> None:
        self._gap(start, closing=True)
        if self._prev is not None:
            for label in (Label.BRADYCARDIA, Label.TACHYCARDIA):
                self._close_rate(label, self._prev)
        self._rate.clear()
        self._rate_rr.clear()
        self._clean = False
        self._origin = max(self._origin, end)
        self._origin_is_beat = False

    def _on_beat(self, b: int, corr: float | None, p_corr: float | None) -> None:
        if b < self._origin:  # inside a bad stretch: not a usable interval
            self._prev = b
            self._clean = False
            self._af.dropped += 1  # AF: counts against the window like an ectopic interval
            return
        gap = b - self._origin
        if self._gap_open or gap > self._pause or gap >= self._asys:  # else `_gap` does nothing
            self._gap(b, closing=True)
        prev = self._prev
        if prev is not None and self._clean and b > prev:
            self._on_rr(prev, b, corr, p_corr)
        elif prev is not None:
            self._af.dropped += 1
        self._prev = b
        self._clean = True
        self._origin = b
        self._origin_is_beat = True

    def _gap(self, at: int, *, closing: bool) -> None:
        """Pause/asystole over the clean stretch without beats from `_origin` to `at`."""
        gap = at - self._origin
        if gap > self._pause or gap >= self._asys:
            if self._origin_is_beat and gap > self._pause:
                self.log.open(Label.PAUSE, self._origin)
            if gap >= self._asys:
                self.log.open(Label.ASYSTOLE, self._origin)
            self._gap_open = True
        if closing and self._gap_open:
            self.log.close(Label.PAUSE, at)
            self.log.close(Label.ASYSTOLE, at)
            self._gap_open = False

    # -- rate ---------------------------------------------------------------------------------

    def _on_rr(self, start: int, end: int, corr: float | None, p_corr: float | None) -> None:
        rr = end - start
        self._rate.append((start, rr))
        self._rate_rr.append(rr)
        if len(self._rate) == self._rate.maxlen:
            hr = self._hr_scale / median(self._rate_rr)
            cfg = self.cfg
            # In range with nothing pending, neither rule would act.
            if self._rate_pending or not cfg.brady_bpm <= hr <= cfg.tachy_bpm:
                self._rate_rule(
                    Label.BRADYCARDIA,
                    hr < cfg.brady_bpm,
                    hr >= cfg.brady_bpm + cfg.rate_hysteresis_bpm,
                    hr,
                    end,
                )
                self._rate_rule(
                    Label.TACHYCARDIA,
                    hr > cfg.tachy_bpm,
                    hr <= cfg.tachy_bpm - cfg.rate_hysteresis_bpm,
                    hr,
                    end,
                )
        self._af.add(start, end, rr, corr, p_corr)

    def _rate_rule(self, label: Label, bad: bool, good: bool, hr: float, at: int) -> None:
        if bad:
            if self._since[label] is None:
                self._since[label] = self._rate[0][0]
                self._rate_pending += 1
                self._hr_sum[label] = [0.0, 0.0]
            since = self._since[label]
            acc = self._hr_sum[label]
            acc[0] += hr
            acc[1] += 1.0
            if since is not None and at - since >= self._sustain:
                self.log.open(label, since)
        elif good:
            self._close_rate(label, at)
        elif self._since[label] is not None:
            acc = self._hr_sum[label]
            acc[0] += hr
            acc[1] += 1.0

    def _close_rate(self, label: Label, at: int) -> None:
        if self._since[label] is None:  # nothing pending (an open episode always has a start)
            return
        acc = self._hr_sum[label]
        mean = acc[0] / acc[1] if acc[1] else None
        self.log.close(label, at, mean_hr=mean)
        self._since[label] = None
        self._rate_pending -= 1

    # -- atrial fibrillation ------------------------------------------------------------------


def analyze_beats(
    beats: list[int],
    fs: float,
    until: int,
    config: EcgConfig | None = None,
    bad: list[tuple[int, int]] | None = None,
) -> list[Episode]:
    """Rhythm episodes of a whole beat sequence (beats-only mode), in order of their end."""
    ana = RhythmAnalyzer(fs, config)
    _, closed = ana.update(sorted(beats), sorted(bad or []), until)
    _, rest = ana.finish(until)
    return [*closed, *rest]
