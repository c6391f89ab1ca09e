"""Process-wide settings that the entry points apply once the service has started."""

from __future__ import annotations

import gc
import sys

from gateway.runtime.process import GC_GEN0_THRESHOLD, tune_gc


def _collect_earlier_garbage() -> None:
    """What earlier tests left for the collector is collected before this test measures it
    (their finalizers' complaints belong to them, not to `tune_gc`)."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _unraisable: None
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook


def test_tune_gc_freezes_start_up_state_and_collects_young_objects_less_often() -> None:
    _collect_earlier_garbage()
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        tune_gc()
        assert gc.get_threshold() == (GC_GEN0_THRESHOLD, 10, 10)
        assert gc.get_freeze_count() > 0
        gc.set_threshold(50_000, 10, 10)
        tune_gc()  # never lowers a threshold an operator raised further
        assert gc.get_threshold()[0] == 50_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
