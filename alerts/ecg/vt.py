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
    alike.

    Confidence: the run is VT only once the mean of its beats' V probabilities (the beat
    model's, `alerts.ecg.classifier.BeatClassifier.conf`) reaches `min_conf`. Inside a run the
    label V may come from `alerts.ecg.classifier.settle` (the same complex as a V before it)
    rather than from the model; a run the model itself barely believes in (aberrant
    supraventricular beats, flutter waves counted as beats) is not paged as VT.

    Width: VT is a wide-complex tachycardia (QRS >= 120 ms; Al-Khatib et al. 2017). With
    `min_width` set, the run is VT only once its complexes are on average wider than the
    patient's own dominant (conducted) complex by that log-ratio: a run of complexes no wider
    than the patient's usual QRS is supraventricular, however it was labelled (in the
    development records, an atrial flutter stretch of 203 with narrow complexes)."""

    def __init__(
        self,
        fs: float,
        min_beats: int = 3,
        min_bpm: float = 100.0,
        min_conf: float = 0.0,
        min_width: float | None = None,
    ) -> None:
        self.fs = fs
        self._max_rr = 60.0 * fs / min_bpm
        self._min = min_beats
        self._min_conf = min_conf
        self._min_width = min_width
        self._width = 0.0  # sum of the run's beats' QRS width log-ratios
        self.log = EpisodeLog()
        self._start = 0
        self._last = -(10**12)
        self._n = 0
        self._conf = 0.0  # sum of the run's beats' V probabilities
        self._open = False
        self.beats = 0  # V beats of the current run

    def add(
        self,
        beats: list[int],
        labels: list[str],
        alike: list[bool],
        conf: list[float] | None = None,
        width: list[float] | None = None,
    ) -> None:
        """Classified beats in order, whether each is alike the one before, the model's V
        probability of each and its QRS width log-ratio to the template
        (`alerts.ecg.classifier.BeatClassifier.conf` and `.width`; None: 1 and 0)."""
        confs = conf if conf is not None else [1.0] * len(beats)
        widths = width if width is not None else [0.0] * len(beats)
        for b, lab, same, c, w in zip(beats, labels, alike, confs, widths, strict=True):
            if lab == "V" and same and b - self._last < self._max_rr and self._n:
                self._n += 1
                self._conf += c
                self._width += w
                self._last = b
                if (
                    not self._open
                    and self._n >= self._min
                    and self._conf >= self._min_conf * self._n
                    and (self._min_width is None or self._width > self._min_width * self._n)
                ):
                    self._open = True
                    self.log.open(Label.VT, self._start)
            else:
                self._end()
                if lab == "V":
                    self._start = self._last = b
                    self._n = 1
                    self._conf = c
                    self._width = w
        self.beats = self._n if self._open else 0

    def finish(self) -> None:
        self._end()

    @property
    def rate(self) -> float | None:
        """Mean rate (/min) of the run in progress, if it is confirmed as VT."""
        if not self._open:
            return None
        return 60.0 * self.fs * (self._n - 1) / max(1, self._last - self._start)

    @property
    def last(self) -> int:
        return self._last

    def _end(self) -> None:
        if self._open:
            self.log.close(Label.VT, self._last, mean_hr=self.rate)
        self._open = False
        self._n = 0
