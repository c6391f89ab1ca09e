"""`hmg ecg analyze`: run the streaming ECG analyser over WFDB records, chunk by chunk.

Each record is fed in 1-second chunks, the same way live ingest feeds it. One record path gives
one JSON object (the fixed contract); several paths, or a folder (every `.hea` record in it),
give one JSON line per record, in the order given, each with the record's `record` name, or
`{"record": …, "error": …}` for a record that could not be analysed (the others still are, and
the exit status is 1). `--jobs N` analyses N records at a time in a pool of worker processes.

From the signal, the output also has `labels`, one beat class per entry of `beats` (N, V or Q;
see `alerts.ecg.ventricular`), and `VT` episodes. With `--ann EXT` the record's beat
annotations are fed to the rhythm stage instead (no signal needed); signal-quality marks in the
annotation (`~` with a non-zero subtype starts noise, subtype 0 ends it) become `noise`
intervals, so annotated unreadable stretches do not count as pauses.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from alerts.ecg import EcgAnalyzer, EcgConfig, Episode, Label, RhythmAnalyzer
from gateway.ecgrecord import read_signal

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


def analyze_record(
    path: str, ann: str | None, channel: int, config: EcgConfig | None = None
) -> dict[str, Any]:
    """Analyse WFDB record `path` (without extension): signal channel `channel`, or the beat
    annotations with extension `ann` (with `config`, or the shipped settings)."""
    if ann:
        import wfdb  # only here: importing it costs more than a short record's analysis

        a = wfdb.rdann(path, ann)
        header = wfdb.rdheader(path)
        fs = float(a.fs or header.fs)
        length = int(header.sig_len) if header.sig_len else None
        return analyze_annotations(
            [int(s) for s in a.sample], list(a.symbol), [int(s) for s in a.subtype], fs, length,
            config,
        )  # fmt: skip
    signal, fs = read_signal(path, channel)  # wfdb's samples, without importing wfdb
    return analyze_signal(signal, fs, config)


class RecordListError(ValueError):
    """A path given to `hmg ecg analyze` names no record (e.g. a folder without `.hea` files)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def list_records(paths: Sequence[str]) -> list[str]:
    """Record paths (without extension) from the command line: a folder stands for every
    record (`.hea` file) in it, sorted by name; `X.hea` for `X`; anything else is a record
    path as it is (a missing record is reported when it is analysed)."""
    out: list[str] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            found = sorted(h.with_suffix("") for h in p.glob("*.hea") if h.is_file())
            if not found:
                raise RecordListError(given, "folder has no WFDB records (.hea files)")
            out.extend(str(r) for r in found)
        else:
            out.append(given[: -len(".hea")] if given.endswith(".hea") else given)
    return out


def _analyze_one(job: tuple[str, str | None, int]) -> tuple[str, dict[str, Any] | str]:
    """One record of a batch: its result, or the reason it failed (a bad record must not stop
    the others, so every error of reading or analysing it is turned into a message here)."""
    path, ann, channel = job
    try:
        return path, analyze_record(path, ann, channel)
    except Exception as exc:  # noqa: BLE001 - reported per record, the batch goes on
        return path, f"{type(exc).__name__}: {exc}"


def _results(
    records: list[str], ann: str | None, channel: int, jobs: int
) -> Iterator[tuple[str, dict[str, Any] | str]]:
    work = [(r, ann, channel) for r in records]
    if jobs <= 1 or len(work) <= 1:
        yield from map(_analyze_one, work)
        return
    with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool:
        yield from pool.map(_analyze_one, work)  # in the order given


def run(
    paths: Sequence[str],
    ann: str | None = None,
    channel: int = 0,
    jobs: int = 1,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Analyse the records named by `paths` and print the results (see the module docstring);
    return the exit status: 0, 1 when a record failed, 2 when `paths` name no record."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if jobs < 1:
        err.write("hmg ecg analyze: --jobs must be at least 1\n")
        return 2
    try:
        records = list_records(paths)
    except RecordListError as exc:
        err.write(f"hmg ecg analyze: {exc}\n")
        return 2
    single = len(paths) == 1 and len(records) == 1 and not Path(paths[0]).is_dir()
    failed = 0
    for path, result in _results(records, ann, channel, jobs):
        if isinstance(result, str):
            failed += 1
            err.write(f"hmg ecg analyze: {path}: {result}\n")
            if not single:
                out.write(json.dumps({"record": Path(path).name, "error": result}) + "\n")
        elif single:
            out.write(json.dumps(result) + "\n")
        else:
            out.write(json.dumps({"record": Path(path).name, **result}) + "\n")
    if failed and not single:
        err.write(f"hmg ecg analyze: {failed} of {len(records)} records failed\n")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m gateway.ecgtool RECORD... [--ann EXT] [--channel N] [--jobs N]`, the same
    as `hmg ecg analyze`."""
    from gateway.cli import main as hmg

    return hmg(["ecg", "analyze", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
