"""The embedded issuer's signing keys: EC P-256 (ES256), kept owner-only in the data directory.

Each key is one PEM file `signing-{kid}.pem` in `{data_dir}/auth/` (directory 0700, files 0600);
the key id is the key's RFC 7638 thumbprint. The newest key signs; every key in the directory is
published in the key set, so tokens signed before a rotation stay valid until they expire.
Remove an old file after one token lifetime to retire it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "ES256"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    nums = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64(nums.x.to_bytes(32, "big")),
        "y": _b64(nums.y.to_bytes(32, "big")),
    }


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without white space."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private: ec.EllipticCurvePrivateKey
    mtime: float

    def jwk(self) -> dict[str, str]:
        return {
            **public_jwk(self.private.public_key()),
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) owner-only; tighten it if it already exists."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600 from the first byte."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


class KeyRing:
    """Loads the keys of `directory`, creating the first one when there is none."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.keys: list[SigningKey] = []
        self.reload()

    def reload(self) -> None:
        private_dir(self.directory)
        keys = []
        for path in sorted(self.directory.glob("signing-*.pem")):
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{path}: not an EC private key")
            kid = thumbprint(public_jwk(loaded.public_key()))
            keys.append(SigningKey(kid, loaded, path.stat().st_mtime))
        self.keys = sorted(keys, key=lambda k: k.mtime)
        if not self.keys:
            self.rotate()

    def rotate(self) -> SigningKey:
        """Add a new key that signs from now on (older keys keep verifying)."""
        private = ec.generate_private_key(ec.SECP256R1())
        kid = thumbprint(public_jwk(private.public_key()))
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = self.directory / f"signing-{kid}.pem"
        write_private(path, pem)
        key = SigningKey(kid, private, path.stat().st_mtime)
        self.keys.append(key)  # newest last, as `reload` orders them
        return key

    @property
    def current(self) -> SigningKey:
        return self.keys[-1]

    def find(self, kid: str) -> SigningKey | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk() for k in reversed(self.keys)]}
