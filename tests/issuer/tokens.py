"""Minting Entra-shaped access tokens for tests: valid ones, broken ones and forgeries.

The encoder is written here instead of using pyjwt's because tests need what a
careful library refuses to produce: `alg: none`, HS256 keyed with the public key,
headers with `crit`/`jku`, removed claims, claims JSON that is not even JSON.

Claim and header overrides are keyword arguments or dicts; the value `REMOVE`
deletes a field. Example::

    minter = TokenMinter(issuer.base_url, keys=issuer.keys)
    minter.v2(roles=["Calculator.Add"])                 # a valid app-only v2 token
    minter.v1(exp=REMOVE)                               # v1 token without exp
    minter.v2(key="unpublished", header={"kid": "x"})   # signed by an unknown key
    forge_alg_none(minter.claims_v2())                  # unsigned
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .constants import (
    DEFAULT_API_APP_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_TENANT,
    TOKEN_LIFETIME_SECONDS,
    V1_ISSUER_TEMPLATE,
)
from .keys import SIGNING, KeyPair, KeyRing, b64url


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


REMOVE: Any = _Remove()
"""Override value that deletes a claim or header field."""

_HMAC_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


# --- low-level JWS encoding ----------------------------------------------------------


def json_segment(value: Mapping | bytes) -> str:
    """A base64url segment of compact JSON, or of raw bytes given as they are."""
    if isinstance(value, (bytes, bytearray)):
        return b64url(bytes(value))
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def merge(base: Mapping, overrides: Mapping | None) -> dict:
    """`base` updated with `overrides`; a value of `REMOVE` deletes the field."""
    result = dict(base)
    for name, value in (overrides or {}).items():
        if value is REMOVE:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def sign_jws(header: Mapping | bytes, payload: Mapping | bytes, key: KeyPair, sign_alg: str | None = None) -> str:
    """A compact JWS signed with an RSA key.

    `sign_alg` is the algorithm really used; it defaults to the header's `alg`, and
    differs from it when a test lies about the algorithm.
    """
    if sign_alg is None:
        sign_alg = header.get("alg", "RS256") if isinstance(header, Mapping) else "RS256"
    signing_input = f"{json_segment(header)}.{json_segment(payload)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii'), sign_alg))}"


def sign_hmac(header: Mapping | bytes, payload: Mapping | bytes, secret: bytes, alg: str = "HS256") -> str:
    """A compact JWS with an HMAC signature (HS256/384/512)."""
    signing_input = f"{json_segment(header)}.{json_segment(payload)}"
    mac = hmac.new(secret, signing_input.encode("ascii"), _HMAC_HASHES[alg]).digest()
    return f"{signing_input}.{b64url(mac)}"


def decode_unverified(token: str) -> tuple[dict, dict]:
    """(header, claims) of a compact JWS, without any check: for assertions in tests."""
    header, payload = token.split(".")[:2]
    return json.loads(_b64url_decode(header)), json.loads(_b64url_decode(payload))


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


# --- forgeries -----------------------------------------------------------------------


def forge_alg_none(claims: Mapping, header: Mapping | None = None, signature: str = "") -> str:
    """An unsigned token (`alg: none`); `signature` lets a test append something anyway."""
    head = merge({"typ": "JWT", "alg": "none"}, header)
    return f"{json_segment(head)}.{json_segment(claims)}.{signature}"


def forge_hmac_with_public_key(
    claims: Mapping, key: KeyPair, header: Mapping | None = None, alg: str = "HS256", key_form: str = "pem"
) -> str:
    """The classic algorithm-confusion forgery: HMAC keyed with the published RSA key.

    `key_form` picks the bytes an attacker would guess the verifier uses as the HMAC
    secret: `pem` (SubjectPublicKeyInfo PEM), `der`, `n` (the modulus), or `jwk`
    (the JWK as published, compact JSON).
    """
    forms: dict[str, Callable[[], bytes]] = {
        "pem": key.public_pem,
        "der": key.public_der,
        "n": lambda: _b64url_decode(key.jwk()["n"]),
        "jwk": lambda: json.dumps(key.jwk(), separators=(",", ":")).encode(),
    }
    head = merge({"typ": "JWT", "alg": alg, "kid": key.kid}, header)
    return sign_hmac(head, claims, forms[key_form](), alg)


def with_garbage_signature(token: str) -> str:
    """The same header and claims with random signature bytes of the same length."""
    head, payload, signature = token.split(".")
    length = len(_b64url_decode(signature)) or 256
    return f"{head}.{payload}.{b64url(os.urandom(length))}"


def with_claims(token: str, **changes: Any) -> str:
    """Claims changed after signing, signature kept: the tampering case."""
    head, payload, signature = token.split(".")
    claims = merge(json.loads(_b64url_decode(payload)), changes)
    return f"{head}.{json_segment(claims)}.{signature}"


# --- Entra-shaped tokens -------------------------------------------------------------


def service_principal_oid(client_id: str) -> str:
    """A stable object id for a client's service principal (Entra's `oid`/`sub`)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"entra-guard-test/sp/{client_id}"))


def _client_of(overrides: Mapping, claim: str, default: str) -> str:
    """The client id a token names (for `oid`/`sub`), even when the claim is removed."""
    value = overrides.get(claim, default)
    return value if isinstance(value, str) else default


def _uti() -> str:
    return b64url(os.urandom(16))


class TokenMinter:
    """Mints Entra access tokens for one authority, with per-token overrides.

    `keys` is the issuer's `KeyRing` (so `key="signing" | "retired" | "unpublished"`
    follows rotations) or a single `KeyPair` (then every token is signed by it unless
    a `KeyPair` is passed as `key`).
    """

    def __init__(
        self,
        authority: str,
        tenant_id: str = DEFAULT_TENANT,
        keys: KeyRing | KeyPair | None = None,
        *,
        audience: str = DEFAULT_API_APP_ID,
        client_id: str = DEFAULT_CLIENT_ID,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self.authority = authority.rstrip("/")
        self.tenant_id = tenant_id
        self.keys = keys if keys is not None else KeyRing()
        self.audience = audience
        self.client_id = client_id
        self.lifetime = lifetime
        self.clock = clock

    # issuers

    def issuer_v2(self, tenant_id: str | None = None) -> str:
        return f"{self.authority}/{tenant_id or self.tenant_id}/v2.0"

    def issuer_v1(self, tenant_id: str | None = None) -> str:
        return V1_ISSUER_TEMPLATE.format(tenant=tenant_id or self.tenant_id)

    # claims

    def claims_v2(self, *, tenant: str | None = None, now: float | None = None,
                  lifetime: int | None = None, **overrides: Any) -> dict:
        """The claims of an app-only v2 access token, with `overrides` applied."""
        tid = tenant or self.tenant_id
        client = _client_of(overrides, "azp", self.client_id)
        base = {
            "aud": self.audience,
            "iss": self.issuer_v2(tid),
            **self._times(now, lifetime),
            "aio": "E2RgYJg1test",
            "azp": client,
            "azpacr": "1",
            "idp": self.issuer_v1(tid),
            "idtyp": "app",
            "oid": service_principal_oid(client),
            "rh": "0.AAAA-test.",
            "sub": service_principal_oid(client),
            "tid": tid,
            "uti": _uti(),
            "ver": "2.0",
        }
        return merge(base, overrides)

    def claims_v1(self, *, tenant: str | None = None, now: float | None = None,
                  lifetime: int | None = None, **overrides: Any) -> dict:
        """The claims of an app-only v1 access token (`appid`, sts.windows.net issuer)."""
        tid = tenant or self.tenant_id
        client = _client_of(overrides, "appid", self.client_id)
        base = {
            "aud": self.audience,
            "iss": self.issuer_v1(tid),
            **self._times(now, lifetime),
            "aio": "E2RgYJg1test",
            "appid": client,
            "appidacr": "1",
            "idp": self.issuer_v1(tid),
            "idtyp": "app",
            "oid": service_principal_oid(client),
            "rh": "0.AAAA-test.",
            "sub": service_principal_oid(client),
            "tid": tid,
            "uti": _uti(),
            "ver": "1.0",
        }
        return merge(base, overrides)

    def _times(self, now: float | None, lifetime: int | None) -> dict:
        issued = int(self.clock() if now is None else now)
        return {"iat": issued, "nbf": issued, "exp": issued + (self.lifetime if lifetime is None else lifetime)}

    # tokens

    def v2(self, *, key: str | KeyPair = SIGNING, header: Mapping | None = None,
           claims: Mapping | None = None, **overrides: Any) -> str:
        """A signed v2 token. `claims` holds overrides whose names are not identifiers."""
        return self.sign(self.claims_v2(**{**overrides, **(claims or {})}), key=key, header=header)

    def v1(self, *, key: str | KeyPair = SIGNING, header: Mapping | None = None,
           claims: Mapping | None = None, **overrides: Any) -> str:
        """A signed v1 token (its header carries `x5t` like Entra's v1 tokens)."""
        signer = self._key(key)
        head = merge({"x5t": signer.x5t}, header)
        return self.sign(self.claims_v1(**{**overrides, **(claims or {})}), key=signer, header=head)

    def sign(self, claims: Mapping | bytes, *, key: str | KeyPair = SIGNING,
             header: Mapping | None = None, sign_alg: str | None = None) -> str:
        """Sign any claims (or raw payload bytes); the header defaults to Entra's.

        The signature uses `sign_alg`, else the header's `alg` when it is an RSA
        algorithm, else RS256 (so `header={"alg": "HS256"}` makes a token that lies).
        """
        signer = self._key(key)
        head = merge({"typ": "JWT", "alg": "RS256", "kid": signer.kid}, header)
        alg = sign_alg or (head.get("alg") if head.get("alg") in _RSA_ALGS else "RS256")
        return sign_jws(head, claims, signer, alg)

    def mint_many(self, count: int, version: int = 2, workers: int = 4, **overrides: Any) -> list[str]:
        """`count` distinct tokens (each has its own `uti`), signed on a few threads.

        RSA signing dominates and releases the GIL, so threads help: 1,000 to 2,000
        tokens a second on two cores (10,000 for a benchmark in 5-10 s).
        """
        mint = self.v2 if version == 2 else self.v1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda _: mint(**overrides), range(count)))

    def _key(self, key: str | KeyPair) -> KeyPair:
        if isinstance(key, KeyPair):
            return key
        if isinstance(self.keys, KeyPair):
            if key != SIGNING:
                raise ValueError(f"a minter with a single key cannot sign with {key!r}")
            return self.keys
        return self.keys.resolve(key)


_RSA_ALGS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
