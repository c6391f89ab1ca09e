"""Service settings: `HMG_*` environment variables, optionally a TOML file (`HMG_CONFIG`).

Settings come in sections (`settings.mqtt`, `settings.storage`, ...), each a small model that
declares its defaults once. Outside, every setting keeps its flat name: `HMG_MQTT_HOST` in the
environment, `mqtt_host = ...` in the file or as a keyword, is `settings.mqtt.host` (a section's
flat names are its `PREFIX` and the field's name). A file may also use the sections as tables.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from alerts.detectors.base import DetectorSettings
from gateway.link.messages import LinkConfig

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "password"})


def _https(url: str | None) -> bool:
    """True when `url` is unset or uses https."""
    return not url or url.lower().startswith("https://")


class Section(BaseModel):
    """A group of settings; `PREFIX` + field name is each one's flat (environment) name."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    PREFIX: ClassVar[str] = ""


class StorageSettings(Section):
    data_dir: Path = Path("hmg-data")
    database_url: str = ""  # default: sqlite+aiosqlite:///{data_dir}/hmg.db
    readings_backend: Literal["sql", "influx"] = "sql"
    # Data lifecycle: readings older than N days are deleted by the retention job (0 keeps them).
    retention_ecg_days: float = Field(default=30.0, ge=0)  # raw ECG chunks and derived beats
    retention_vitals_days: float = Field(default=3650.0, ge=0)  # bp, glucose, hr, spo2, weight
    retention_status_days: float = Field(default=90.0, ge=0)  # device status readings
    retention_deadletter_days: float = Field(default=30.0, ge=0)
    retention_interval_s: float = Field(default=3600.0, ge=0)  # 0: the job does not run

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'hmg.db'}"


class InfluxSettings(Section):
    """The InfluxDB readings backend (docs/storage.md): `v1` writes /write (InfluxDB 1.x, or
    2.x/3.x v1 compatibility), `v2` writes /api/v2/write with a token; reads use InfluxQL."""

    PREFIX: ClassVar[str] = "influx_"
    mode: Literal["v1", "v2"] = "v1"
    url: str = "http://127.0.0.1:8086"
    query_url: str = ""  # v1-compatible /query endpoint; default: url
    database: str = "hmg"
    retention_policy: str = ""
    username: str | None = None
    password: str | None = None
    token: str | None = None
    org: str = "hmg"
    bucket: str = "hmg"
    batch_points: int = Field(default=5000, ge=1)
    timeout_s: float = Field(default=10.0, gt=0)
    create_database: bool = True
    derive_beats: bool = True  # store the `ecg_beat` series (RR, heart rate) from ECG


# The link's own defaults (`gateway.link.messages.LinkConfig`), declared there once.
_LINK: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(LinkConfig)}


class MqttSettings(Section):
    """The gateway's own broker connection (the MQTT link's config). TLS is on when a CA file
    is given (or `tls`); the broker's certificate and host name are always checked."""

    PREFIX: ClassVar[str] = "mqtt_"
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str = _LINK["client_id"]
    protocol: Literal["3.1.1", "5"] = _LINK["protocol"]
    subscription: str = _LINK["subscription"]
    keepalive: int = _LINK["keepalive"]
    tls: bool = False
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None  # client certificate (mutual TLS), with its key
    tls_key_file: Path | None = None

    def link(self, window: int) -> LinkConfig:
        """The link process's config; `window` messages may be out with the gateway."""
        return LinkConfig(
            self.host,
            self.port,
            self.client_id,
            self.subscription,
            self.username,
            self.password,
            self.protocol,
            self.keepalive,
            window,
            tls=self.tls,
            tls_ca_file=str(self.tls_ca_file) if self.tls_ca_file else None,
            tls_cert_file=str(self.tls_cert_file) if self.tls_cert_file else None,
            tls_key_file=str(self.tls_key_file) if self.tls_key_file else None,
        )


class IngestSettings(Section):
    """Bounded in-flight work (backpressure), write batching and what a reading may be."""

    queue_max: int = Field(default=5000, ge=1)
    batch_max: int = Field(default=500, ge=1)
    batch_linger_ms: float = Field(default=20.0, ge=0)
    max_payload_bytes: int = Field(default=512 * 1024, ge=1024)
    late_after_s: float = Field(default=600.0, gt=0)
    future_skew_s: float = Field(default=300.0, gt=0)
    future_policy: Literal["reject", "flag"] = "reject"  # beyond the skew: dead-letter or flag
    auto_register: bool = False


_DETECT = DetectorSettings()


class DetectionSettings(Section):
    """Which detectors run, the parameters shared by all patients (per-patient limits are
    care-team targets) and the timer tick."""

    detectors: list[str] | None = None  # None: every registered detector
    # Await a repeat BP this long; conditions this close in time combine (defaults: the
    # detectors' own, `alerts.detectors.base.DetectorSettings`).
    bp_repeat_window_s: float = Field(default=_DETECT.bp_repeat_window.total_seconds(), gt=0)
    cv_window_s: float = Field(default=_DETECT.cv_window.total_seconds(), gt=0)
    cv_priorities: dict[str, Literal["high", "medium", "low"]] = Field(default_factory=dict)
    tick_interval_s: float = Field(default=5.0, gt=0)


class NotifySettings(Section):
    """Escalation policies (a TOML file or a directory of per-tenant files) and notification
    channels (see docs/alerts.md)."""

    policies: Path | None = None
    notify_channels: list[str] | None = None  # None: mqtt, sse, webhook, email, sms
    webhook_url: str | None = None
    webhook_secret: str | None = None
    email_url: str | None = None  # Apprise URL template with an {address} placeholder
    sms_url: str | None = None


class ScaleSettings(Section):
    """Scaling out on NATS JetStream (docs/scale-out.md): `hmg gateway --role ...`."""

    nats_url: str = "nats://127.0.0.1:4222"  # comma-separated for a cluster
    nats_username: str | None = None
    nats_password: str | None = None
    nats_replicas: int = Field(default=1, ge=1, le=5)  # 3 on a three-node cluster
    partitions: int = Field(default=64, ge=1, le=4096)  # fixed per deployment
    worker_id: str | None = None  # default: the host name
    lease_ttl_s: float = Field(default=6.0, gt=0)  # a dead worker's partitions move after this
    snapshot_interval_s: float = Field(default=30.0, gt=0)
    # The API role waits this long for the partition's owner to apply an action (then 503/504).
    action_timeout_s: float = Field(default=5.0, gt=0, le=60)


class ApiSettings(Section):
    """The API and the page; bounded input (README "Access and security")."""

    PREFIX: ClassVar[str] = "api_"
    host: str = "127.0.0.1"
    port: int = 8000
    secret: str = "change-me"
    tls_cert_file: Path | None = None  # HTTPS for the API and the page, with its key
    tls_key_file: Path | None = None
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    rate_per_minute: float = Field(default=1200.0, gt=0)  # per client (user, client id, peer)
    rate_burst: int = Field(default=300, ge=1)  # a page load makes about ten calls
    streams_per_user: int = Field(default=4, ge=1)


class AuthSettings(Section):
    """The embedded issuer: short-lived tokens for local accounts."""

    PREFIX: ClassVar[str] = "auth_"
    embedded: bool = True
    issuer: str = "urn:hmg:gateway"
    audience: str = "hmg-api"
    token_ttl_s: int = Field(default=900, ge=60, le=3600)
    refresh_ttl_s: int = Field(default=8 * 3600, ge=0, le=7 * 24 * 3600)  # 0: no refresh
    login_failures: int = Field(default=5, ge=1)  # per account, then locked for the window
    login_window_s: float = Field(default=900.0, gt=0)


class OidcSettings(Section):
    """A hospital identity provider, trusted through its issuer and key set."""

    PREFIX: ClassVar[str] = "oidc_"
    issuer: str | None = None
    jwks_url: str | None = None
    audience: str | None = None  # default: auth_audience
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "PS256", "ES256"])
    user_claim: str = "preferred_username"
    role_claim: str = "roles"  # dotted path, a string or a list (first known role wins)
    tenant_claim: str = "tenant"
    client_claim: str = "azp"
    leeway_s: float = Field(default=30.0, ge=0, le=300)
    ca_file: Path | None = None  # CA bundle for the key-set URL (default: system CAs)
    refresh_cooldown_s: float = Field(default=30.0, ge=0)  # unknown key id: refetch at most


SECTIONS: dict[str, type[Section]] = {
    "storage": StorageSettings,
    "influx": InfluxSettings,
    "mqtt": MqttSettings,
    "ingest": IngestSettings,
    "detection": DetectionSettings,
    "notify": NotifySettings,
    "scale": ScaleSettings,
    "api": ApiSettings,
    "auth": AuthSettings,
    "oidc": OidcSettings,
}
# Flat name -> (section, field).
FLAT: dict[str, tuple[str, str]] = {
    cls.PREFIX + name: (section, name)
    for section, cls in SECTIONS.items()
    for name in cls.model_fields
}
assert len(FLAT) == sum(len(c.model_fields) for c in SECTIONS.values()), "flat names clash"


def _structured(annotation: Any) -> bool:
    """A list or dict setting: its environment value is JSON."""
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    return any(typing.get_origin(a) in (list, dict) for a in (annotation, *args))


class FlatEnvironment(PydanticBaseSettingsSource):
    """The sections' settings from their flat `HMG_*` environment variables."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # `__call__` reads every section at once

    def __call__(self) -> dict[str, Any]:
        env = {k.upper(): v for k, v in os.environ.items()}
        found: dict[str, Any] = {}
        for flat, (section, name) in FLAT.items():
            raw = env.get(f"HMG_{flat.upper()}")
            if raw is not None:
                annotation = SECTIONS[section].model_fields[name].annotation
                found[flat] = json.loads(raw) if _structured(annotation) else raw
        return found


class Settings(BaseSettings):
    """Every setting is documented in README.md (section Configuration)."""

    model_config = SettingsConfigDict(env_prefix="HMG_", extra="forbid")

    # Mode: `demo` relaxes secret checks and auto-registers unknown devices.
    mode: Literal["production", "demo", "test"] = "production"
    storage: StorageSettings = StorageSettings()
    influx: InfluxSettings = InfluxSettings()
    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    detection: DetectionSettings = DetectionSettings()
    notify: NotifySettings = NotifySettings()
    scale: ScaleSettings = ScaleSettings()
    api: ApiSettings = ApiSettings()
    auth: AuthSettings = AuthSettings()
    oidc: OidcSettings = OidcSettings()

    def __init__(self, **values: Any) -> None:
        """Sections as models or dicts, or any setting by its flat name (`mqtt_host=...`)."""
        super().__init__(**values)

    @model_validator(mode="before")
    @classmethod
    def _sections(cls, data: Any) -> Any:
        """Flat names (keywords, the file's top level, the environment) into their sections."""
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key not in FLAT:
                if key in SECTIONS and isinstance(value, dict):
                    out.setdefault(key, {}).update(value)
                else:
                    out[key] = value
                continue
            section, name = FLAT[key]
            held = out.setdefault(section, {})
            if isinstance(held, BaseModel):
                held = out[section] = held.model_dump(exclude_unset=True)
            held[name] = value
        return out

    @model_validator(mode="after")
    def _check(self) -> Settings:
        notify, oidc = self.notify, self.oidc
        if self.mode == "production" and self.api.secret in PLACEHOLDER_SECRETS:
            raise ValueError("HMG_API_SECRET must be set to a real secret outside demo/test mode")
        if notify.webhook_url and (notify.webhook_secret or "") in PLACEHOLDER_SECRETS:
            raise ValueError("HMG_WEBHOOK_SECRET must be set when HMG_WEBHOOK_URL is")
        if self.mode == "production" and not _https(notify.webhook_url):
            raise ValueError("HMG_WEBHOOK_URL must be https:// in production")
        if bool(oidc.issuer) != bool(oidc.jwks_url):
            raise ValueError("HMG_OIDC_ISSUER and HMG_OIDC_JWKS_URL go together")
        if self.mode == "production" and not _https(oidc.jwks_url):
            raise ValueError("HMG_OIDC_JWKS_URL must be https:// in production")
        unsafe = {a for a in oidc.algorithms if a.lower() == "none" or a.upper()[:2] == "HS"}
        if unsafe or not oidc.algorithms:
            raise ValueError(
                "HMG_OIDC_ALGORITHMS takes asymmetric algorithms only (RS/PS/ES/EdDSA)"
            )
        if bool(self.mqtt.tls_cert_file) != bool(self.mqtt.tls_key_file):
            raise ValueError("HMG_MQTT_TLS_CERT_FILE and HMG_MQTT_TLS_KEY_FILE go together")
        if bool(self.api.tls_cert_file) != bool(self.api.tls_key_file):
            raise ValueError("HMG_API_TLS_CERT_FILE and HMG_API_TLS_KEY_FILE go together")
        return self

    @property
    def snapshot_key(self) -> bytes:
        """The key detector snapshots are signed with, derived from the deployment secret."""
        return hashlib.sha256(b"hmg-snapshot\x00" + self.api.secret.encode()).digest()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            env_settings,
            FlatEnvironment(settings_cls),
        ]
        config = os.environ.get("HMG_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)
