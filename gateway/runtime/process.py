"""Process-wide settings that only a process entry point (`hmg gateway`, `hmg demo`) applies.

Library code never changes the interpreter for everyone in the process: tests and embedders
that run a `Gateway` keep their own garbage-collector settings.
"""

from __future__ import annotations

import asyncio
import gc
import os

# Young-generation threshold of the cyclic garbage collector while serving. Ingest allocates a
# few dozen short-lived objects per message (payload dicts, readings, rows), so the default of 700
# runs a collection every few dozen messages; at 20,000 the gateway spent about 10 % less CPU per
# message in `make bench-ingest`, and memory stays bounded (collections still run, less often).
GC_GEN0_THRESHOLD = 20_000


def tune_gc() -> None:
    """Garbage-collector settings for a long-running service, applied once its start-up state is
    loaded: that state (registry, alert books, timers, modules) lives as long as the process, so
    it is frozen out of the collector's scans (after a last full collection, so no garbage is
    frozen with it), and young objects are collected less often."""
    gc.collect()
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(GC_GEN0_THRESHOLD, gen0), gen1, gen2)


def watch_slow_callbacks() -> None:
    """asyncio's slow-callback log for the running loop when `PYTHONASYNCIODEBUG` is set (uvicorn
    creates its loop with debug mode off whatever the environment says): every callback or task
    step that holds the loop longer than `HMG_SLOW_CALLBACK_MS` (default 100) is logged with its
    duration by the `asyncio` logger."""
    if not os.environ.get("PYTHONASYNCIODEBUG"):
        return
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = float(os.environ.get("HMG_SLOW_CALLBACK_MS", "100")) / 1000.0


def on_service_started() -> None:
    """What `hmg gateway` and `hmg demo` apply once the service has started."""
    tune_gc()
    watch_slow_callbacks()
