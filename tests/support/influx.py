"""InfluxDB 1.x (Debian `influxdb`) and VictoriaMetrics (InfluxDB v2 write API) on free ports.

Each server keeps its port and data directory across `restart`, so a test can take it away
mid-stream and bring it back with the data written so far.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.servers import free_port, stop_process

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"
VICTORIA = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=0.5, trust_env=False).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass
class _Server:
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready_path(self) -> str:
        return "/ping"

    def start(self) -> None:
        log = (self.workdir / "server.log").open("ab")
        self.proc = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait_http(self.url + self._ready_path(), self.proc)

    def stop(self) -> None:
        stop_process(self.proc, grace=15.0)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class InfluxD(_Server):
    """InfluxDB 1.x with a generated config: HTTP and RPC on free loopback ports, data in tmp."""

    rpc_port: int = field(default_factory=free_port)

    def _command(self) -> list[str]:
        conf = self.workdir / "influxdb.conf"
        d = self.workdir
        conf.write_text(
            "reporting-disabled = true\n"
            f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{d}/meta"\n'
            f'[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n'
            '  query-log-enabled = false\n  wal-fsync-delay = "0s"\n'
            '[coordinator]\n  log-queries-after = "0s"\n'
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
            "[subscriber]\n  enabled = false\n"
            "[continuous_queries]\n  enabled = false\n"
            '[logging]\n  level = "warn"\n'
        )
        return [INFLUXD, "-config", str(conf)]


@dataclass
class VictoriaMetrics(_Server):
    """VictoriaMetrics single-node: `/api/v2/write` (line protocol), `/api/v1/export` to read."""

    def _command(self) -> list[str]:
        return [
            VICTORIA,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.workdir / 'data'}",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-dedup.minScrapeInterval=1ms",
            "-loggerLevel=ERROR",
        ]

    def _ready_path(self) -> str:
        return "/health"


@contextmanager
def influxd_server(workdir: Path) -> Iterator[InfluxD]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = InfluxD(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def victoria_server(workdir: Path) -> Iterator[VictoriaMetrics]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = VictoriaMetrics(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
