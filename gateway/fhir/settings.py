"""Regional platform settings (`HMG_PLATFORM_*`): where the record is pushed and how.

Kept apart from the gateway's own settings: the push is off unless `HMG_PLATFORM_URL` names the
platform's FHIR base. OAuth2 client credentials (`token_url`, `client_id`, `client_secret`,
`scope`) get the bearer token; without a `token_url` the push sends no token (a platform on a
closed network that trusts the link).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PlatformSettings"]


class PlatformSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HMG_PLATFORM_", extra="forbid")

    url: str | None = None  # the platform's FHIR base, e.g. https://platform.example/fhir
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scope: str | None = None
    interval_s: float = Field(30.0, gt=0)  # how often new readings are gathered into pushes
    batch_max: int = Field(200, ge=1, le=5000)  # observations per transaction Bundle
    timeout_s: float = Field(15.0, gt=0)
    max_backoff_s: float = Field(300.0, gt=0)  # retries double up to this
    summary_lang: Literal["zh-CN", "en"] = "zh-CN"

    @property
    def enabled(self) -> bool:
        return bool(self.url)
