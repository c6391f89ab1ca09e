"""`hmg ecg analyze`: run the streaming ECG analyser over a WFDB record, chunk by chunk.

The record is fed in 1-second chunks, the same way live ingest feeds it. From the signal, the
output also has `labels`, one beat class per entry of `beats` (N, V or Q; see
`alerts.ecg.ventricular`), and `VT` episodes. With `--ann EXT` the
record's beat annotations are fed to the rhythm stage instead (no signal needed); signal-quality
marks in the annotation (`~` with a non-zero subtype starts noise, subtype 0 ends it) become
`noise` intervals, so annotated unreadable stretches do not count as pauses.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import wfdb

from alerts.ecg import EcgAnalyzer, EcgConfig, Episode, Label, RhythmAnalyzer

BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


def _episode_json(ep: Episode) -> dict[str, Any]:
    return {"label": ep.label.value, "start": ep.start, "end": ep.end}


def analyze_signal(
    signal: np.ndarray[Any, np.dtype[np.float64]], fs: float, config: EcgConfig | None = None
) -> dict[str, Any]:
    """Feed `signal` (mV) in 1 s chunks; return the `hmg ecg analyze` JSON dict."""
    ana = EcgAnalyzer(fs, config)
    step = max(1, round(fs))
    beats: list[int] = []
    labels: list[str] = []
    episodes: list[Episode] = []
    x = np.nan_to_num(np.asarray(signal, dtype=np.float64))
    for i in range(0, x.size, step):
        upd = ana.feed(x[i : i + step])
        beats.extend(upd.beats)
        labels.extend(upd.labels)
        episodes.extend(upd.closed)
    upd = ana.finish()
    beats.extend(upd.beats)
    labels.extend(upd.labels)
    episodes.extend(upd.closed)
    out = _result(fs, beats, episodes)
    if ana.classifier is not None:
        out["labels"] = labels  # the same beats in the same order (see `EcgUpdate`)
    return out


def analyze_annotations(
    samples: Sequence[int],
    symbols: Sequence[str],
    subtypes: Sequence[int],
    fs: float,
    length: int | None = None,
    config: EcgConfig | None = None,
) -> dict[str, Any]:
    """Beats-only mode: rhythm episodes from annotated beats, fed one second at a time."""
    beats: list[int] = []
    bad: list[tuple[int, int]] = []
    noisy_from: int | None = None
    for s, sym, sub in zip(samples, symbols, subtypes, strict=True):
        if sym in BEAT_SYMBOLS:
            beats.append(int(s))
        elif sym == "~":
            if sub != 0 and noisy_from is None:
                noisy_from = int(s)
            elif sub == 0 and noisy_from is not None:
                bad.append((noisy_from, int(s)))
                noisy_from = None
    end = int(length) if length else (max(beats) + 1 if beats else 0)
    if noisy_from is not None:
        bad.append((noisy_from, end))
    beats.sort()
    rhythm = RhythmAnalyzer(fs, config)
    episodes: list[Episode] = []
    step = max(1, round(fs))
    bi = ni = 0
    for t in range(step, end + step, step):
        j = bi
        while j < len(beats) and beats[j] < t:
            j += 1
        k = ni
        while k < len(bad) and bad[k][0] < t:
            k += 1
        _, closed = rhythm.update(beats[bi:j], bad[ni:k], min(t, end))
        episodes.extend(closed)
        bi, ni = j, k
    _, closed = rhythm.update(beats[bi:], bad[ni:], end)
    episodes.extend(closed)
    _, closed = rhythm.finish(end)
    episodes.extend(closed)
    for a, b in bad:
        episodes.append(Episode(Label.NOISE, a, b))
    return _result(fs, beats, episodes)


def _result(fs: float, beats: list[int], episodes: list[Episode]) -> dict[str, Any]:
    eps = sorted(episodes, key=lambda e: (e.start, e.end or 0, e.label.value))
    return {"fs": fs, "beats": beats, "episodes": [_episode_json(e) for e in eps]}


def analyze_record(path: str, ann: str | None, channel: int) -> dict[str, Any]:
    """Analyse WFDB record `path` (without extension): signal channel `channel`, or the beat
    annotations with extension `ann`."""
    if ann:
        a = wfdb.rdann(path, ann)
        header = wfdb.rdheader(path)
        fs = float(a.fs or header.fs)
        length = int(header.sig_len) if header.sig_len else None
        return analyze_annotations(
            [int(s) for s in a.sample], list(a.symbol), [int(s) for s in a.subtype], fs, length
        )
    rec = wfdb.rdrecord(path, channels=[channel])
    return analyze_signal(rec.p_signal[:, 0], float(rec.fs))


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m gateway.ecgtool RECORD [--ann EXT] [--channel N]`."""
    p = argparse.ArgumentParser(prog="hmg ecg analyze", description=__doc__)
    p.add_argument("record", help="WFDB record path without extension")
    p.add_argument("--ann", default=None, help="annotation extension: analyse beats only")
    p.add_argument("--channel", type=int, default=0, help="signal channel (default 0)")
    args = p.parse_args(argv)
    json.dump(analyze_record(args.record, args.ann, args.channel), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
