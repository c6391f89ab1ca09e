"""Bearer-token checks against a key set served over HTTP by a stand-in hospital IdP (real RSA
keys, the same PyJWT key-set client as production), and against the embedded issuer."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from gateway.actor import Role
from gateway.auth.keys import KeyRing
from gateway.auth.model import Account, AccountKind
from gateway.auth.tokens import TokenError, TokenIssuer, TokenVerifier, TrustedIdp
from tests.support.idp import IdentityProvider, identity_provider

LOCAL = "urn:hmg:test"


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    with identity_provider() as server:
        yield server


def verifier(idp: IdentityProvider, keys: KeyRing | None = None) -> TokenVerifier:
    trusted = TrustedIdp(
        issuer=idp.issuer, jwks_url=idp.jwks_url, audience="hmg-api", refresh_cooldown_s=0
    )
    return TokenVerifier(local=keys, issuer=LOCAL, audience="hmg-api", idps=[trusted], leeway_s=5)


def reason(v: TokenVerifier, token: str) -> str:
    with pytest.raises(TokenError) as exc:
        v.verify(token)
    return exc.value.reason


def unsigned(header: dict[str, object], payload: dict[str, object]) -> str:
    def b64(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{b64(header)}.{b64(payload)}."


def test_a_hospital_token_maps_to_an_actor(idp: IdentityProvider) -> None:
    who = verifier(idp).verify(idp.sign())
    assert (who.user, who.role, who.tenant, who.client_id) == (
        "dr.li",
        Role.CLINICIAN,
        "t1",
        "hospital-portal",
    )
    actor = who.actor("10.0.0.7")
    assert actor.client == "hospital-portal@10.0.0.7"


def test_expired_wrong_audience_wrong_issuer_not_yet_valid(idp: IdentityProvider) -> None:
    v = verifier(idp)
    assert reason(v, idp.sign(lifetime_s=-60)) == "expired"
    assert reason(v, idp.sign(aud="another-api")) == "wrong_audience"
    assert reason(v, idp.sign(iss="https://evil.test/realms/care")) == "untrusted_issuer"
    assert reason(v, idp.sign(not_before_s=600)) == "not_yet_valid"
    assert reason(v, idp.sign(tenant=None)) == "no_tenant"
    assert reason(v, idp.sign(roles=["offline_access"])) == "no_role"
    assert reason(v, idp.sign(roles=["system"])) == "no_role"  # never from a token


def test_alg_none_and_hmac_with_the_public_key_are_refused(idp: IdentityProvider) -> None:
    v = verifier(idp)
    kid = idp.published[-1]
    claims = jwt.decode(idp.sign(), options={"verify_signature": False})
    assert reason(v, unsigned({"alg": "none", "kid": kid, "typ": "JWT"}, claims)) == (
        "algorithm_not_allowed"
    )
    # The classic confusion: HMAC "signed" with the IdP's public key as the shared secret.
    pem = (
        idp.keys[kid]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    forged = base64.urlsafe_b64encode(pem).decode()
    header = {"alg": "HS256", "kid": kid}
    token = jwt.api_jws.PyJWS().encode(
        json.dumps(claims).encode(), forged, algorithm="HS256", headers=header
    )
    assert reason(v, token) == "algorithm_not_allowed"


def test_unknown_key_id_and_a_key_never_published(idp: IdentityProvider) -> None:
    v = verifier(idp)
    stray = idp.rotate()
    idp.published.remove(stray)  # signed by a key the IdP does not publish
    assert reason(v, idp.sign(kid=stray)) == "unknown_key"
    claims = jwt.decode(idp.sign(), options={"verify_signature": False})
    token = jwt.encode(claims, idp.keys[stray], algorithm="RS256", headers={"kid": "nope"})
    assert reason(v, token) == "unknown_key"


def test_a_rotated_key_is_fetched_without_a_restart(idp: IdentityProvider) -> None:
    v = verifier(idp)
    v.verify(idp.sign())
    before = idp.fetches
    new = idp.rotate(keep_old=False)
    who = v.verify(idp.sign(kid=new))
    assert who.user == "dr.li"
    assert idp.fetches == before + 1  # one refetch for the new key id


def test_a_rotation_cooldown_bounds_refetches(idp: IdentityProvider) -> None:
    trusted = TrustedIdp(issuer=idp.issuer, jwks_url=idp.jwks_url, audience="hmg-api")
    v = TokenVerifier(local=None, issuer=LOCAL, audience="hmg-api", idps=[trusted])
    v.verify(idp.sign())
    claims = jwt.decode(idp.sign(), options={"verify_signature": False})
    for i in range(5):  # unknown key ids do not make the gateway hammer the IdP
        kid = f"unknown-{i}"
        token = jwt.encode(claims, idp.keys[idp.published[0]], "RS256", headers={"kid": kid})
        assert reason(v, token) == "unknown_key"
    assert idp.fetches <= 2


def _account() -> Account:
    return Account("dr.wang", AccountKind.USER, Role.CLINICIAN, "t1", "Dr Wang", "x")


def test_embedded_issuer_round_trip_and_its_refresh_token(tmp_path: Path) -> None:
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    clock = [now]
    keys = KeyRing(tmp_path / "auth")
    issuer = TokenIssuer(keys, LOCAL, "hmg-api", ttl_s=900, refresh_ttl_s=0, clock=lambda: clock[0])
    v = TokenVerifier(local=keys, issuer=LOCAL, audience="hmg-api", clock=lambda: clock[0])
    token = issuer.access_token(_account(), "dashboard")
    who = v.verify(token)
    assert (who.user, who.role, who.tenant, who.display_name) == (
        "dr.wang",
        Role.CLINICIAN,
        "t1",
        "Dr Wang",
    )
    refresh = issuer.refresh_token(_account(), "dashboard")
    assert reason(v, refresh) == "wrong_audience"  # a refresh token is no access token
    subject = v.refresh_subject(refresh)
    assert (subject.name, subject.client_id, len(subject.token_id)) == ("dr.wang", "dashboard", 32)
    with pytest.raises(TokenError):
        v.refresh_subject(token)
    clock[0] = now + timedelta(seconds=900 + 31)
    assert reason(v, token) == "expired"


def test_embedded_keys_are_owner_only_and_rotate(tmp_path: Path) -> None:
    keys = KeyRing(tmp_path / "auth")
    assert (tmp_path / "auth").stat().st_mode & 0o777 == 0o700
    (pem,) = (tmp_path / "auth").glob("signing-*.pem")
    assert pem.stat().st_mode & 0o777 == 0o600
    issuer = TokenIssuer(keys, LOCAL, "hmg-api", ttl_s=900, refresh_ttl_s=0)
    old = issuer.mint("dr.wang", Role.CLINICIAN, "t1")
    keys.rotate()
    reloaded = KeyRing(tmp_path / "auth")
    assert reloaded.current.kid == keys.current.kid
    assert [k["kid"] for k in reloaded.jwks()["keys"]] == [keys.current.kid, keys.keys[0].kid]
    v = TokenVerifier(local=reloaded, issuer=LOCAL, audience="hmg-api")
    assert v.verify(old).user == "dr.wang"  # signed before the rotation, still valid
    other = TokenIssuer(
        KeyRing(tmp_path / "elsewhere"), LOCAL, "hmg-api", ttl_s=900, refresh_ttl_s=0
    )
    assert reason(v, other.mint("dr.wang", Role.ADMIN, "t1")) == "unknown_key"
    forged = old.split(".")
    body = json.loads(base64.urlsafe_b64decode(forged[1] + "=="))
    body["role"] = "admin"
    forged[1] = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    assert reason(v, ".".join(forged)) == "invalid_signature_or_claims"
