"""The user grants of `POST /{tenant}/oauth2/v2.0/token`: `authorization_code` and
`refresh_token` (client credentials live in token_endpoint.py).

Public clients authenticate with `client_id` alone and are refused a secret
(AADSTS700025); `resource`, when sent, must be one of the API app's identifier URIs
(AADSTS9010010), as at the authorize endpoint. A code is redeemed cross-origin (a
browser's `Origin`) only for an SPA redirect URI, and an SPA redirect URI's code only
cross-origin (AADSTS9002326, AADSTS9002327).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .apps import GrantError, Registry
from .token_endpoint import TokenError
from .tokens import TokenMinter
from .user_grants import Grant, Grants, user_token_response

USER_GRANTS = ("authorization_code", "refresh_token")


def _missing(parameter: str) -> GrantError:
    return GrantError(400, "invalid_request", 900144,
                      f"The request body must contain the following parameter: '{parameter}'.")


def user_grant(values: Mapping[str, str], tenant: str, registry: Registry, grants: Grants,
               token_version: Callable[[str], int], minter: TokenMinter, origin: str | None = None) -> dict:
    """The token response for a user grant, or raises `TokenError`. `origin`: the
    request's `Origin` header (a browser's cross-origin request)."""
    try:
        return _user_grant(values, tenant, registry, grants, token_version, minter, origin)
    except GrantError as error:
        raised = TokenError(error.status, error.error, error.code, "")
        raised.body = error.body
        raise raised from error


def _user_grant(values: Mapping[str, str], tenant: str, registry: Registry, grants: Grants,
                token_version: Callable[[str], int], minter: TokenMinter, origin: str | None) -> dict:
    client_id = values.get("client_id")
    if not client_id:
        raise _missing("client_id")
    client = registry.public_client(client_id)
    if client is None:
        raise GrantError(400, "unauthorized_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.")
    if "client_secret" in values or "client_assertion" in values:
        raise GrantError(401, "invalid_client", 700025,
                         "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
    if values["grant_type"] == "authorization_code":
        code = values.get("code")
        if not code:
            raise _missing("code")
        _check_platform(client.is_spa(values.get("redirect_uri") or ""), origin)
        grant = grants.redeem_code(code, client_id, values.get("redirect_uri"), values.get("code_verifier"))
    else:
        token = values.get("refresh_token")
        if not token:
            raise _missing("refresh_token")
        grant = grants.refresh(token, client_id)
        if values.get("scope"):
            grant = Grant(client_id, registry.resolve(values["scope"], tenant, client_id))
    grant.scopes.check_resource(values.get("resource"))
    return user_token_response(grant, tenant, registry, token_version, minter, grants)


def _check_platform(spa: bool, origin: str | None) -> None:
    if origin is not None and not spa:
        raise GrantError(400, "invalid_request", 9002326,
                         "Cross-origin token redemption is permitted only for the 'Single-Page Application' "
                         f"client-type. Request origin: '{origin}'.")
    if origin is None and spa:
        raise GrantError(400, "invalid_request", 9002327,
                         "Tokens issued for the 'Single-Page Application' client-type may only be redeemed "
                         "via cross-origin requests.")
