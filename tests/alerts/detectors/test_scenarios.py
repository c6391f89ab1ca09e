"""The labelled scenario suite replays without misses or false alarms (`make eval-vitals`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.eval_vitals import FIXTURES, score_scenario

SCENARIOS = sorted(FIXTURES.glob("*.expected.json"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name.split(".")[0] for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    result = score_scenario(path)
    assert result["missed"] == []
    assert result["false"] == []


def test_suite_covers_every_clinical_code() -> None:
    import json

    codes = {e["code"] for p in SCENARIOS for e in json.loads(p.read_text())["expected"]}
    assert codes >= {
        "bp.hypertensive_crisis",
        "bp.hypotension",
        "bp.uncontrolled",
        "glucose.urgent_low",
        "glucose.low",
        "glucose.high",
        "glucose.predicted_low",
        "cv.crisis_with_arrhythmia",
        "cv.hypoglycaemia_with_tachycardia",
    }
