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

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from devices.model import utcnow
from gateway.pipeline import LOCAL_STREAM, Pipeline
from gateway.snapshot import DetectorState, SnapshotError, seal, unseal
from gateway.storage import Stores
from gateway.storage.readings import PositionedStore

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "detectors.snapshot"
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
        done = await self.stores.progress.get(LOCAL_STREAM)
        loaded = self._load()
        if loaded is None:
            if done == 0:  # never recorded: everything stored so far predates this mechanism
                done = await self.readings.top()
                await self.stores.progress.advance(LOCAL_STREAM, done, self.clock())
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
        log.info(
            "detection resumed from %d: %d readings rebuilt state, %d analysed (snapshot: %s)",
            start,
            rebuilt,
            analysed,
            "yes" if loaded else "no",
        )
        return Resumed(start, rebuilt, analysed, loaded is not None)

    async def snapshot(self) -> None:
        """Write the detectors' state with the progress it matches (atomically, owner-only)."""
        async with self.pipeline.detecting:
            if not self.pipeline.consistent:
                log.warning("detector snapshot skipped: a batch's alerts could not be stored")
                return
            position = self.pipeline.position or self.position
            state = DetectorState.capture(self.pipeline.engine, self.pipeline.desk)
            blob = seal(state, 0, position, self.key, self.clock())
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)
