"""The light WFDB reader gives wfdb's samples bit for bit, and hands other formats to wfdb."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from gateway.ecgrecord import UnsupportedRecordError, read_light, read_signal

RECORDS = [
    ("mitdb", "100", 0),  # format 212, two signals in one file
    ("mitdb", "100", 1),
    ("mitdb", "207", 1),
    ("nstdb", "118e06", 1),  # format 16, baseline in the gain field
    ("svdb", "800", 1),  # 212 at 128 Hz
    ("cinc2017", "A00001", 0),  # format 16 with a byte offset (.mat)
    ("cinc2017", "A08050", 0),
]


@pytest.mark.parametrize(("db", "name", "channel"), RECORDS)
def test_light_reader_equals_wfdb(data_dir: Path, db: str, name: str, channel: int) -> None:
    path = str(data_dir / "ecg" / db / name)
    ref = wfdb.rdrecord(path, channels=[channel])
    x, fs = read_light(path, channel)
    assert fs == float(ref.fs)
    assert x.dtype == ref.p_signal.dtype
    assert np.array_equal(x, ref.p_signal[:, 0], equal_nan=True)


def test_missing_samples_become_nan(tmp_path: Path) -> None:
    d = np.array([[0], [-32768], [500]], dtype=np.int16)
    (tmp_path / "r.dat").write_bytes(d.tobytes())
    (tmp_path / "r.hea").write_text("r 1 250 3\nr.dat 16 100(10)/mV 16 0 0 0 0 I\n")
    x, fs = read_light(str(tmp_path / "r"))
    assert fs == 250.0
    assert x[0] == -0.1
    assert np.isnan(x[1])
    assert x[2] == 4.9


def test_other_formats_go_to_wfdb(tmp_path: Path) -> None:
    sig = np.sin(np.arange(500) / 10.0)[:, None]
    wfdb.wrsamp(
        "r", fs=200, units=["mV"], sig_name=["I"], p_signal=sig, fmt=["24"], write_dir=str(tmp_path)
    )
    path = str(tmp_path / "r")
    with pytest.raises(UnsupportedRecordError):
        read_light(path)
    x, fs = read_signal(path)
    assert fs == 200.0
    assert np.array_equal(x, wfdb.rdrecord(path).p_signal[:, 0])


def test_short_signal_file_and_missing_channel_are_errors(tmp_path: Path) -> None:
    (tmp_path / "r.dat").write_bytes(b"\x00" * 10)
    (tmp_path / "r.hea").write_text("r 1 250 100\nr.dat 16 200 16 0 0 0 0 I\n")
    with pytest.raises(ValueError, match="holds 5 samples, header says 100"):
        read_signal(str(tmp_path / "r"))
    with pytest.raises(ValueError, match="no channel 1"):
        read_signal(str(tmp_path / "r"), 1)
    with pytest.raises(FileNotFoundError):
        read_signal(str(tmp_path / "nothing"))
