"""A stand-in hospital identity provider: RSA keys and a JWKS document served over real HTTP.

The gateway fetches the key set with the same client and code path as for Keycloak or Azure AD;
tests sign tokens with `IdentityProvider.sign` and rotate keys with `rotate`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://idp.hospital.test/realms/care"


@dataclass
class IdentityProvider:
    url: str = ""
    issuer: str = ISSUER
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    fetches: int = 0

    def rotate(self, *, keep_old: bool = True) -> str:
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.published = [*self.published, kid] if keep_old else [kid]
        return kid

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid in self.published:
            jwk = json.loads(RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            out.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": out}

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/protocol/openid-connect/certs"

    def sign(
        self,
        kid: str | None = None,
        *,
        algorithm: str = "RS256",
        lifetime_s: float = 300,
        not_before_s: float = 0,
        **claims: Any,
    ) -> str:
        kid = kid or self.published[-1]
        now = time.time()
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": "hmg-api",
            "sub": "f3b1c2",
            "preferred_username": "dr.li",
            "roles": ["offline_access", "clinician"],
            "tenant": "t1",
            "azp": "hospital-portal",
            "iat": int(now),
            "nbf": int(now + not_before_s),
            "exp": int(now + lifetime_s),
        }
        body.update(claims)
        return jwt.encode(body, self.keys[kid], algorithm=algorithm, headers={"kid": kid})


@contextmanager
def identity_provider() -> Iterator[IdentityProvider]:
    idp = IdentityProvider()
    idp.rotate()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/protocol/openid-connect/certs":
                self.send_error(404)
                return
            idp.fetches += 1
            body = json.dumps(idp.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    idp.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()
