"""Valid tokens without the permission a rule asks for: 403 insufficient_scope
naming the scopes to request; without any token: 401 naming them too. Scopes are
named as a client requests them from Entra (the `mcp.scopes_supported` entry,
`api://<app>/calculator.add`); app roles cannot be requested, so never named.

Rules: /mcp needs two delegated scopes (`scp`), /admin two app roles (`roles`),
everything needs the `required_claims` (APIM semantics: `any`, `all` + separator).
"""

from __future__ import annotations

import pytest
from filter_config import filter_config, mcp_section
from issuer import REMOVE
from jwt_support import (
    INSUFFICIENT, Metrics, assert_challenged, assert_no_credentials, bearer, challenge, echoed,
)

MCP = mcp_section(scopes=("calculator.add", "calculator.subtract"))
METADATA = MCP["resource_metadata_url"]
SCOPES = ["calculator.add", "calculator.subtract"]
SCOPE_HINT = " ".join(MCP["scopes_supported"])  # api://<app>/calculator.add api://<app>/calculator.subtract
ROLES = ["Calculator.Admin", "Calculator.Audit"]
REQUIRED_CLAIMS = [
    {"name": "xms_tier", "match": "any", "values": ["gold", "silver"]},
    {"name": "xms_cc", "match": "all", "values": ["cp1", "cp2"], "separator": " "},
]
GOOD_CLAIMS = {"xms_tier": "gold", "xms_cc": "cp1 cp2"}


@pytest.fixture(scope="module")
def envoy(module_envoy_factory, module_issuer):
    config = filter_config(
        module_issuer,
        entra={"required_claims": REQUIRED_CLAIMS},
        mcp=MCP,
        rules=[
            {"path_prefix": "/mcp", "require": "jwt", "required_scopes": SCOPES},
            {"path_prefix": "/admin", "require": "jwt", "required_roles": ROLES},
        ],
    )
    return module_envoy_factory(config)


@pytest.fixture
def token(module_issuer):
    """A valid v2 token with the required claims; keyword arguments change claims."""
    def mint(**claims):
        return module_issuer.tokens.v2(claims={**GOOD_CLAIMS, **claims})
    return mint


def assert_insufficient(response, scope: str | None) -> None:
    assert_challenged(response, 403,
                      challenge("insufficient_scope", INSUFFICIENT, scope=scope, resource_metadata=METADATA),
                      "insufficient_scope", INSUFFICIENT)


def test_no_token_challenge_names_the_rules_scopes(envoy):
    assert_no_credentials(envoy.get("/mcp"), scope=SCOPE_HINT, resource_metadata=METADATA)
    assert_no_credentials(envoy.get("/admin/users"), resource_metadata=METADATA)
    assert_no_credentials(envoy.get("/other"), resource_metadata=METADATA)


@pytest.mark.parametrize("scp", ["calculator.add calculator.subtract", "calculator.subtract openid calculator.add"])
def test_all_scopes_present_is_forwarded(envoy, token, scp):
    echoed(envoy.get("/mcp", bearer(token(scp=scp))))


@pytest.mark.parametrize("claims", [
    pytest.param({"scp": "calculator.add"}, id="one-of-two"),
    pytest.param({"scp": "calculator.addition calculator.subtract"}, id="prefix-is-not-a-match"),
    pytest.param({"scp": "Calculator.Add Calculator.Subtract"}, id="case-differs"),
    pytest.param({"scp": "calculator.add,calculator.subtract"}, id="comma-separated"),
    pytest.param({"roles": SCOPES}, id="scopes-as-roles"),
    pytest.param({}, id="no-scp"),
])
def test_missing_scope_is_403(envoy, token, claims):
    metrics = Metrics(envoy)
    assert_insufficient(envoy.get("/mcp/tools", bearer(token(**claims))), SCOPE_HINT)
    metrics.expect({"denied": 1, "denied.scope": 1})


def test_all_roles_present_is_forwarded(envoy, token):
    echoed(envoy.get("/admin", bearer(token(roles=[*ROLES, "Other"]))))


@pytest.mark.parametrize("claims", [
    pytest.param({"roles": ["Calculator.Admin"]}, id="one-of-two"),
    pytest.param({"scp": " ".join(ROLES)}, id="roles-as-scopes"),
    pytest.param({"roles": [r.lower() for r in ROLES]}, id="case-differs"),
])
def test_missing_role_is_403_without_a_scope(envoy, token, claims):
    assert_insufficient(envoy.get("/admin", bearer(token(**claims))), None)


@pytest.mark.parametrize("claims", [
    pytest.param({"xms_tier": "silver"}, id="any-second-value"),
    pytest.param({"xms_cc": "cp2 x cp1"}, id="all-in-other-order"),
])
def test_required_claims_met(envoy, token, claims):
    echoed(envoy.get("/other", bearer(token(**claims))))


@pytest.mark.parametrize("claims", [
    pytest.param({"xms_tier": "bronze"}, id="any-none-matches"),
    pytest.param({"xms_tier": REMOVE}, id="any-claim-missing"),
    pytest.param({"xms_cc": "cp1"}, id="all-one-missing"),
    pytest.param({"xms_cc": "cp1cp2"}, id="all-not-separated"),
])
def test_required_claims_unmet_is_403(envoy, token, claims):
    # The rule names no scopes, so the challenge has no scope to ask for.
    assert_insufficient(envoy.get("/other", bearer(token(**claims))), None)
    # Where the rule names scopes, the challenge asks for them even though the
    # token has them and only a required claim is missing.
    full = {"scp": " ".join(SCOPES), **claims}
    assert_insufficient(envoy.get("/mcp", bearer(token(**full))), SCOPE_HINT)

