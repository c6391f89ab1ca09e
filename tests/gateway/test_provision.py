from __future__ import annotations

import grp
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.registry import Device
from gateway.provision import (
    ReservedNameError,
    acl_text,
    hash_password,
    provision,
    read_password_file,
    verify_password,
)
from gateway.reserved import reserved_name

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
    assert set(first.new_credentials) == {"hmg-gateway", "a", "b"}
    hashes = read_password_file(first.password_file)
    for user, password in first.new_credentials.items():
        assert verify_password(password, hashes[user])
    # No plaintext anywhere: the directory holds the broker's hashes and the ACL only.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acl", "passwd"]
    assert all(pw not in first.password_file.read_text() for pw in first.new_credentials.values())
    again = provision(devs, tmp_path, now=T0)
    assert dict(again.new_credentials) == {}
    assert read_password_file(again.password_file) == hashes
    retired = [devs[0], Device("b", "t", "bp", retired_at=T0)]
    out = provision(retired, tmp_path, now=T0, rotate=["a"])
    assert set(out.new_credentials) == {"a"}
    after = read_password_file(out.password_file)
    assert set(after) == {"hmg-gateway", "a"}
    assert after["a"] != hashes["a"]
    assert verify_password(out.new_credentials["a"], after["a"])
    assert "user b" not in out.acl_file.read_text()


def test_a_configured_gateway_password_is_hashed_not_printed(tmp_path: Path) -> None:
    out = provision([Device("a", "t", "bp")], tmp_path, gateway_password="gw-pass-123456", now=T0)
    assert set(out.new_credentials) == {"a"}
    assert verify_password("gw-pass-123456", read_password_file(out.password_file)["hmg-gateway"])


def test_plaintext_credentials_of_older_versions_are_hashed_and_removed(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text(json.dumps({"a": "old-secret-a"}))
    out = provision([Device("a", "t", "bp")], tmp_path, now=T0)
    assert "a" not in out.new_credentials
    assert verify_password("old-secret-a", read_password_file(out.password_file)["a"])
    assert not (tmp_path / "credentials.json").exists()


@pytest.mark.parametrize("name", ["hmg-gateway", "HMG-Gateway", "hmg-demo-simulator", "hmg-x"])
def test_reserved_device_names_are_refused(tmp_path: Path, name: str) -> None:
    assert reserved_name(name)
    with pytest.raises(ReservedNameError):
        provision([Device("a", "t", "bp"), Device(name, "t", "bp")], tmp_path, now=T0)
    assert not (tmp_path / "passwd").exists()
    assert not reserved_name("cuff-hmg-1")


def test_files_readable_by_the_broker_group(tmp_path: Path) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    out = provision([Device("a", "t", "bp")], tmp_path, now=T0, broker_group=group)
    for path in (out.password_file, out.acl_file):
        st = path.stat()
        assert (st.st_mode & 0o777, st.st_gid) == (0o640, os.getgid())
    out = provision([Device("a", "t", "bp")], tmp_path, now=T0)
    assert out.password_file.stat().st_mode & 0o777 == 0o600


def test_hmg_devices_goes_through_the_audited_admin_actions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from gateway.cli import main
    from gateway.runtime.settings import Settings
    from gateway.storage import Database, Patient, Stores

    monkeypatch.setenv("HMG_MODE", "test")
    monkeypatch.setenv("HMG_DATA_DIR", str(tmp_path))

    async def admit(patient_id: str) -> None:
        db = Database(Settings().storage.db_url)
        try:
            await db.create_schema()
            await Stores.of(db).patients.save_patient(Patient(patient_id, "t1", T0))
        finally:
            await db.dispose()

    orphan = ["devices", "register", "cuff-6", "--tenant", "t1", "--kind", "bp", "--patient", "p-1"]
    assert main(orphan) == 1  # a device is bound only to a patient that exists
    assert "no patient" in capsys.readouterr().out
    asyncio.run(admit("p-1"))
    argv = ["devices", "register", "cuff-7", "--tenant", "t1", "--kind", "bp", "--patient", "p-1"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["bindings"][0]["patient_id"] == "p-1"
    assert main(argv) == 1
    assert "already registered" in capsys.readouterr().out
    assert main(["devices", "register", "hmg-gw2", "--tenant", "t1", "--kind", "bp"]) == 1
    assert main(["devices", "retire", "cuff-7"]) == 0
    assert main(["devices", "retire", "cuff-9"]) == 1

    async def trail() -> list[tuple[str, str | None]]:
        db = Database(Settings().storage.db_url)
        try:
            return [(e.action, e.actor) for e in await Stores.of(db).audit.entries()]
        finally:
            await db.dispose()

    actions = asyncio.run(trail())
    assert [a for a, _ in actions] == ["register", "retire"]
    assert all(who is not None and who.startswith("cli:") for _, who in actions)
