"""The `/_admin/` JSON API: the in-process controls of `Issuer`, over HTTP.

Used when the issuer runs as its own process (demo scripts, benchmarks, a test
that talks to a CLI issuer). Each endpoint maps to one `Issuer` method; an invalid
request answers 400 with `{"error": "..."}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .keys import SIGNING
from .tokens import REMOVE

if TYPE_CHECKING:
    from .issuer import Issuer

Handler = Callable[["Issuer", dict[str, str], dict[str, Any]], Any]


def _rotate(issuer: Issuer, _query, body) -> dict:
    key = issuer.rotate_keys(keep_old=bool(body.get("keep_old", True)),
                             switch_signing=bool(body.get("switch_signing", True)))
    return {"kid": key.kid, "keys": issuer.keys.snapshot()}


def _retire(issuer: Issuer, _query, body) -> dict:
    issuer.retire_key(body["kid"])
    return {"keys": issuer.keys.snapshot()}


def _sign_with(issuer: Issuer, _query, body) -> dict:
    issuer.sign_with(body["kid"])
    return {"keys": issuer.keys.snapshot()}


def _fault(issuer: Issuer, _query, body) -> dict:
    params = dict(body)
    target, mode = params.pop("target", "all"), params.pop("mode")
    issuer.set_fault(target, mode, **params)
    return {"faults": issuer.faults()}


def _clear_faults(issuer: Issuer, _query, body) -> dict:
    issuer.clear_faults(body.get("target"))
    return {"faults": issuer.faults()}


def _reset_counters(issuer: Issuer, _query, _body) -> dict:
    issuer.reset_counters()
    return issuer.counters()


def _requests(issuer: Issuer, query, _body) -> dict:
    return {"requests": [asdict(r) for r in issuer.requests(query.get("kind"))]}


def _register_client(issuer: Issuer, _query, body) -> dict:
    client = issuer.register_client(body["client_id"], body["client_secret"], body.get("roles", []))
    return {"client_id": client.client_id}


def _register_api(issuer: Issuer, _query, body) -> dict:
    """Body: app_id, identifier_uris (list), scopes (list), user_roles (list)."""
    app = issuer.register_api(body["app_id"], body.get("identifier_uris"), body.get("scopes", []),
                              body.get("user_roles", []))
    return {"app_id": app.app_id, "identifier_uris": app.identifier_uris, "scopes": app.scopes}


def _register_public_client(issuer: Issuer, _query, body) -> dict:
    client = issuer.register_public_client(body["client_id"], body.get("redirect_uris", []),
                                           body.get("name", "MCP client"), body.get("spa_redirect_uris", []))
    return {"client_id": client.client_id, "redirect_uris": client.redirect_uris,
            "spa_redirect_uris": client.spa_redirect_uris}


def _sign_in(issuer: Issuer, _query, body) -> dict:
    issuer.set_sign_in(body["mode"])
    return {"sign_in": issuer.sign_in}


def _revoke_refresh_tokens(issuer: Issuer, _query, _body) -> dict:
    return {"revoked": issuer.grants.revoke_refresh_tokens()}


def _token_version(issuer: Issuer, _query, body) -> dict:
    issuer.set_token_version(body["app_id"], int(body["version"]))
    return {"app_id": body["app_id"], "version": int(body["version"])}


def _add_tenant(issuer: Issuer, _query, body) -> dict:
    issuer.add_tenant(body["tenant"])
    return {"tenants": issuer.tenants}


def _signing_key(issuer: Issuer, _query, _body) -> dict:
    """The private signing key: lets `mint.py` sign thousands of tokens locally."""
    key = issuer.keys.signing
    return {"kid": key.kid, "pem": key.private_pem(), "authority": issuer.base_url,
            "tenant": issuer.tenant_id}


def _mint(issuer: Issuer, _query, body) -> dict:
    """Body: version (1|2), tenant, key (signing|retired|unpublished|<kid>), claims, remove, header."""
    overrides = dict(body.get("claims", {}))
    overrides.update({name: REMOVE for name in body.get("remove", [])})
    header = dict(body.get("header", {}))
    header.update({name: REMOVE for name in body.get("remove_header", [])})
    minter = issuer.minter(body.get("tenant"))
    mint = minter.v1 if int(body.get("version", 2)) == 1 else minter.v2
    return {"token": mint(key=body.get("key", SIGNING), header=header, claims=overrides)}


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/_admin/state"): lambda issuer, _q, _b: issuer.state(),
    ("POST", "/_admin/rotate"): _rotate,
    ("POST", "/_admin/retire"): _retire,
    ("POST", "/_admin/sign-with"): _sign_with,
    ("GET", "/_admin/faults"): lambda issuer, _q, _b: {"faults": issuer.faults()},
    ("POST", "/_admin/fault"): _fault,
    ("POST", "/_admin/faults/clear"): _clear_faults,
    ("GET", "/_admin/counters"): lambda issuer, _q, _b: issuer.counters(),
    ("POST", "/_admin/counters/reset"): _reset_counters,
    ("GET", "/_admin/requests"): _requests,
    ("POST", "/_admin/clients"): _register_client,
    ("POST", "/_admin/token-version"): _token_version,
    ("POST", "/_admin/apis"): _register_api,
    ("POST", "/_admin/public-clients"): _register_public_client,
    ("POST", "/_admin/sign-in"): _sign_in,
    ("POST", "/_admin/refresh-tokens/revoke"): _revoke_refresh_tokens,
    ("POST", "/_admin/tenants"): _add_tenant,
    ("GET", "/_admin/signing-key"): _signing_key,
    ("POST", "/_admin/mint"): _mint,
}


def handle(issuer: Issuer, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
    """(status, JSON value) for one admin request."""
    handler = ROUTES.get((method, path))
    if handler is None:
        known = sorted(f"{m} {p}" for m, p in ROUTES)
        return 404, {"error": f"no admin endpoint {method} {path}", "endpoints": known}
    try:
        return 200, handler(issuer, query, body)
    except KeyError as exc:
        return 400, {"error": f"missing or unknown value: {exc.args[0]}"}
    except (ValueError, TypeError) as exc:
        return 400, {"error": str(exc)}
