"""Readings in InfluxDB: line protocol writes in batches, InfluxQL reads for the history API.

Two write modes (see docs/storage.md):
- `v1`: `POST /write?db=&rp=&precision=ns` (InfluxDB 1.x; 2.x and 3.x serve it as the v1
  compatibility API). Basic auth with username/password, or a token (`Authorization: Token`).
- `v2`: `POST /api/v2/write` through `influxdb-client` with token auth, org and bucket
  (InfluxDB 2.x, Cloud, 3.x; also VictoriaMetrics and other line-protocol servers).
Reads always go through the v1-compatible `GET /query` (InfluxQL) at `query_url`, which 1.x, 2.x
(with a DBRP mapping of the bucket) and 3.x serve.

`write` is all-or-error: when a request fails it raises `StoreUnavailableError`, the ingest holds
the MQTT acks and retries the whole batch; re-written points overwrite themselves (idempotent).
Whether a reading is new cannot be asked of InfluxDB cheaply, so a bounded LRU of recently written
(device, seq) keys answers it; after a restart a redelivered reading counts as new once, which at
worst re-runs detection on it (the alert lifecycle de-duplicates the outcome).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import httpx

from devices.kinds import Kind
from devices.model import PatientKey, Reading
from gateway.storage.ecgbeats import Beat, BeatDeriver
from gateway.storage.history import (
    ECG_CHUNK_MARGIN,
    Bucket,
    EcgStrip,
    FieldStats,
    cut_strip,
    latest_per_kind,
    metric_names,
)
from gateway.storage.lineproto import (
    BEAT_MEASUREMENT,
    from_ns,
    line,
    merge_split_chunks,
    point_ns,
    reading_lines,
    row_to_reading,
)
from gateway.storage.readings import VITAL_KINDS, StoreUnavailableError

log = logging.getLogger(__name__)


class InfluxConfig(Protocol):
    """Where and how to reach InfluxDB: the service settings' `influx` section
    (`gateway.runtime.settings.InfluxSettings`, where each default is declared)."""

    @property
    def url(self) -> str: ...
    @property
    def mode(self) -> Literal["v1", "v2"]: ...
    @property
    def database(self) -> str: ...  # v1 database (v2: the DBRP-mapped name used by /query)
    @property
    def retention_policy(self) -> str: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def token(self) -> str | None: ...
    @property
    def org(self) -> str: ...
    @property
    def bucket(self) -> str: ...
    @property
    def query_url(self) -> str: ...  # "": the write url
    @property
    def batch_points(self) -> int: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def create_database(self) -> bool: ...  # v1: CREATE DATABASE on first write


def _q(v: str) -> str:
    """An InfluxQL string literal."""
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _rfc(ts: datetime) -> str:
    return _q(ts.isoformat().replace("+00:00", "Z"))


def _of(patient: PatientKey) -> str:
    """The InfluxQL condition for one patient: both tags, tenant and patient id."""
    return f'"tenant" = {_q(patient.tenant)} AND "patient" = {_q(patient.patient_id)}'


def _beat_line(b: Beat) -> str:
    tags = {"tenant": b.tenant, "patient": b.patient_id, "device": b.device_id}
    ns = point_ns(b.ts, 0)
    return line(BEAT_MEASUREMENT, tags, {"rr_ms": b.rr_ms, "hr": b.hr}, ns)


class InfluxReadingStore:
    """`ReadingStore` on InfluxDB (v1 or v2 write API, InfluxQL reads)."""

    def __init__(
        self, config: InfluxConfig, *, derive_beats: bool = True, recent_keys: int = 200_000
    ) -> None:
        self.config = config
        self.recent_keys = recent_keys
        headers = {}
        if config.token:
            headers["Authorization"] = f"Token {config.token}"
        auth = (
            httpx.BasicAuth(config.username, config.password or "")
            if config.username and not config.token
            else None
        )
        self._http = httpx.AsyncClient(
            timeout=config.timeout_s, headers=headers, auth=auth, trust_env=False
        )
        self._v2: Any = None
        self._db_ready = config.mode != "v1" or not config.create_database
        self._recent: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._beats = BeatDeriver() if derive_beats else None
        self._pending_beats: list[str] = []
        self._lock = asyncio.Lock()

    # -- writes ---------------------------------------------------------------------------
    async def write(self, readings: Sequence[Reading]) -> list[Reading]:
        unique: dict[tuple[str, int], Reading] = {}
        for r in readings:
            unique.setdefault(r.key, r)
        if not unique:
            return []
        async with self._lock:
            lines = [ln for r in unique.values() for ln in reading_lines(r)]
            if self._beats is not None:
                for r in unique.values():
                    self._pending_beats.extend(_beat_line(b) for b in self._beats.feed(r))
            lines.extend(self._pending_beats)
            step = max(1, self.config.batch_points)
            try:
                await self._ensure_database()
                for i in range(0, len(lines), step):
                    await self._send("\n".join(lines[i : i + step]))
            except StoreUnavailableError:
                raise
            except Exception as exc:
                raise StoreUnavailableError(f"InfluxDB write failed: {exc!r}") from exc
            self._pending_beats.clear()
            new = [r for k, r in unique.items() if k not in self._recent]
            for k in unique:
                self._recent[k] = None
                self._recent.move_to_end(k)
            while len(self._recent) > self.recent_keys:
                self._recent.popitem(last=False)
        return new

    async def _send(self, body: str) -> None:
        c = self.config
        if c.mode == "v2":
            await asyncio.to_thread(self._v2_write, body)
            return
        params = {"db": c.database, "precision": "ns"}
        if c.retention_policy:
            params["rp"] = c.retention_policy
        resp = await self._http.post(f"{c.url.rstrip('/')}/write", params=params, content=body)
        if resp.status_code not in (200, 204):
            raise StoreUnavailableError(
                f"InfluxDB /write: HTTP {resp.status_code} {resp.text[:300]}"
            )

    def _v2_write(self, body: str) -> None:
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        c = self.config
        if self._v2 is None:
            client = InfluxDBClient(
                url=c.url,
                token=c.token or "",
                org=c.org,
                timeout=int(c.timeout_s * 1000),
                retries=False,
            )
            self._v2 = (client, client.write_api(write_options=SYNCHRONOUS))
        self._v2[1].write(bucket=c.bucket, org=c.org, record=body, write_precision="ns")

    async def _ensure_database(self) -> None:
        if self._db_ready:
            return
        await self._influxql(f'CREATE DATABASE "{self.config.database}"', post=True)
        self._db_ready = True

    # -- reads ----------------------------------------------------------------------------
    async def _influxql(self, q: str, *, post: bool = False) -> list[dict[str, Any]]:
        """Run InfluxQL on the v1-compatible /query; return its series (name, columns, values)."""
        c = self.config
        url = f"{(c.query_url or c.url).rstrip('/')}/query"
        params = {"db": c.database, "q": q, "epoch": "ns"}
        if c.retention_policy:
            params["rp"] = c.retention_policy
        try:
            if post:
                resp = await self._http.post(url, params=params)
            else:
                resp = await self._http.get(url, params=params)
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(f"InfluxDB /query failed: {exc!r}") from exc
        if resp.status_code != 200:
            raise StoreUnavailableError(
                f"InfluxDB /query: HTTP {resp.status_code} {resp.text[:300]}"
            )
        series: list[dict[str, Any]] = []
        for result in resp.json().get("results", []):
            if "error" in result:
                if str(result["error"]).startswith("database not found"):
                    return []  # nothing written yet
                raise StoreUnavailableError(f"InfluxQL error: {result['error']}")
            series.extend(result.get("series", []))
        return series

    @staticmethod
    def _rows(series: dict[str, Any]) -> Iterable[dict[str, Any]]:
        cols = series["columns"]
        for values in series.get("values", []):
            yield dict(zip(cols, values, strict=True))

    async def _select(self, kinds: Iterable[Kind], where: str, tail: str) -> list[Reading]:
        frm = ",".join(f'"{k.value}"' for k in kinds)
        out: list[Reading] = []
        for s in await self._influxql(f"SELECT * FROM {frm} WHERE {where} {tail}"):
            out.extend(row_to_reading(s["name"], row) for row in self._rows(s))
        return out

    async def query(
        self,
        patient: PatientKey,
        kind: Kind | None,
        start: datetime,
        end: datetime,
        limit: int = 10000,
    ) -> list[Reading]:
        kinds = [kind] if kind is not None else list(Kind)
        where = f"{_of(patient)} AND time >= {_rfc(start)} AND time < {_rfc(end)}"
        rows = await self._select(kinds, where, f"ORDER BY time ASC LIMIT {int(limit)}")
        rows.sort(key=lambda r: (r.ts, r.seq))
        return merge_split_chunks(rows)[:limit]

    async def latest(
        self,
        patient: PatientKey,
        kinds: Iterable[Kind] = VITAL_KINDS,
        since: datetime | None = None,
    ) -> dict[Kind, Reading]:
        where = _of(patient)
        if since is not None:
            where += f" AND time >= {_rfc(since)}"
        return latest_per_kind(await self._select(kinds, where, "ORDER BY time DESC LIMIT 1"))

    async def aggregate(
        self, patient: PatientKey, kind: Kind, start: datetime, end: datetime, every: timedelta
    ) -> list[Bucket]:
        names = ("hr", "rr_ms") if kind is Kind.ECG else metric_names(kind)
        measurement = BEAT_MEASUREMENT if kind is Kind.ECG else kind.value
        if not names:
            return []
        us = max(1, every // timedelta(microseconds=1))
        sel = ", ".join(
            f'{fn}("{n}") AS "{n}__{fn}"' for n in names for fn in ("mean", "min", "max", "count")
        )
        # GROUP BY time aligns on the epoch; the offset aligns windows on `start` instead.
        offset = (start - from_ns(0)) // timedelta(microseconds=1) % us
        q = (
            f'SELECT {sel} FROM "{measurement}" WHERE {_of(patient)} '
            f"AND time >= {_rfc(start)} AND time < {_rfc(end)} "
            f"GROUP BY time({us}u, {offset}u) fill(none)"
        )
        out = []
        for s in await self._influxql(q):
            for row in self._rows(s):
                stats = {}
                for n in names:
                    if row.get(f"{n}__count"):
                        stats[n] = FieldStats(
                            float(row[f"{n}__mean"]),
                            float(row[f"{n}__min"]),
                            float(row[f"{n}__max"]),
                            int(row[f"{n}__count"]),
                        )
                if stats:
                    out.append(Bucket(from_ns(int(row["time"])), stats))
        return out

    async def ecg_strip(
        self, patient: PatientKey, start: datetime, end: datetime, device_id: str | None = None
    ) -> EcgStrip | None:
        where = (
            f"{_of(patient)} AND time >= {_rfc(start - ECG_CHUNK_MARGIN)} AND time < {_rfc(end)}"
        )
        if device_id is not None:
            where += f' AND "device" = {_q(device_id)}'
        rows = await self._select([Kind.ECG], where, "ORDER BY time ASC")
        return cut_strip(merge_split_chunks(rows), start, end, device_id)

    async def delete_before(self, kind: Kind, cutoff: datetime) -> int:
        """InfluxQL DELETE (1.x; 2.x/3.x manage retention per bucket instead: see docs)."""
        await self._influxql(f'DELETE FROM "{kind.value}" WHERE time < {_rfc(cutoff)}', post=True)
        if kind is Kind.ECG:
            await self._influxql(
                f'DELETE FROM "{BEAT_MEASUREMENT}" WHERE time < {_rfc(cutoff)}', post=True
            )
        return -1

    async def close(self) -> None:
        await self._http.aclose()
        if self._v2 is not None:
            client, api = self._v2
            self._v2 = None
            await asyncio.to_thread(api.close)
            await asyncio.to_thread(client.close)
