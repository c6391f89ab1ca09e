"""One streaming analyser per ECG stream: QRS detection, signal quality and rhythm together.

Samples are gathered until at least `block_s` seconds are waiting, then processed as one block, so
feeding one sample at a time costs a list append and the numeric work always runs on arrays. Every
decision waits for a fixed look-ahead (QRS: one refractory period; quality: a few epochs; rhythm:
beats that are final), which makes the output identical for any chunking of the same samples.

>>> import numpy as np
>>> ana = EcgAnalyzer(250.0)
>>> t = np.arange(250 * 20) / 250.0
>>> ecg = np.exp(-(((t % 1.0) - 0.5) ** 2) / (2 * 0.01**2))  # 60 /min spikes of 1 mV
>>> beats = [*ana.feed(ecg).beats, *ana.finish().beats]
>>> len(beats)
20
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.ecg.beats import BeatQuality, WindowSqi
from alerts.ecg.classifier import BeatClassifier
from alerts.ecg.config import EcgConfig
from alerts.ecg.episodes import Episode, EpisodeLog, Label
from alerts.ecg.qrs import QrsDetector
from alerts.ecg.quality import Defect, QualityMonitor
from alerts.ecg.rhythm import RhythmAnalyzer
from alerts.ecg.vt import VtRuns
from devices.kinds import ECG_SAMPLING


@dataclass(frozen=True, slots=True)
class EcgUpdate:
    """What one `feed` call established: new beats (sample indices of the stream), episodes
    opened and closed, and `until`: every label before this sample is final (ventricular
    tachycardia episodes excepted: they wait for their beats' classes, see `classified`).

    `classified` are the beats whose class became known (the same beats as `beats`, in the
    same order, but up to `alerts.ecg.ventricular.GROUP` beats later) and `labels` their
    classes: ``N`` normal or supraventricular, ``V`` ventricular ectopic, ``Q`` unknown
    (noisy stretch, or the template still being learned)."""

    beats: tuple[int, ...]
    opened: tuple[Episode, ...]
    closed: tuple[Episode, ...]
    until: int
    classified: tuple[int, ...] = ()
    labels: tuple[str, ...] = ()


class EcgAnalyzer:
    """Streaming ECG analysis of one stream sampled at `fs` (125-1000 Hz), fed in millivolts."""

    def __init__(self, fs: float, config: EcgConfig | None = None) -> None:
        if not ECG_SAMPLING.accepts(fs):
            raise ValueError(f"sampling rate {fs} Hz out of range")
        self.fs = float(fs)
        self.config = cfg = config or EcgConfig()
        self._qrs = QrsDetector(self.fs, cfg)
        self._quality = QualityMonitor(self.fs, cfg)
        self._rhythm = RhythmAnalyzer(self.fs, cfg)
        self._morph = BeatQuality(self.fs)
        self._noise = EpisodeLog()
        self._sqi = (
            WindowSqi(self.fs, cfg.sqi_window_s, cfg.sqi_min_corr)
            if cfg.sqi_window_s is not None
            else None
        )
        self._classes = BeatClassifier(self.fs) if cfg.classify_beats else None
        self._vt = VtRuns(
            self.fs, cfg.vt_min_beats, cfg.vt_min_bpm, cfg.vt_min_conf, cfg.vt_min_width
        )
        self._block = max(1, round(cfg.block_s * self.fs))
        self._pending: list[npt.NDArray[np.float64]] = []
        self._pending_n = 0
        self._received = 0
        self._beats: list[int] = []  # detected, waiting for their epoch's quality label
        # Labelled epochs with a defect whose beats may still come (OK epochs are not kept).
        self._defects: dict[int, Defect] = {}
        self._flat = 0  # how many of them are FLAT (their beats are dropped)
        self._worst = Defect.OK
        self._noisy = False  # a quality (noise) episode is open
        self._finished = False
        self._idle = EcgUpdate((), (), (), 0)

    def feed(self, samples: npt.ArrayLike) -> EcgUpdate:
        """Add the next samples (millivolts) of the stream."""
        if self._finished:
            raise RuntimeError("analyser already finished")
        x = np.asarray(samples, dtype=np.float64).ravel()
        if x.size:
            self._pending.append(x)
            self._pending_n += x.size
            self._received += x.size
        if self._pending_n < self._block:
            # Nothing new, and `until` only moves when a block runs: reuse the (immutable) empty
            # update made then.
            return self._idle
        return self._run(final=False)

    def finish(self) -> EcgUpdate:
        """End of stream: decide everything still waiting and close all open episodes."""
        if self._finished:
            return EcgUpdate((), (), (), self._received)
        self._finished = True
        return self._run(final=True)

    def open_episodes(self) -> list[Episode]:
        """Episodes open now (rhythm and noise)."""
        sqi = self._sqi.log.current() if self._sqi is not None else []
        return [
            *self._rhythm.open_episodes(),
            *self._noise.current(),
            *sqi,
            *self._vt.log.current(),
        ]

    @property
    def vt(self) -> VtRuns:
        """The ventricular tachycardia stage (rate and length of the run in progress)."""
        return self._vt

    @property
    def classifier(self) -> BeatClassifier | None:
        """The beat classifier (e.g. to set its `trace` when fitting its model)."""
        return self._classes

    @property
    def received(self) -> int:
        return self._received

    @property
    def rhythm(self) -> RhythmAnalyzer:
        """The rhythm stage (e.g. to set its `trace` when training the AF model)."""
        return self._rhythm

    @property
    def heart_rate(self) -> float | None:
        """Current rate (/min) from the median of the recent clean RR intervals, if known."""
        return self._rhythm.heart_rate

    @property
    def nbytes(self) -> int:
        """Approximate memory held by this stream's state (buffers, histories)."""
        return (
            self._qrs.nbytes
            + self._quality.nbytes
            + self._rhythm.nbytes
            + self._morph.nbytes
            + (self._sqi.nbytes if self._sqi is not None else 0)
            + (self._classes.nbytes if self._classes is not None else 0)
            + 8 * (self._pending_n + len(self._beats) + 2 * len(self._defects))
            + 1024
        )

    def _run(self, *, final: bool) -> EcgUpdate:
        x = np.concatenate(self._pending) if self._pending else np.empty(0)
        self._pending = []
        self._pending_n = 0
        bp, beats = self._qrs.process(x, final=final)
        self._morph.add(x)
        self._beats.extend(beats.tolist())
        first = self._quality.labelled
        defects = self._quality.process(x, bp, final=final)
        epoch = self._quality.epoch
        bad: list[tuple[int, int]] = []
        for i, d in enumerate(defects):
            if d is not Defect.OK or self._noisy:
                k = first + i
                if d is not Defect.OK:
                    self._defects[k] = d
                    self._flat += d is Defect.FLAT
                self._note_quality(k, d, bad)
        labelled_end = self._received if final else self._quality.labelled * epoch
        # Beats are in order: those of labelled epochs go out (unless their epoch is flat).
        pending = self._beats
        cut = bisect_left(pending, labelled_end)
        out = pending[:cut]
        keep = pending[cut:]
        if self._flat and out:
            defects_of = self._defects
            out = [b for b in out if defects_of.get(b // epoch) is not Defect.FLAT]
        self._beats = keep
        corr = self._morph.score(out)
        p_corr = self._morph.p_corr
        noisy: list[tuple[int, int]] = []
        if self._sqi is not None and out:
            noisy = self._sqi.add(out, corr)
            if noisy:
                bad.extend(noisy)
                bad.sort()
        classified: tuple[int, ...] = ()
        labels: tuple[str, ...] = ()
        if self._classes is not None:
            classified, labels = self._classify(out, corr, noisy, final=final)
        self._morph.trim(min(keep[0] if keep else labelled_end, self._qrs.final_until))
        if self._defects:
            oldest = (keep[0] if keep else labelled_end) // epoch
            for k in [k for k in self._defects if k < oldest]:
                self._flat -= self._defects.pop(k) is Defect.FLAT
        if final:
            self._noise.close(Label.NOISE, self._received, detail=self._worst.name.lower())
            if self._sqi is not None:
                self._sqi.finish(self._received)
            opened, closed = self._rhythm.update(out, bad, self._received, corr, p_corr)
            o2, c2 = self._rhythm.finish(self._received)
            opened, closed = opened + o2, closed + c2
        else:
            opened, closed = self._rhythm.update(out, bad, self._rhythm_until(), corr, p_corr)
        n_open, n_closed = self._noise.take()
        v_open, v_closed = self._vt.log.take()
        n_open, n_closed = n_open + v_open, n_closed + v_closed
        if self._sqi is not None:
            s_open, s_closed = self._sqi.log.take()
            n_open, n_closed = n_open + s_open, n_closed + s_closed
        until = self._rhythm_until(final)
        if self._idle.until != until:
            self._idle = EcgUpdate((), (), (), until)
        return EcgUpdate(tuple(out), opened + n_open, closed + n_closed, until, classified, labels)

    def _classify(
        self,
        out: list[int],
        corr: list[float | None],
        noisy: list[tuple[int, int]],
        *,
        final: bool,
    ) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """Beat classes and ventricular tachycardia runs. Beats in a stretch the quality checks
        do not vouch for (a flat, clipped, out-of-range or wandering epoch, a noisy window of
        beats) are ``Q``. An epoch called noisy only for its low kurtosis or high-frequency share
        is `soft`: a fast wide-complex rhythm has low kurtosis too, so its beats are classified,
        but a V there must be alike the beat before it (see `BeatClassifier.add`)."""
        assert self._classes is not None
        flags = [False] * len(out)
        soft = flags
        if self._defects or noisy:
            soft = [False] * len(out)
            epoch = self._quality.epoch
            defects_of = self._defects
            for i, b in enumerate(out):
                d = defects_of.get(b // epoch)
                soft[i] = d is Defect.NOISE
                flags[i] = (d is not None and d > Defect.NOISE) or any(
                    s <= b <= e for s, e in noisy
                )
        self._classes.add(out, self._morph.rows, self._morph.rows_at, corr, flags, soft)
        beats, labels = self._classes.take(final=final)
        c = self._classes
        self._vt.add(beats, labels, c.alike, c.conf, c.width)
        if final:
            self._vt.finish()
        return tuple(beats), tuple(labels)

    def _note_quality(self, k: int, d: Defect, bad: list[tuple[int, int]]) -> None:
        epoch = self._quality.epoch
        start, end = k * epoch, min((k + 1) * epoch, self._received)
        if d is Defect.OK:
            self._noise.close(Label.NOISE, start, detail=self._worst.name.lower())
            self._worst = Defect.OK
            self._noisy = False
            return
        if not self._noisy:
            self._worst = d
            self._noise.open(Label.NOISE, start)
            self._noisy = True
        self._worst = max(self._worst, d)
        if bad and bad[-1][1] == start:
            bad[-1] = (bad[-1][0], end)
        else:
            bad.append((start, end))

    def _rhythm_until(self, final: bool = False) -> int:
        if final:
            return self._received
        return min(self._qrs.final_until, self._quality.labelled * self._quality.epoch)
