"""The JSON documents the simulator serves, shaped like Entra ID's.

Pure functions of (base URL, tenant, keys) so tests can also build the expected
document and compare. Field names and the multi-tenant `{tenantid}` template follow
what login.microsoftonline.com publishes.
"""

from __future__ import annotations

import datetime
import uuid

from .constants import MULTI_TENANT_ALIASES, TENANT_TEMPLATE, V1_ISSUER_TEMPLATE
from .keys import KeyPair


def issuer_tenant(tenant: str) -> str:
    """The tenant part of an issuer: the template for `common`/`organizations`."""
    return TENANT_TEMPLATE if tenant in MULTI_TENANT_ALIASES else tenant


def v2_issuer(base_url: str, tenant: str) -> str:
    return f"{base_url}/{issuer_tenant(tenant)}/v2.0"


def v1_issuer(tenant: str) -> str:
    return V1_ISSUER_TEMPLATE.format(tenant=issuer_tenant(tenant))


def discovery_v2(base_url: str, tenant: str) -> dict:
    """`GET /{tenant}/v2.0/.well-known/openid-configuration`."""
    oauth = f"{base_url}/{tenant}/oauth2/v2.0"
    return {
        "token_endpoint": f"{oauth}/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base_url}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": v2_issuer(base_url, tenant),
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base_url}/oidc/userinfo",
        "authorization_endpoint": f"{oauth}/authorize",
        "device_authorization_endpoint": f"{oauth}/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{oauth}/logout",
        "claims_supported": [
            "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
            "name", "tid", "ver", "at_hash", "c_hash", "email",
        ],
        "kerberos_endpoint": f"{base_url}/{tenant}/kerberos",
        "tenant_region_scope": None if tenant in MULTI_TENANT_ALIASES else "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


def discovery_v1(base_url: str, tenant: str) -> dict:
    """`GET /{tenant}/.well-known/openid-configuration` (the v1 endpoint)."""
    oauth = f"{base_url}/{tenant}/oauth2"
    return {
        "token_endpoint": f"{oauth}/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base_url}/{tenant}/discovery/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": v1_issuer(tenant),
        "microsoft_multi_refresh_token": True,
        "authorization_endpoint": f"{oauth}/authorize",
        "device_authorization_endpoint": f"{oauth}/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{oauth}/logout",
        "claims_supported": [
            "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email",
            "given_name", "family_name", "nickname",
        ],
        "check_session_iframe": f"{oauth}/checksession",
        "userinfo_endpoint": f"{base_url}/{tenant}/openid/userinfo",
        "kerberos_endpoint": f"{base_url}/{tenant}/kerberos",
        "tenant_region_scope": None if tenant in MULTI_TENANT_ALIASES else "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


def jwks(base_url: str, tenant: str, keys: list[KeyPair]) -> dict:
    """The key set; like Entra, each key names the (v2) issuer it signs for."""
    issuer = v2_issuer(base_url, tenant)
    return {"keys": [key.jwk(issuer) for key in keys]}


def entra_error(error: str, code: int, description: str) -> dict:
    """An Entra-style OAuth error body; the description starts with `AADSTS<code>:`."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {now}"
        ),
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def tenant_not_found(tenant: str) -> dict:
    return entra_error(
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud.",
    )
