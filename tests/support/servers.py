"""Real servers for integration tests, each started on a free port in a temporary directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout} s")


def stop_process(proc: subprocess.Popen[bytes] | None, grace: float = 10.0) -> None:
    """Terminate a server process, killing it if it does not exit within `grace` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class Mosquitto:
    """A mosquitto process; `restart` keeps its port and persistence file."""

    port: int
    workdir: Path
    extra_config: str = ""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.workdir / "mosquitto.conf"

    def start(self) -> None:
        self.config_path.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "autosave_interval 1\n"
            "max_inflight_messages 1000\n"
            "max_queued_messages 0\n"
            "max_queued_bytes 0\n"
            f"log_dest file {self.workdir}/mosquitto.log\n"
            # Started as root, Mosquitto switches to the `mosquitto` user, which cannot write
            # the persistence file into a private temporary directory: stay root instead.
            + ("user root\n" if os.geteuid() == 0 else "")
            + (self.extra_config or "allow_anonymous true\n")
        )
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def mosquitto_server(workdir: Path, extra_config: str = "") -> Iterator[Mosquitto]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = Mosquitto(free_port(), workdir, extra_config)
    server.start()
    try:
        yield server
    finally:
        server.stop()
