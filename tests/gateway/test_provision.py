from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from devices.registry import Device
from gateway.provision import acl_text, hash_password, provision, verify_password

T0 = datetime(2026, 11, 22, tzinfo=UTC)


def test_password_hash_is_mosquitto_pbkdf2_format() -> None:
    h = hash_password("s3cret", salt=b"0123456789ab")
    assert h.startswith("$7$101$")
    assert verify_password("s3cret", h)
    assert not verify_password("other", h)
    # A line made by `mosquitto_passwd -b` verifies too.
    made = (
        "$7$101$sf5+J0hrg8L+gPj3$r0oIvMQRNBmfi9aQVyOvmQ2jjvDGcgHkLmQIl6DXEJCZXRWzhOksTuMb1vO1vlT6t7"
        "E8DYZjGSzrAxd9rZmPBg=="
    )
    assert verify_password("s3cret", made)


def test_acl_limits_each_device_to_its_own_topic() -> None:
    text = acl_text([Device("cuff-1", "t1", "bp"), Device("kiosk-1", "t2", "kiosk", kiosk=True)])
    assert "user cuff-1\ntopic write hm/v1/t1/cuff-1/+\n" in text
    assert "user kiosk-1\ntopic write hm/v1/t2/kiosk-1/+\n" in text
    assert "topic read hm/v1/#" in text.split("user cuff-1")[0]  # only the gateway reads


def test_provision_is_idempotent_and_drops_retired(tmp_path: Path) -> None:
    devs = [Device("a", "t", "bp"), Device("b", "t", "bp")]
    first = provision(devs, tmp_path, now=T0)
    creds = json.loads(first.credentials_file.read_text())
    assert set(first.new_credentials) == {"hmg-gateway", "a", "b"}
    again = provision(devs, tmp_path, now=T0)
    assert again.new_credentials == ()
    assert json.loads(again.credentials_file.read_text()) == creds
    retired = [devs[0], Device("b", "t", "bp", retired_at=T0)]
    out = provision(retired, tmp_path, now=T0, rotate=["a"])
    after = json.loads(out.credentials_file.read_text())
    assert set(after) == {"hmg-gateway", "a"}
    assert after["a"] != creds["a"]
    users = [line.split(":")[0] for line in out.password_file.read_text().splitlines()]
    assert users == ["a", "hmg-gateway"]
    assert "user b" not in out.acl_file.read_text()
