"""The runnable examples in the detector docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "alerts.detectors.bp_trend",
    "alerts.detectors.glucose",
    "alerts.detectors.glucose_forecast",
    "alerts.targets",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
