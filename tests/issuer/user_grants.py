"""The test user's grants: authorization codes, refresh tokens and the delegated tokens
the token endpoint answers them with (`authorization_code` and `refresh_token` grants).

Codes are single use and bound to the client, the redirect URI and the PKCE S256
challenge; refresh tokens exist only when `offline_access` was asked for, as at
Entra. Access tokens are v2 (v1 when the API app asks for them) and signed with the
issuer's key ring, so entra-guard accepts them like any Entra token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .apps import GRAPH_APP_ID, GrantError, Registry, ScopeRequest
from .tokens import REMOVE, TokenMinter

CODE_LIFETIME_SECONDS = 600
USER_NAME = "Test User"
USER_UPN = "test.user@contoso.test"
USER_OID = "0b0b0b0b-1111-4222-8333-444444444444"


@dataclass(frozen=True)
class Grant:
    """What the user consented to, for one client."""

    client_id: str
    scopes: ScopeRequest
    redirect_uri: str = ""
    challenge: str = ""
    nonce: str | None = None
    issued: float = 0.0


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Grants:
    """Authorization codes and refresh tokens in memory."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._codes: dict[str, Grant | None] = {}  # None: redeemed
        self._refresh: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def issue_code(self, grant: Grant) -> str:
        code = "1.AAAA-test-code." + secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = Grant(grant.client_id, grant.scopes, grant.redirect_uri, grant.challenge,
                                      grant.nonce, self.clock())
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str | None, verifier: str | None) -> Grant:
        with self._lock:
            if code not in self._codes:
                raise _malformed()
            grant = self._codes[code]
            self._codes[code] = None
        if grant is None:
            raise GrantError(400, "invalid_grant", 54005,
                             "OAuth2 Authorization code was already redeemed, please retry with a new valid code "
                             "or use an existing refresh token.")
        if self.clock() - grant.issued > CODE_LIFETIME_SECONDS:
            raise GrantError(400, "invalid_grant", 70008,
                             "The provided authorization code or refresh token has expired due to inactivity.")
        if client_id != grant.client_id:
            raise GrantError(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
        if redirect_uri != grant.redirect_uri:
            raise GrantError(400, "invalid_grant", 500112,
                             f"The reply address '{redirect_uri}' does not match the reply address "
                             f"'{grant.redirect_uri}' provided when requesting Authorization code.")
        if grant.challenge and (verifier is None or not hmac.compare_digest(s256(verifier), grant.challenge)):
            raise GrantError(400, "invalid_grant", 501481,
                             "The Code_Verifier does not match the code_challenge supplied in the authorization "
                             "request.")
        return grant

    def issue_refresh(self, grant: Grant) -> str:
        token = "1.AAAA-test-rt." + secrets.token_urlsafe(48)
        with self._lock:
            self._refresh[token] = grant
        return token

    def refresh(self, token: str, client_id: str) -> Grant:
        with self._lock:
            grant = self._refresh.get(token)
        if grant is None:
            raise _malformed()
        if grant.client_id != client_id:
            raise GrantError(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
        return grant

    def revoke_refresh_tokens(self) -> int:
        with self._lock:
            count, self._refresh = len(self._refresh), {}
        return count

    def snapshot(self) -> dict:
        with self._lock:
            return {"codes": len(self._codes), "refresh_tokens": len(self._refresh)}


def _malformed() -> GrantError:
    return GrantError(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")


def pairwise_sub(client_id: str) -> str:
    """Entra's `sub`: the user, pairwise per client."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"entra-guard-test/user/{USER_OID}/{client_id}"))


def user_token_response(grant: Grant, tenant: str, registry: Registry, token_version: Callable[[str], int],
                        minter: TokenMinter, grants: Grants) -> dict:
    """The token endpoint's answer for a user grant: access token, and refresh/id tokens when asked."""
    scopes = grant.scopes
    app = scopes.app
    user = {"name": USER_NAME, "oid": USER_OID, "sub": pairwise_sub(grant.client_id), "tid": tenant}
    claims: dict = {**user, "scp": " ".join(scopes.scp), "preferred_username": USER_UPN,
                    "azpacr": "0", "idtyp": REMOVE, "amr": ["pwd"]}
    if app is not None and app.user_roles:
        claims["roles"] = list(app.user_roles)
    if app is None:
        token = minter.v2(tenant=tenant, aud=GRAPH_APP_ID, azp=grant.client_id, **claims)
    elif token_version(app.app_id) == 1:
        del claims["azpacr"], claims["preferred_username"]
        token = minter.v1(tenant=tenant, aud=app.identifier_uris[0], appid=grant.client_id, appidacr="0",
                          upn=USER_UPN, **claims)
    else:
        token = minter.v2(tenant=tenant, aud=app.app_id, azp=grant.client_id, **claims)
    answer = {"token_type": "Bearer", "scope": scopes.granted, "expires_in": minter.lifetime,
              "ext_expires_in": minter.lifetime, "access_token": token}
    if scopes.offline:
        answer["refresh_token"] = grants.issue_refresh(grant)
    if "openid" in scopes.oidc:
        answer["id_token"] = _id_token(grant, tenant, minter, user)
    return answer


def _id_token(grant: Grant, tenant: str, minter: TokenMinter, user: Mapping) -> str:
    issued = int(minter.clock())
    claims = {"aud": grant.client_id, "iss": minter.issuer_v2(tenant), "iat": issued, "nbf": issued,
              "exp": issued + minter.lifetime, **user, "preferred_username": USER_UPN, "ver": "2.0"}
    if grant.nonce is not None:
        claims["nonce"] = grant.nonce
    return minter.sign(claims)
