"""Detection that survives a restart of the single gateway.

The gateway acknowledges a batch to the broker once it is stored, and runs detection just
after. Two things can be lost when the process dies:

- stored readings whose detection had not run (their alerts would never be raised), and
- the detectors' state (a BP repeat window, a CGM trend, an AF episode in progress).

The readings table is its own journal: row ids number readings in the order they were stored.
Detection stores each batch's alert events together with the batch's last row id (the `local`
progress, one transaction), and a signed snapshot of the detectors' state is written every
`snapshot_interval_s` and at shutdown with the row id it covers. At start `resume` restores the
snapshot and reads the readings stored after it: those up to the stored progress only rebuild
detector state (their alerts are stored), the later ones go through detection and the desk like
new readings. Alert ids are derived from the triggering reading, so nothing is raised twice.

Without a snapshot (first start, another snapshot version) detection resumes at the stored
progress with fresh detectors. A readings store without row positions (InfluxDB) has no
journal: there detection starts fresh at every start, as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from devices.model import utcnow
from gateway.flow.pipeline import LOCAL_STREAM, Pipeline
from gateway.snapshot import DetectorState, SnapshotError, seal, unseal
from gateway.storage import Stores
from gateway.storage.readings import PositionedStore

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "detectors.snapshot"
# The snapshot writer runs at this much lower priority than the gateway.
CHILD_NICENESS = 10
BLOCK = 1000


@dataclass(frozen=True, slots=True)
class Resumed:
    """What `resume` did: readings replayed for state only, and readings analysed."""

    from_position: int
    rebuilt: int
    analysed: int
    snapshot: bool


class Recovery:
    def __init__(
        self,
        pipeline: Pipeline,
        readings: PositionedStore,
        stores: Stores,
        path: Path,
        key: bytes,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.pipeline = pipeline
        self.readings = readings
        self.stores = stores
        self.path = path
        self.key = key
        self.clock = clock
        self.position = 0  # the stored progress the detectors' state matches

    def _load(self) -> tuple[DetectorState, int] | None:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            snap = unseal(blob, self.key)
        except SnapshotError:
            log.exception("detector snapshot %s refused; detectors warm up again", self.path)
            return None
        if snap is None or not isinstance(snap.state, DetectorState):
            return None
        return snap.state, snap.seq

    async def resume(self) -> Resumed:
        """Restore the snapshot and run detection over what was stored after it (see module)."""
        found = await self.stores.progress.find(LOCAL_STREAM)
        loaded = self._load()
        if found is None:  # never recorded: everything stored so far predates this mechanism
            done = 0 if loaded is not None else await self.readings.top()
            await self.stores.progress.advance(LOCAL_STREAM, done, self.clock())
        else:
            done = found
        if loaded is None:
            start = done
        else:
            state, start = loaded
            state.restore(self.pipeline.engine, self.pipeline.desk)
        engine, rebuilt, analysed, pos = self.pipeline.engine, 0, 0, start
        while batch := await self.readings.stored_after(pos, BLOCK):
            for _, r in (b for b in batch if b[0] <= done):
                engine.process(r)  # its alerts are stored: rebuild state only
                rebuilt += 1
            fresh = [(i, r) for i, r in batch if i > done]
            if fresh:
                async with self.pipeline.detecting:
                    result = self.pipeline.detect([r for _, r in fresh])
                    progress = (LOCAL_STREAM, fresh[-1][0])
                    if not await self.pipeline.record(result, "gateway", progress):
                        raise RuntimeError("could not store the alerts of recovered readings")
                analysed += len(fresh)
            pos = batch[-1][0]
        self.position = max(pos, done)
        self.readings.position = max(self.readings.position, self.position)
        log.info(
            "detection resumed from %d: %d readings rebuilt state, %d analysed (snapshot: %s)",
            start,
            rebuilt,
            analysed,
            "yes" if loaded else "no",
        )
        return Resumed(start, rebuilt, analysed, loaded is not None)

    async def snapshot(self) -> None:
        """Write the detectors' state with the progress it matches (atomically, owner-only).

        Serialising the state of every patient's detectors takes long enough (hundreds of ms
        for a thousand patients) to hold up every alert if the event loop did it. So, where the
        platform can, a child process is forked while detection is held: it holds a frozen
        copy of the state (copy-on-write), seals and writes it, and exits, while this process
        goes on detecting at once. Elsewhere the state is sealed here."""
        async with self.pipeline.detecting:
            if not self.pipeline.consistent:
                log.warning("detector snapshot skipped: a batch's alerts could not be stored")
                return
            position = self.pipeline.position or self.position
            await self.pipeline.save_progress()
            state = DetectorState.capture(self.pipeline.engine, self.pipeline.desk)
            now = self.clock()
            child = _fork_writer(state, position, self.key, now, self.path)
            if child is None:
                blob = seal(state, 0, position, self.key, now)
        if child is None:
            write_atomically(self.path, blob)
            return
        _, status = await asyncio.to_thread(os.waitpid, child, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"the snapshot writer exited with {status}")


def write_atomically(path: Path, blob: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(blob)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def _fork_writer(
    state: DetectorState, position: int, key: bytes, now: datetime, path: Path
) -> int | None:
    """Fork a child that seals `state` and writes it to `path`; its pid (None: no fork here)."""
    if not hasattr(os, "fork"):
        return None
    with warnings.catch_warnings():  # the child runs no thread and no event loop: it only writes
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.set_wakeup_fd(-1)  # the parent's event loop must not hear the child's signals
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        os.nice(CHILD_NICENESS)  # the gateway keeps the CPU it needs for alerts
        write_atomically(path, seal(state, 0, position, key, now))
        code = 0
    finally:
        os._exit(code)
