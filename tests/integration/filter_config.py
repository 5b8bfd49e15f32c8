"""entra-guard filter configurations (the JSON of the Wasm filter) for tests.

Built from the running issuer so authority, tenant and audiences always match the
tokens it mints. The keys follow shared/spec/filter-contract.md; a test changes a
section by passing it, or edits the returned dict.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlsplit

from bootstrap import ENTRA_CLUSTER
from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI, Issuer


def filter_config(issuer: Issuer, *, entra: dict[str, Any] | None = None, **sections: Any) -> dict:
    """A valid configuration: one tenant, the default API as audience, every path
    needing a JWT. `entra` entries override the `entra` block's keys; other keyword
    arguments (`rules`, `mcp`, `subscription_keys`, `claims_to_headers`) are added
    as top-level sections. A value of None removes the key."""
    block = {
        "tenant_id": issuer.tenant_id,
        "authority": issuer.base_url,
        "cluster": ENTRA_CLUSTER,
        "audiences": [DEFAULT_API_URI, DEFAULT_API_APP_ID],
    }
    config: dict[str, Any] = {"entra": _apply(block, entra or {})}
    return _apply(config, sections)


def mcp_section(resource: str = "https://mcp.contoso.test/mcp", scopes: tuple[str, ...] = ()) -> dict:
    """An `mcp` block whose metadata URL is the RFC 9728 path of `resource`."""
    parts = urlsplit(resource)
    return {
        "resource": resource,
        "resource_metadata_url": f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{parts.path}",
        "scopes_supported": [f"{DEFAULT_API_URI}/{scope}" for scope in scopes],
        "resource_name": "entra-guard test MCP server",
    }


def _apply(base: dict, overrides: dict) -> dict:
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result
