"""Tunable limits of the ECG analyser, with the sources of their defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EcgConfig:
    """Limits for QRS detection, signal quality and rhythm labels.

    Rate limits:
    - `brady_bpm` 50: the 2018 ACC/AHA/HRS Guideline on the Evaluation and Management of
      Patients With Bradycardia and Cardiac Conduction Delay (Kusumoto et al., Circulation 2019;
      140:e382) defines sinus bradycardia as a rate below 50 /min.
    - `tachy_bpm` 120: the 2015 ACC/AHA/HRS SVT guideline (Page et al., Circulation 2016;133:e506)
      defines tachycardia as a rate above 100 /min; we alarm at 120 /min, the usual adult monitor
      default, because a rate of 100-120 /min during everyday activity of a person living at home
      is common and not actionable by itself (alarm fatigue, see Sendelbach & Funk, AACN Adv Crit
      Care 2013;24:378).
    - `pause_s` 3.0: a pause longer than 3 s is the usual Holter reporting criterion and is named as
      significant in the 2018 bradycardia guideline.
    - `asystole_s` 4.0: no QRS for 4 s on good-quality signal, a common bedside-monitor asystole
      delay; it must stay >= `pause_s` (an asystole is always also a pause).
    - `af_alarm_s` 30: AF episodes count from 30 s (2020 ESC AF guideline, Hindricks et al.,
      Eur Heart J 2021;42:373: "an episode lasting at least 30 s" for a diagnosis).
    """

    # QRS detection (Pan & Tompkins, IEEE TBME 1985;32:230, with our own adaptations).
    band_hz: tuple[float, float] = (5.0, 15.0)
    integration_s: float = 0.15
    refractory_s: float = 0.2
    twave_s: float = 0.36
    searchback_factor: float = 1.66
    # Beats that Pan & Tompkins' single threshold misses, mostly premature ventricular and
    # aberrant beats (wide, low-slope complexes with a feature peak below that of the
    # dominant beats; see `alerts.ecg.qrs`):
    # - `searchback_floor`: the search-back accepts the highest candidate above this share of
    #   the threshold (Pan & Tompkins: 0.5);
    # - `split_frac`, `split_slope`: every time a beat is accepted, the interval since the
    #   previous beat is searched for a set-aside candidate at least a T-wave interval
    #   (`twave_s`) from both, above `split_frac` of the threshold and with at least
    #   `split_slope` of the previous beat's steepest slope (None: off). It finds the
    #   premature beat of a bigeminal or trigeminal run, where the detector would otherwise
    #   settle on half the rate and the search-back never fires;
    # - `ectopic_screen`: the noise screen of `alerts.ecg.qrs.QrsDetector._unlike_beat`.
    # Chosen together by leave-one-record-out cross-validation on the 23 development MIT-BIH
    # records (`make cv-qrs`, grid: split off/0.5/0.7, slope 0.3/0.4/0.5, floor 0.3/0.5, screen
    # on/off; fewest missed plus false beats): the same setting was chosen in 22 of 23 folds;
    # held-out Se 99.67 %, +P 99.88 % (before: Se 99.19 %, +P 99.91 %).
    searchback_floor: float = 0.3
    split_frac: float | None = 0.5
    split_slope: float = 0.3
    ectopic_screen: bool = False
    learn_s: float = 2.0
    # Samples are processed in blocks of at least this length: the numeric work per block has a
    # fixed cost, so longer blocks mean more streams per core (4 s: ~2x the throughput of 2 s).
    # The price is latency: a decision can wait up to `block_s` for its block to be processed,
    # on top of the look-ahead it needs anyway (QRS ~0.2 s, quality 2 epochs, AF half a window).
    # 4 s is well inside the 10 s rate-sustain delay and the 30 s AF alarm minimum; a pause or
    # asystole alarm can come up to 4 s after the 3-4 s gap that defines it.
    block_s: float = 4.0
    # Signal quality, judged on 1 s epochs with a 5 s centred context.
    epoch_s: float = 1.0
    quality_context: int = 2  # epochs on each side
    flat_mv: float = 0.04
    max_range_mv: float = 8.0
    clip_run_s: float = 0.04
    min_kurtosis: float = 4.0
    quiet_mv: float = 0.03
    max_hf_ratio: float = 0.5
    max_wander_ratio: float = 2.0
    noise_alarm_s: float = 30.0
    # Rhythm.
    brady_bpm: float = 50.0
    tachy_bpm: float = 120.0
    rate_hysteresis_bpm: float = 5.0
    rate_window_beats: int = 8
    rate_sustain_s: float = 10.0
    pause_s: float = 3.0
    asystole_s: float = 4.0
    # AF from RR irregularity (see `alerts.ecg.rhythm`).
    af_window_beats: int = 65
    af_threshold: float = 0.08
    af_premature: float = 0.85
    af_compensatory: float = 1.05
    af_reference_beats: int = 16
    af_alarm_s: float = 30.0
    af_max_ectopic: float = 0.6  # at most this share of a window's intervals may be ectopic
    # Short paroxysms (beats-only path): the 65-beat window's median only turns AF when more
    # than half its intervals are irregular, so a paroxysm of fewer than ~33 beats is never
    # labelled and a longer one loses ~32 beats. An interval is AF also when at least
    # `af_short_share` of its window's entries are above `af_threshold` and more than half of
    # the `af_short_beats` entries centred on it are above `af_short_threshold` (None: off).
    # Chosen by leave-one-record-out cross-validation on the 12 AFDB records
    # (`python -m bench.afdb_cv`: grid 9/17/25 beats x share 0.15/0.3 x 0.12/0.16/0.2, the
    # highest lowest per-record Se with pooled Se >= 97 % and Sp >= 98 % on the training
    # records); this is the choice on all 12.
    af_short_beats: int | None = 25
    af_short_share: float = 0.15
    af_short_threshold: float = 0.12
    # With the signal (beat morphology known), AF windows are judged by the logistic model of
    # `alerts.ecg.afmodel` (RR irregularity and P-wave features) instead of the rules below.
    af_model: bool = True
    # Optional second AF condition: the coefficient of sample entropy of the window's RR intervals
    # above this (`alerts.ecg.rhythm.cosen`); None (default) turns it off. Lake & Moorman (Am J
    # Physiol Heart Circ Physiol 2011;300:H319) put the AF threshold near -1.4, but on top of the
    # irregularity rule -1.4 cost AFDB sensitivity (97.10 -> 96.62 %). Tuned on odd-numbered
    # CinC 2017 records only (-1.4/-1.6/-1.8/-2.0 with AFDB Se >= 97, Sp >= 98), -1.8 was best
    # (odd F1 0.718 -> 0.726, AFDB Se 97.08 / Sp 98.45) but did not carry over to the
    # even-numbered records (F1 0.673 -> 0.674), so it stays off until it earns its place.
    af_cosen: float | None = None
    af_cosen_min_beats: int = 12
    # P waves (signal path only, `alerts.ecg.beats.BeatQuality.p_corr`): a window whose beats'
    # mean P-wave template correlation is above this has consistent P waves and is not AF
    # (None: off). Needs `af_p_min_beats` beats with a P window. Chosen on odd-numbered CinC
    # 2017 records (AF vs rest F1, with the noise label on): off 0.707, 0.25 0.735, 0.3 0.752,
    # 0.35 0.750, 0.4 0.743, 0.5 0.741. On the even-numbered records it drops 8 true and 11
    # false AF calls (F1 0.660 -> 0.619); overall F1 0.685 -> 0.692, precision 62 -> 74 % (false
    # AF calls on N/O records 15/27 -> 8/12), sensitivity 76 -> 65 %. It does not carry over to
    # held-out records and a missed AF costs more than a false one (stroke prevention), so it is
    # off by default; 0.3 is the value to use where false AF alarms weigh more.
    af_max_p_corr: float | None = None
    af_p_min_beats: int = 5
    # Beat morphology: mean correlation of QRS complexes with the median template below this is
    # noise (Orphanidou et al., IEEE J Biomed Health Inform 2015;19:832: threshold 0.66).
    min_beat_corr: float = 0.66
    # Noise from beat morphology (`alerts.ecg.beats.WindowSqi`, after Orphanidou et al.): a
    # trailing window of `sqi_window_s` (their 10 s) whose mean QRS correlation is below
    # `sqi_min_corr`. None turns it off. The threshold was chosen on odd-numbered CinC 2017
    # records (share of records at least half labelled noise, N / ~): 0.66 gave 12.8 % / 93 %,
    # 0.5 7.6 % / 86 %, 0.4 4.1 % / 79 %, 0.3 3.4 % / 57 %; 0.4 keeps most noisy records while
    # few normal ones lose their rhythm labels (CinC "N" records do contain noisy stretches).
    # Requiring the window to stay bad for 5 s before labelling did not help (0.4: N 3.8 %,
    # ~ 57 %; 0.5: N 4.8 %, ~ 71 %), so a single bad window is enough.
    sqi_window_s: float | None = 10.0
    sqi_min_corr: float = 0.4
    # Ventricular beats and tachycardia (`alerts.ecg.ventricular`): classify every beat (N, V,
    # Q) and report runs of at least `vt_min_beats` ventricular beats faster than `vt_min_bpm`
    # as `VT` episodes (three beats above 100 /min: Al-Khatib et al., 2017 AHA/ACC/HRS
    # ventricular arrhythmia guideline, Circulation 2018;138:e272).
    classify_beats: bool = True
    vt_min_beats: int = 3
    vt_min_bpm: float = 100.0
    # A run is VT only once the mean V probability of its beats (the beat model's) reaches
    # this (`alerts.ecg.vt.VtRuns`); chosen by leave-one-record-out cross-validation on the
    # development MIT-BIH records (`bench/eval_ventricular.py`).
    vt_min_conf: float = 0.0
    # and once its complexes are on average wider than the patient's own dominant QRS (mean
    # log-ratio of the energy widths above this; None: no width check). VT is a wide-complex
    # tachycardia; 0 (wider than usual at all) is the physiological criterion, not a fitted one.
    vt_min_width: float | None = 0.0
    # Alarms (`alerts.detectors.ecg`). The same guideline calls VT sustained when it lasts 30 s
    # or needs termination sooner for haemodynamic compromise; an ECG cannot see the compromise,
    # so the rate stands in for it: a ventricular rate of 150 /min or more is where a
    # tachycardia itself is likely to cause instability (2020 AHA guidelines for CPR and ECC,
    # adult tachycardia algorithm, Panchal et al., Circulation 2020;142:S366), and such a run
    # raises the high-priority alarm once it has lasted `vt_fast_s`. Shorter or slower runs
    # are non-sustained VT (medium).
    vt_sustained_s: float = 30.0
    vt_fast_bpm: float = 150.0
    vt_fast_s: float = 10.0
    # PVC burden (`alerts.ecg.burden`): share of V beats over the last 24 h, judged once this
    # many beats were classified (about 2.5 h at 70 /min).
    pvc_burden_pct: float = 10.0
    pvc_burden_min_beats: int = 10_000

    def __post_init__(self) -> None:
        lo, hi = self.band_hz
        if not 0 < lo < hi:
            raise ValueError("band_hz must be increasing and positive")
        if self.brady_bpm >= self.tachy_bpm:
            raise ValueError("brady_bpm must be below tachy_bpm")
        if self.asystole_s < self.pause_s:
            raise ValueError("asystole_s must not be shorter than pause_s")
        if self.af_window_beats < 3 or self.rate_window_beats < 1:
            raise ValueError("windows must hold at least a few beats")
        if self.epoch_s <= 0 or self.block_s < 0:
            raise ValueError("epoch_s must be positive and block_s non-negative")
