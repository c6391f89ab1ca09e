"""`make bench-ecg`: throughput and per-stream memory of the streaming ECG analyser.

Many patients' streams (250 Hz, real ECG from MIT-BIH 100 resampled, each patient starting at a
different offset) are fed round-robin in 1-second chunks, all rhythm checks on, on one core.
Throughput is measured in process CPU time (`time.process_time`), so other jobs on a shared
machine do not distort it; the wall-clock figure is printed alongside. It is measured twice: with
the interpreter's default garbage-collector settings, and with the settings `hmg gateway` runs
the analysers under (`gateway.runtime.process.tune_gc`: start-up state frozen, young objects
collected less often), which is how the service spends its CPU. The two settings take turns
round by round, each round on fresh analysers: measured one after the other, the second always
ran in a process whose heap the first had grown and scattered, and came out ~8 % slower whatever
its settings (each setting alone in a fresh process gives the same rate, within the spread).
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc

import numpy as np
import wfdb
from scipy import signal

from alerts.ecg import EcgAnalyzer
from bench.records import data_dir
from gateway.runtime.process import tune_gc

FS = 250
PATIENTS = 200
SECONDS = 120
ROUNDS = 3  # best of: other jobs on a shared machine only ever slow a round down


def load_ecg() -> np.ndarray:
    rec = wfdb.rdrecord(str(data_dir() / "ecg" / "mitdb" / "100"), channels=[0])
    x = rec.p_signal[:, 0]
    return np.asarray(signal.resample_poly(x, FS, int(rec.fs)), dtype=np.float64)


def one_round(streams: list[np.ndarray]) -> tuple[float, float, int, list[EcgAnalyzer]]:
    """One round over all streams on fresh analysers: CPU and wall seconds, beats, analysers."""
    analysers = [EcgAnalyzer(FS) for _ in range(PATIENTS)]
    beats = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for sec in range(SECONDS):
        lo, hi = sec * FS, (sec + 1) * FS
        for ana, x in zip(analysers, streams, strict=True):
            beats += len(ana.feed(x[lo:hi]).beats)
    cpu = time.process_time() - c0  # CPU time: the machine may be shared
    return cpu, time.perf_counter() - t0, beats, analysers


def gateway_round(streams: list[np.ndarray]) -> tuple[float, float, int, list[EcgAnalyzer]]:
    """`one_round` under the gateway's GC settings, the interpreter's restored after it."""
    thresholds = gc.get_threshold()
    tune_gc()
    try:
        return one_round(streams)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def report(name: str, cpu: list[float], wall: list[float], beats: int) -> None:
    samples = PATIENTS * SECONDS * FS
    elapsed = min(cpu)
    per_chunk_us = elapsed / (PATIENTS * SECONDS) * 1e6
    print(
        f"throughput ({name}): {samples / elapsed / 1e6:.2f} M samples/s per core, CPU time "
        f"({per_chunk_us:.0f} us CPU per 1 s chunk; {beats} beats; "
        f"median round {samples / float(np.median(cpu)) / 1e6:.2f} M/s CPU, "
        f"best wall-clock {samples / min(wall) / 1e6:.2f} M/s)"
    )


def main() -> None:
    ecg = load_ecg()
    rng = np.random.default_rng(1)
    offsets = rng.integers(0, ecg.size - FS * SECONDS, PATIENTS)
    streams = [ecg[o : o + FS * SECONDS] for o in offsets]
    print(
        f"streams: {PATIENTS} x {SECONDS} s at {FS} Hz, 1 s chunks, all rhythm checks on, "
        f"best of {ROUNDS} rounds"
    )
    runs = {"interpreter's default GC": one_round, "the gateway's GC settings": gateway_round}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    wall: dict[str, list[float]] = {name: [] for name in runs}
    beats = 0
    held: list[int] = []
    for _ in range(ROUNDS):
        for name, run in runs.items():
            c, w, beats, analysers = run(streams)
            cpu[name].append(c)
            wall[name].append(w)
            held = [a.nbytes for a in analysers]
            del analysers  # the round's state goes before the next round starts
    for name in runs:
        report(name, cpu[name], wall[name], beats)
    # Memory actually allocated per stream, measured on fresh analysers after 60 s of data.
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    extra = [EcgAnalyzer(FS) for _ in range(20)]
    for sec in range(60):
        for ana, x in zip(extra, streams, strict=False):
            ana.feed(x[sec * FS : (sec + 1) * FS])
    traced = (tracemalloc.get_traced_memory()[0] - before) / len(extra)
    tracemalloc.stop()
    print(
        f"state per stream: ~{np.mean(held) / 1024:.1f} KiB (self-reported), "
        f"{traced / 1024:.1f} KiB (tracemalloc)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
