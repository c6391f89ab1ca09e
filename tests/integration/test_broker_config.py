"""The shipped `deploy/mosquitto.conf` on a real Mosquitto, with files from `hmg provision`.

Started as root (as a system service is), Mosquitto drops to the `mosquitto` user before it reads
the password file and the ACL: provisioning makes them root:mosquitto 0640, and the broker must
then accept the gateway and the devices. A device that sends the gateway's client id must not
take the gateway's session (`use_username_as_clientid`), and the gateway's TLS connection checks
the broker's certificate and host name.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.registry import Device
from gateway.link.messages import Connected, Deliveries, Disconnected, LinkConfig, LinkEvent
from gateway.link.mqtt_link import MqttLink, tls_context
from gateway.provision import default_broker_group, provision
from gateway.reserved import GATEWAY_USER
from tests.support.servers import MOSQUITTO, free_port, stop_process, wait_port
from tests.support.tls import TlsFiles, make_certs

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
GW_PASSWORD = "gw-pass-123456-abc"


@dataclass
class Broker:
    plain_port: int
    tls_port: int
    tls: TlsFiles
    creds: dict[str, str]
    workdir: Path


def _shipped_config(work: Path, plain: int, tls: int) -> str:
    text = (REPO / "deploy" / "mosquitto.conf").read_text()
    replacements = {
        "/etc/mosquitto/hmg/": f"{work}/hmg/",
        "/etc/mosquitto/certs/": f"{work}/certs/",
        "listener 8883\n": f"listener {tls}\n",
        "listener 1883 127.0.0.1\n": f"listener {plain} 127.0.0.1\n",
        "persistence_location /var/lib/mosquitto/": f"persistence_location {work}/state/",
        "log_dest syslog": f"log_dest file {work}/state/mosquitto.log",
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/mosquitto.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture
def broker() -> Iterator[Broker]:
    # Outside pytest's private (0700) temporary tree: the unprivileged broker must reach it.
    work = Path(tempfile.mkdtemp(prefix="hmg-broker-", dir="/tmp"))
    group = default_broker_group()
    try:
        work.chmod(0o755)
        devices = [Device("dev-a", "t1", "bp")]
        out = provision(
            devices,
            work / "hmg",
            gateway_password=GW_PASSWORD,
            broker_group=group,
        )
        certs = make_certs(work / "certs")
        (work / "state").mkdir()
        if group is not None:
            gid = grp.getgrnam(group).gr_gid
            for path in (work / "hmg", work / "certs", certs.key):
                os.chown(path, 0, gid)
            (work / "hmg").chmod(0o750)
            certs.key.chmod(0o640)
            os.chown(work / "state", pwd.getpwnam("mosquitto").pw_uid, gid)
        plain, tls = free_port(), free_port()
        conf = work / "mosquitto.conf"
        conf.write_text(_shipped_config(work, plain, tls))
        proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_port(plain)
            wait_port(tls)
            creds = {**out.new_credentials, GATEWAY_USER: GW_PASSWORD}
            yield Broker(plain, tls, certs, creds, work)
        finally:
            stop_process(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)


E = TypeVar("E", bound=LinkEvent)


class Frames:
    """What an in-process gateway link sends to its gateway."""

    def __init__(self) -> None:
        self.items: list[LinkEvent] = []
        self.cond = threading.Condition()

    def __call__(self, event: LinkEvent) -> None:
        with self.cond:
            self.items.append(event)
            self.cond.notify_all()

    def wait_for(self, kind: type[E], timeout: float = 10.0) -> E | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = next((f for f in self.items if isinstance(f, kind)), None)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    return found
                self.cond.wait(left)


def gateway_link(broker: Broker) -> tuple[MqttLink, Frames]:
    frames = Frames()
    cfg = LinkConfig(
        host="127.0.0.1",
        port=broker.tls_port,
        client_id=GATEWAY_USER,
        username=GATEWAY_USER,
        password=GW_PASSWORD,
        tls_ca_file=str(broker.tls.ca),
        linger_s=0,
    )
    link = MqttLink(cfg, frames)
    link.start()
    return link, frames


def device(broker: Broker, client_id: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    c.username_pw_set("dev-a", broker.creds["dev-a"])
    c.tls_set(ca_certs=str(broker.tls.ca))
    connected = threading.Event()
    c.on_connect = lambda *_a: connected.set()
    c.connect("127.0.0.1", broker.tls_port)
    c.loop_start()
    assert connected.wait(10), "the device could not connect"
    return c


def test_a_device_cannot_take_the_gateway_client_id(broker: Broker) -> None:
    link, frames = gateway_link(broker)
    try:
        assert frames.wait_for(Connected) is not None, "gateway did not connect over TLS"
        intruder = device(broker, client_id=GATEWAY_USER)  # tries to take the gateway's id
        try:
            intruder.publish("hm/v1/t1/dev-a/bp", b"reading", qos=1).wait_for_publish(5)
            msgs = frames.wait_for(Deliveries)
            assert msgs is not None
            assert [(t, p) for t, p, *_ in msgs.messages()] == [("hm/v1/t1/dev-a/bp", b"reading")]
            time.sleep(0.5)
            assert frames.wait_for(Disconnected, timeout=0) is None, "the gateway was kicked off"
        finally:
            intruder.disconnect()
            intruder.loop_stop()
    finally:
        link.stop()


def test_the_gateway_checks_the_broker_host_name(broker: Broker) -> None:
    """The link's TLS context: the certificate names 127.0.0.1 only, so by another name (or with
    another CA) the broker is refused."""
    cfg = LinkConfig(host="127.0.0.1", port=broker.tls_port, tls_ca_file=str(broker.tls.ca))
    ctx = tls_context(cfg)
    with (
        socket.create_connection(("127.0.0.1", broker.tls_port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as ok,
    ):
        assert ok.version() in {"TLSv1.2", "TLSv1.3"}
    with (
        socket.create_connection(("127.0.0.1", broker.tls_port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError, match="mismatch"),
    ):
        ctx.wrap_socket(raw, server_hostname="localhost")
    other = make_certs(broker.workdir / "other-ca")
    strange = tls_context(LinkConfig(host="x", port=1, tls_ca_file=str(other.ca)))
    with (
        socket.create_connection(("127.0.0.1", broker.tls_port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        strange.wrap_socket(raw, server_hostname="127.0.0.1")


def test_provisioned_files_are_owned_for_the_unprivileged_broker(broker: Broker) -> None:
    """Mosquitto started as root drops to the `mosquitto` user; the suite runs as root (as
    `make test` does for its system packages) so that the drop really happens here."""
    assert os.geteuid() == 0, "run the suite as root: the broker's privilege drop is tested"
    for name in ("passwd", "acl"):
        st = (broker.workdir / "hmg" / name).stat()
        assert (st.st_uid, grp.getgrgid(st.st_gid).gr_name, st.st_mode & 0o777) == (
            0,
            "mosquitto",
            0o640,
        )
    # The broker runs as `mosquitto` and still authenticates from those files (the fixture's
    # gateway and device connect in the other tests); anonymous clients are refused here.
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="anon")
    refused = threading.Event()
    c.on_connect = lambda _c, _u, _f, rc, _p: refused.set() if rc.is_failure else None
    c.connect("127.0.0.1", broker.plain_port)
    c.loop_start()
    try:
        assert refused.wait(5)
    finally:
        c.loop_stop()
    out = subprocess.run(
        ["ps", "-o", "user=", "-C", "mosquitto"], check=False, capture_output=True, text=True
    )
    assert "mosquitto" in out.stdout.split()
