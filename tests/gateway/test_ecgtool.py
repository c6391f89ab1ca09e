"""`hmg ecg analyze` over many records: a folder or several paths, one JSON line per record."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.ecgtool import list_records, run

REPO = Path(__file__).resolve().parents[2]
CINC = ("A00001", "A00005", "A08050")  # normal, AF, the shortest (9 s)


def _link_records(data_dir: Path, folder: Path, names: tuple[str, ...] = CINC) -> Path:
    """A folder of CinC 2017 records: links to the shared data (nothing copied)."""
    folder.mkdir()
    for name in names:
        for ext in (".hea", ".mat"):
            (folder / f"{name}{ext}").symlink_to(data_dir / "ecg" / "cinc2017" / f"{name}{ext}")
    return folder


def _run(paths: list[str], jobs: int = 1) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(paths, jobs=jobs, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _one_by_one(folder: Path, names: tuple[str, ...]) -> list[dict[str, Any]]:
    results = []
    for name in names:
        code, out, _ = _run([str(folder / name)])
        assert code == 0
        results.append({"record": name, **json.loads(out)})
    return results


def test_one_record_prints_one_object_with_the_contract_fields(data_dir: Path) -> None:
    code, out, err = _run([str(data_dir / "ecg" / "cinc2017" / "A00001")])
    assert code == 0
    assert err == ""
    assert out.count("\n") == 1
    result = json.loads(out)
    assert set(result) == {"fs", "beats", "episodes", "labels"}
    assert result["fs"] == 300.0
    assert len(result["beats"]) == len(result["labels"]) > 20


@pytest.mark.parametrize("jobs", [1, 2])
def test_folder_gives_one_line_per_record_as_one_by_one(
    data_dir: Path, tmp_path: Path, jobs: int
) -> None:
    folder = _link_records(data_dir, tmp_path / "records")
    code, out, err = _run([str(folder)], jobs=jobs)
    assert code == 0
    assert err == ""
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["record"] for line in lines] == sorted(CINC)
    assert lines == _one_by_one(folder, tuple(sorted(CINC)))


def test_paths_keep_their_order_and_hea_suffix_is_accepted(data_dir: Path) -> None:
    cinc = data_dir / "ecg" / "cinc2017"
    code, out, _ = _run([str(cinc / "A08050.hea"), str(cinc / "A00001")])
    assert code == 0
    assert [json.loads(line)["record"] for line in out.splitlines()] == ["A08050", "A00001"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_bad_record_gets_an_error_line_and_the_others_are_analysed(
    data_dir: Path, tmp_path: Path, jobs: int
) -> None:
    folder = _link_records(data_dir, tmp_path / "records", ("A00001", "A08050"))
    # A header whose signal file is cut short, and one naming a format no reader knows.
    (folder / "A00002.hea").write_text("A00002 1 300 9000\nA00002.mat 16+24 1000/mV 16 0 0 0 0 I\n")
    (folder / "A00002.mat").write_bytes(b"\x00" * 40)
    (folder / "A00003.hea").write_text("A00003 1 300 10\nA00003.dat 999 200 16 0 0 0 0 I\n")
    code, out, err = _run([str(folder)], jobs=jobs)
    assert code == 1
    lines = {line["record"]: line for line in map(json.loads, out.splitlines())}
    assert list(lines) == ["A00001", "A00002", "A00003", "A08050"]
    assert set(lines["A00002"]) == {"record", "error"}
    assert lines["A00002"]["error"]
    assert set(lines["A00003"]) == {"record", "error"}
    assert lines["A00003"]["error"]
    good = _one_by_one(folder, ("A00001", "A08050"))
    assert [lines["A00001"], lines["A08050"]] == good
    assert "2 of 4 records failed" in err
    assert "A00002" in err
    assert "A00003" in err


def test_one_missing_record_is_a_clear_error(tmp_path: Path) -> None:
    code, out, err = _run([str(tmp_path / "nothing")])
    assert code == 1
    assert out == ""
    assert "nothing" in err
    assert "Traceback" not in err


def test_folder_without_records_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no records here")
    code, out, err = _run([str(tmp_path)])
    assert code == 2
    assert out == ""
    assert "no WFDB records" in err
    with pytest.raises(ValueError, match="no WFDB records"):
        list_records([str(tmp_path)])


def test_jobs_must_be_positive(data_dir: Path) -> None:
    code, out, err = _run([str(data_dir / "ecg" / "cinc2017" / "A00001")], jobs=0)
    assert code == 2
    assert out == ""
    assert "--jobs" in err


def test_command_line_runs_a_folder_with_a_pool(data_dir: Path, tmp_path: Path) -> None:
    folder = _link_records(data_dir, tmp_path / "records")
    proc = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "ecg", "analyze", str(folder), "--jobs", "2"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines == _one_by_one(folder, tuple(sorted(CINC)))
