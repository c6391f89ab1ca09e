"""One signal channel of a WFDB record, in millivolts, read without importing `wfdb`.

`hmg ecg analyze` reads records this way because importing `wfdb` (and the pandas it imports)
takes longer than analysing a short record. Only the common case is read here: a single-segment
header whose signal files are in format 16 (optionally with a byte offset, as the CinC 2017
`.mat` files) or 212 (MIT-BIH), one sample per frame and no skew. Everything else goes to
`wfdb.rdrecord`. The conversion is wfdb's (`(digital - baseline) / gain`, in float64, the
format's missing-value code becoming NaN), so the samples are the same to the last bit; the tests
compare both readers on the shared records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_DEFAULT_FS = 250.0  # WFDB's default sampling frequency when the header gives none
_DEFAULT_GAIN = 200.0  # and its default gain (ADC units per mV) for a gain of 0 or none
_MISSING = {"16": -32768, "212": -2048}  # each format's code for a missing sample
# A signal line's format field: format, then optional "xN" samples per frame, ":N" skew and
# "+N" byte offset; only the format and the offset are read here.
_FORMAT = re.compile(r"^(\d+)(x\d+)?(:\d+)?(\+(\d+))?$")
_GAIN = re.compile(r"^([-+0-9.eE]+)(\((-?\d+)\))?(/\S*)?$")


class UnsupportedRecordError(ValueError):
    """The header uses a feature this reader leaves to `wfdb` (not an error in the record)."""


@dataclass(frozen=True, slots=True)
class _Signal:
    file: str
    fmt: str
    offset: int
    gain: float
    baseline: int


def _header(path: Path) -> tuple[float, int | None, list[_Signal]]:
    lines = [
        ln.split("#", 1)[0].strip()
        for ln in path.read_text(encoding="latin-1").splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not lines:
        raise ValueError(f"{path}: empty header")
    record = lines[0].split()
    if "/" in record[0] or len(record) < 2:
        raise UnsupportedRecordError("multi-segment or signal-less record")
    n_sig = int(record[1])
    fs = float(record[2].split("/")[0].split("(")[0]) if len(record) > 2 else _DEFAULT_FS
    sig_len = int(record[3]) if len(record) > 3 else None
    signals: list[_Signal] = []
    for line in lines[1 : 1 + n_sig]:
        f = line.split()
        if len(f) < 2:
            raise ValueError(f"{path}: signal line {line!r} has no format")
        m = _FORMAT.match(f[1])
        if m is None or m.group(2) or m.group(3) or m.group(1) not in _MISSING:
            raise UnsupportedRecordError(f"signal format {f[1]}")
        gain, baseline_given = _DEFAULT_GAIN, None
        if len(f) > 2:
            g = _GAIN.match(f[2])
            if g is None:
                raise UnsupportedRecordError(f"gain field {f[2]}")
            gain = float(g.group(1)) or _DEFAULT_GAIN
            baseline_given = int(g.group(3)) if g.group(3) is not None else None
        adc_zero = int(f[4]) if len(f) > 4 else 0
        baseline = baseline_given if baseline_given is not None else adc_zero
        signals.append(_Signal(f[0], m.group(1), int(m.group(5) or 0), gain, baseline))
    if len(signals) != n_sig:
        raise ValueError(f"{path}: header announces {n_sig} signals, describes {len(signals)}")
    return fs, sig_len, signals


def _digital(raw: bytes, fmt: str, count: int) -> npt.NDArray[np.int64]:
    """The first `count` samples of a signal file's bytes."""
    if fmt == "16":
        need = 2 * count
        if len(raw) < need:
            raise ValueError(f"signal file holds {len(raw) // 2} samples, header says {count}")
        return np.frombuffer(raw, dtype="<i2", count=count).astype(np.int64)
    need = (3 * count + 1) // 2
    if len(raw) < need:
        raise ValueError(f"signal file holds {2 * len(raw) // 3} samples, header says {count}")
    b = np.frombuffer(raw, dtype=np.uint8, count=need).astype(np.int64)
    if b.size % 3:
        b = np.concatenate((b, np.zeros(3 - b.size % 3, dtype=np.int64)))
    b = b.reshape(-1, 3)
    out = np.empty(2 * b.shape[0], dtype=np.int64)
    out[0::2] = b[:, 0] | ((b[:, 1] & 0x0F) << 8)
    out[1::2] = b[:, 2] | ((b[:, 1] & 0xF0) << 4)
    out[out > 2047] -= 4096  # 12-bit two's complement
    return out[:count]


def read_light(record: str, channel: int = 0) -> tuple[FloatArray, float]:
    """Channel `channel` of WFDB record `record` (path without extension) in mV, and its
    sampling rate; `UnsupportedRecordError` for a header this reader leaves to `wfdb`."""
    head = Path(f"{record}.hea")
    fs, sig_len, signals = _header(head)
    if not 0 <= channel < len(signals):
        raise ValueError(f"{record}: no channel {channel} (the record has {len(signals)})")
    sig = signals[channel]
    in_file = [i for i, s in enumerate(signals) if s.file == sig.file]
    if any(signals[i].fmt != sig.fmt or signals[i].offset != sig.offset for i in in_file):
        raise UnsupportedRecordError("signals of one file in different formats")
    width = len(in_file)
    raw = (head.parent / sig.file).read_bytes()[sig.offset :]
    bytes_per = 2.0 if sig.fmt == "16" else 1.5
    frames = sig_len if sig_len else int(len(raw) / bytes_per) // width
    d = _digital(raw, sig.fmt, frames * width).reshape(frames, width)[:, in_file.index(channel)]
    p = d.astype(np.float64)
    np.subtract(p, sig.baseline, p)
    np.divide(p, sig.gain, p)
    p[d == _MISSING[sig.fmt]] = np.nan
    return p, fs


def read_signal(record: str, channel: int = 0) -> tuple[FloatArray, float]:
    """Channel `channel` of WFDB record `record` in mV and its sampling rate, the same samples
    as `wfdb.rdrecord(record, channels=[channel]).p_signal[:, 0]`."""
    try:
        return read_light(record, channel)
    except UnsupportedRecordError:
        import wfdb

        rec = wfdb.rdrecord(record, channels=[channel])
        return np.asarray(rec.p_signal[:, 0], dtype=np.float64), float(rec.fs)
