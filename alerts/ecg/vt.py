"""Ventricular tachycardia: runs of alike ventricular beats, from the beat classes."""

from __future__ import annotations

from alerts.ecg.episodes import EpisodeLog, Label


class VtRuns:
    """Ventricular tachycardia: `min_beats` or more consecutive V beats, each interval shorter
    than 60/`min_bpm` s (the usual definition: three or more consecutive ventricular beats at
    more than 100 /min; Al-Khatib et al., 2017 AHA/ACC/HRS ventricular arrhythmia guideline,
    Circulation 2018;138:e272). The episode runs from the first to the last beat of the run.

    False-alarm guard: each beat after the first must also be alike the one before it
    (`alerts.ecg.classifier.BeatClassifier.alike`, QRS correlation at least `ALIKE_CORR`).
    Monomorphic VT repeats one wide complex; motion artefact and muscle noise detected as beats
    do not repeat themselves, which is how most false VT alarms of bedside monitors look
    (Aboukhalil et al., J Biomed Inform 2008;41:442; Clifford et al., Physiol Meas
    2016;37:1213, the PhysioNet/CinC 2015 challenge). The price: a polymorphic run (torsades)
    whose complexes change from beat to beat is reported only where successive complexes stay
    alike."""

    def __init__(self, fs: float, min_beats: int = 3, min_bpm: float = 100.0) -> None:
        self.fs = fs
        self._max_rr = 60.0 * fs / min_bpm
        self._min = min_beats
        self.log = EpisodeLog()
        self._start = 0
        self._last = -(10**12)
        self._n = 0
        self.beats = 0  # V beats of the current run

    def add(self, beats: list[int], labels: list[str], alike: list[bool]) -> None:
        for b, lab, same in zip(beats, labels, alike, strict=True):
            if lab == "V" and same and b - self._last < self._max_rr and self._n:
                self._n += 1
                self._last = b
                if self._n == self._min:
                    self.log.open(Label.VT, self._start)
            else:
                self._end()
                if lab == "V":
                    self._start = self._last = b
                    self._n = 1
        self.beats = self._n

    def finish(self) -> None:
        self._end()

    @property
    def rate(self) -> float | None:
        """Mean rate (/min) of the run in progress, if it is long enough to be VT."""
        if self._n < self._min:
            return None
        return 60.0 * self.fs * (self._n - 1) / max(1, self._last - self._start)

    @property
    def last(self) -> int:
        return self._last

    def _end(self) -> None:
        if self._n >= self._min:
            self.log.close(Label.VT, self._last, mean_hr=self.rate)
        self._n = 0
