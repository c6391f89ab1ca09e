from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.model import Priority
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import detector_settings


def test_production_refuses_placeholder_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HMG_API_SECRET", raising=False)
    with pytest.raises(ValidationError, match="HMG_API_SECRET"):
        Settings(mode="production")
    assert Settings(mode="production", api_secret="s3cr3t-value").mode == "production"


def test_environment_and_toml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "hmg.toml"
    cfg.write_text('mqtt_host = "broker.internal"\nbatch_max = 64\nmode = "demo"\n')
    monkeypatch.setenv("HMG_CONFIG", str(cfg))
    monkeypatch.setenv("HMG_BATCH_MAX", "128")
    monkeypatch.setenv("HMG_DETECTORS", '["bp"]')
    s = Settings()
    assert s.mqtt.host == "broker.internal"
    assert s.ingest.batch_max == 128  # the environment wins over the file
    assert s.detection.detectors == ["bp"]
    assert s.storage.db_url.endswith("hmg-data/hmg.db")


def test_unknown_setting_in_file_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cfg = tmp_path / "hmg.toml"
    cfg.write_text('mode = "demo"\nmqtt_hots = "typo"\n')
    monkeypatch.setenv("HMG_CONFIG", str(cfg))
    with pytest.raises(ValidationError, match="mqtt_hots"):
        Settings()


def test_detector_parameters_reach_the_detectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HMG_CV_WINDOW_S", "600")
    monkeypatch.setenv("HMG_CV_PRIORITIES", '{"cv.hypoglycaemia_with_tachycardia": "medium"}')
    ds = detector_settings(Settings(mode="test"))
    assert ds.cv_window == timedelta(minutes=10)
    assert ds.cv_priorities["cv.hypoglycaemia_with_tachycardia"] is Priority.MEDIUM
    assert ds.cv_priorities["cv.crisis_with_arrhythmia"] is Priority.HIGH
    with pytest.raises(ValidationError):
        Settings(mode="test", cv_priorities={"cv.crisis_with_arrhythmia": "urgent"})


def _prod(**kw: Any) -> Settings:
    return Settings(mode="production", api_secret="s3cr3t-value", **kw)


def test_production_takes_https_webhooks_and_asymmetric_idp_algorithms() -> None:
    with pytest.raises(ValidationError, match="https"):
        _prod(webhook_url="http://hooks.example.org/in", webhook_secret="hook-s3cret")
    assert _prod(webhook_url="https://hooks.example.org/in", webhook_secret="hook-s3cret")
    assert Settings(mode="test", webhook_url="http://127.0.0.1:9/in", webhook_secret="x-s3cret")
    issuer = "https://idp.test/realms/care"
    with pytest.raises(ValidationError, match="https"):
        _prod(oidc_issuer=issuer, oidc_jwks_url="http://idp.test/certs")
    for algs in (["none"], ["HS256"], ["RS256", "hs512"], []):
        with pytest.raises(ValidationError, match="asymmetric"):
            _prod(oidc_issuer=issuer, oidc_jwks_url="https://idp.test/certs", oidc_algorithms=algs)
    with pytest.raises(ValidationError, match="together"):
        _prod(oidc_jwks_url="https://idp.test/certs")


def test_sections_as_toml_tables_and_flat_names_are_one_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cfg = tmp_path / "hmg.toml"
    cfg.write_text('mode = "demo"\n[mqtt]\nhost = "broker.internal"\n[scale]\npartitions = 8\n')
    monkeypatch.setenv("HMG_CONFIG", str(cfg))
    monkeypatch.setenv("HMG_MQTT_PORT", "8883")
    s = Settings()
    assert (s.mqtt.host, s.mqtt.port, s.scale.partitions) == ("broker.internal", 8883, 8)
    link = s.mqtt.link(window=s.ingest.queue_max)
    assert (link.host, link.port, link.window) == ("broker.internal", 8883, 5000)
    assert Settings(mode="test", mqtt_keepalive=12).mqtt.keepalive == 12
