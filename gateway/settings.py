"""Service settings: `HMG_*` environment variables, optionally a TOML file (`HMG_CONFIG`)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "password"})


def _https(url: str | None) -> bool:
    """True when `url` is unset or uses https."""
    return not url or url.lower().startswith("https://")


class Settings(BaseSettings):
    """Every setting is documented in README.md (section Configuration)."""

    model_config = SettingsConfigDict(env_prefix="HMG_", extra="forbid")

    # Mode: `demo` relaxes secret checks and auto-registers unknown devices.
    mode: Literal["production", "demo", "test"] = "production"
    data_dir: Path = Path("hmg-data")
    database_url: str = ""  # default: sqlite+aiosqlite:///{data_dir}/hmg.db
    readings_backend: Literal["sql", "influx"] = "sql"

    # InfluxDB readings backend (docs/storage.md): `v1` writes /write (InfluxDB 1.x, or 2.x/3.x
    # v1 compatibility), `v2` writes /api/v2/write with a token; reads use InfluxQL /query.
    influx_mode: Literal["v1", "v2"] = "v1"
    influx_url: str = "http://127.0.0.1:8086"
    influx_query_url: str = ""  # v1-compatible /query endpoint; default: influx_url
    influx_database: str = "hmg"
    influx_retention_policy: str = ""
    influx_username: str | None = None
    influx_password: str | None = None
    influx_token: str | None = None
    influx_org: str = "hmg"
    influx_bucket: str = "hmg"
    influx_batch_points: int = Field(default=5000, ge=1)
    influx_timeout_s: float = Field(default=10.0, gt=0)
    influx_create_database: bool = True
    influx_derive_beats: bool = True  # store the `ecg_beat` series (RR, heart rate) from ECG

    # Data lifecycle: readings older than N days are deleted by the retention job (0 keeps them).
    retention_ecg_days: float = Field(default=30.0, ge=0)  # raw ECG chunks and derived beats
    retention_vitals_days: float = Field(default=3650.0, ge=0)  # bp, glucose, hr, spo2, weight
    retention_status_days: float = Field(default=90.0, ge=0)  # device status readings
    retention_deadletter_days: float = Field(default=30.0, ge=0)
    retention_interval_s: float = Field(default=3600.0, ge=0)  # 0: the job does not run

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_client_id: str = "hmg-gateway"
    mqtt_protocol: Literal["3.1.1", "5"] = "3.1.1"
    mqtt_subscription: str = "hm/v1/+/+/+"
    mqtt_keepalive: int = 30
    # TLS for the gateway's own broker connection: on when a CA file is given (or `mqtt_tls`);
    # the broker's certificate and host name are always checked.
    mqtt_tls: bool = False
    mqtt_tls_ca_file: Path | None = None
    mqtt_tls_cert_file: Path | None = None  # client certificate (mutual TLS), with its key
    mqtt_tls_key_file: Path | None = None

    # Pipeline: bounded in-flight work (backpressure) and write batching.
    queue_max: int = Field(default=5000, ge=1)
    batch_max: int = Field(default=500, ge=1)
    batch_linger_ms: float = Field(default=20.0, ge=0)
    max_payload_bytes: int = Field(default=512 * 1024, ge=1024)
    late_after_s: float = Field(default=600.0, gt=0)
    future_skew_s: float = Field(default=300.0, gt=0)
    future_policy: Literal["reject", "flag"] = "reject"  # beyond the skew: dead-letter or flag
    auto_register: bool = False
    detectors: list[str] | None = None  # None: every registered detector
    # Detector parameters shared by all patients (per-patient limits are care-team targets).
    bp_repeat_window_s: float = Field(default=900.0, gt=0)  # await a repeat BP this long
    cv_window_s: float = Field(default=1800.0, gt=0)  # conditions this close in time combine
    cv_priorities: dict[str, Literal["high", "medium", "low"]] = Field(default_factory=dict)
    tick_interval_s: float = Field(default=5.0, gt=0)

    # Alerting: escalation policies (a TOML file or a directory of per-tenant files) and
    # notification channels (see docs/alerts.md).
    policies: Path | None = None
    notify_channels: list[str] | None = None  # None: mqtt, sse, webhook, email, sms
    webhook_url: str | None = None
    webhook_secret: str | None = None
    email_url: str | None = None  # Apprise URL template with an {address} placeholder
    sms_url: str | None = None

    # Scaling out on NATS JetStream (docs/scale-out.md): `hmg gateway --role router|worker`.
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

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_secret: str = "change-me"
    api_tls_cert_file: Path | None = None  # HTTPS for the API and the page, with its key
    api_tls_key_file: Path | None = None
    # Bounded input (README "Access and security"): body size, calls per client, live streams.
    api_max_body_bytes: int = Field(default=1 << 20, ge=1024)
    api_rate_per_minute: float = Field(default=1200.0, gt=0)  # per client (user, client id, peer)
    api_rate_burst: int = Field(default=300, ge=1)  # a page load makes about ten calls
    api_streams_per_user: int = Field(default=4, ge=1)

    # Access (README "Access and security"): the embedded issuer signs short-lived tokens for
    # local accounts; a hospital identity provider is trusted through its issuer and key set.
    auth_embedded: bool = True
    auth_issuer: str = "urn:hmg:gateway"
    auth_audience: str = "hmg-api"
    auth_token_ttl_s: int = Field(default=900, ge=60, le=3600)
    auth_refresh_ttl_s: int = Field(default=8 * 3600, ge=0, le=7 * 24 * 3600)  # 0: no refresh
    auth_login_failures: int = Field(default=5, ge=1)  # per account, then locked for the window
    auth_login_window_s: float = Field(default=900.0, gt=0)
    oidc_issuer: str | None = None
    oidc_jwks_url: str | None = None
    oidc_audience: str | None = None  # default: auth_audience
    oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "PS256", "ES256"])
    oidc_user_claim: str = "preferred_username"
    oidc_role_claim: str = "roles"  # dotted path, a string or a list (first known role wins)
    oidc_tenant_claim: str = "tenant"
    oidc_client_claim: str = "azp"
    oidc_leeway_s: float = Field(default=30.0, ge=0, le=300)
    oidc_ca_file: Path | None = None  # CA bundle for the key-set URL (default: system CAs)
    oidc_refresh_cooldown_s: float = Field(default=30.0, ge=0)  # unknown key id: refetch at most

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.mode == "production" and self.api_secret in PLACEHOLDER_SECRETS:
            raise ValueError("HMG_API_SECRET must be set to a real secret outside demo/test mode")
        if self.webhook_url and (self.webhook_secret or "") in PLACEHOLDER_SECRETS:
            raise ValueError("HMG_WEBHOOK_SECRET must be set when HMG_WEBHOOK_URL is")
        if self.mode == "production" and not _https(self.webhook_url):
            raise ValueError("HMG_WEBHOOK_URL must be https:// in production")
        if bool(self.oidc_issuer) != bool(self.oidc_jwks_url):
            raise ValueError("HMG_OIDC_ISSUER and HMG_OIDC_JWKS_URL go together")
        if self.mode == "production" and not _https(self.oidc_jwks_url):
            raise ValueError("HMG_OIDC_JWKS_URL must be https:// in production")
        unsafe = {a for a in self.oidc_algorithms if a.lower() == "none" or a.upper()[:2] == "HS"}
        if unsafe or not self.oidc_algorithms:
            raise ValueError(
                "HMG_OIDC_ALGORITHMS takes asymmetric algorithms only (RS/PS/ES/EdDSA)"
            )
        if bool(self.mqtt_tls_cert_file) != bool(self.mqtt_tls_key_file):
            raise ValueError("HMG_MQTT_TLS_CERT_FILE and HMG_MQTT_TLS_KEY_FILE go together")
        if bool(self.api_tls_cert_file) != bool(self.api_tls_key_file):
            raise ValueError("HMG_API_TLS_CERT_FILE and HMG_API_TLS_KEY_FILE go together")
        return self

    @property
    def snapshot_key(self) -> bytes:
        """The key detector snapshots are signed with, derived from the deployment secret."""
        return hashlib.sha256(b"hmg-snapshot\x00" + self.api_secret.encode()).digest()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'hmg.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("HMG_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
