"""Keys combined with Entra JWTs in real Envoy: `jwt_and_subscription_key` (both
needed, the key checked first) and `jwt_or_subscription_key` (either suffices;
neither gets both challenges, Bearer first, as the README says), with an `mcp`
block so the Bearer challenges carry `resource_metadata`."""

from __future__ import annotations

import pytest
from filter_config import filter_config, mcp_section
from issuer import DEFAULT_API_URI, DEFAULT_CLIENT_ID
from issuer.tokens import service_principal_oid
from jwt_support import (
    INSUFFICIENT,
    MALFORMED,
    METRIC_PREFIX,
    Metrics,
    assert_challenged,
    assert_invalid_token,
    assert_no_credentials,
    bearer,
    challenge,
)
from subscription_support import (
    CONTOSO,
    CONTOSO_PRIMARY,
    CONTOSO_SECONDARY,
    FABRIKAM,
    FABRIKAM_KEY,
    UNKNOWN_KEY,
    apim_challenge,
    assert_invalid,
    assert_missing,
    assert_two_keys,
    forwarded,
    key_entries,
)

HEADER = "Ocp-Apim-Subscription-Key"
MCP = mcp_section(scopes=("calculator.add",))
METADATA = MCP["resource_metadata_url"]
SCOPE = f"{DEFAULT_API_URI}/calculator.add"
OID = service_principal_oid(DEFAULT_CLIENT_ID)
IGNORE = ("token_cache.",)


@pytest.fixture(scope="module")
def envoy(module_envoy_factory, module_issuer):
    config = filter_config(
        module_issuer,
        mcp=MCP,
        subscription_keys={"keys": key_entries()},
        rules=[{"path_prefix": "/and", "require": "jwt_and_subscription_key"},
               {"path_prefix": "/or/scoped", "require": "jwt_or_subscription_key",
                "required_scopes": ["calculator.add"]},
               {"path_prefix": "/or", "require": "jwt_or_subscription_key"}],
        claims_to_headers={"oid": "x-entra-oid"},
    )
    envoy = module_envoy_factory(config)
    # Keys fetched before the tests, so no request waits for them.
    assert envoy.get("/or", bearer(module_issuer.tokens.v2())).status == 200
    envoy.wait_for_stat(f"{METRIC_PREFIX}jwks_fetch.ok", lambda n: n == 1)
    return envoy


@pytest.fixture
def token(module_issuer) -> str:
    return module_issuer.tokens.v2()


def key(value: str) -> dict[str, str]:
    return {HEADER: value}


def assert_both_challenges(response, scope: str | None = None) -> None:
    """Neither credential: 401, the Bearer challenge (with its CORS headers) first,
    then APIM's, and APIM's missing-key body."""
    assert_missing(response, [challenge(scope=scope, resource_metadata=METADATA), apim_challenge()])
    assert response.header_values("access-control-allow-origin") == ["*"]
    assert response.header_values("access-control-expose-headers") == ["WWW-Authenticate"]


# --- jwt_and_subscription_key --------------------------------------------------------

@pytest.mark.parametrize(("headers", "target", "name"), [
    pytest.param(key(CONTOSO_PRIMARY), "/and/x?a=1", CONTOSO, id="primary-header"),
    pytest.param(key(CONTOSO_SECONDARY), "/and/x?a=1", CONTOSO, id="secondary-header"),
    pytest.param({}, f"/and/x?subscription-key={CONTOSO_SECONDARY}&a=1", CONTOSO, id="secondary-query"),
    pytest.param(key(FABRIKAM_KEY), "/and/x?a=1", FABRIKAM, id="other-subscription"),
])
def test_and_forwards_with_key_and_token(envoy, token, headers, target, name):
    response = envoy.get(target, {**headers, "Authorization": f"Bearer {token}",
                                  "X-Apim-Subscription-Name": "admin", "X-Entra-Oid": "spoofed"})
    seen = forwarded(response, path="/and/x?a=1", name=name)
    assert seen.header_values("authorization") == [f"Bearer {token}"]
    assert seen.header_values("x-entra-oid") == [OID]


def test_and_key_without_token_gets_the_bearer_challenge(envoy):
    assert_no_credentials(envoy.get("/and", key(CONTOSO_PRIMARY)), resource_metadata=METADATA)


def test_and_key_with_invalid_token_gets_invalid_token(envoy):
    assert_invalid_token(envoy.get("/and", {**key(CONTOSO_PRIMARY), **bearer("x.y.z")}), MALFORMED[0], METADATA)


@pytest.mark.parametrize("with_token", [True, False], ids=["token", "no-token"])
def test_and_without_key_gets_the_missing_key_answer_only(envoy, token, with_token):
    assert_missing(envoy.get("/and", bearer(token) if with_token else {}))


@pytest.mark.parametrize("auth", ["valid", "invalid", "none"])
def test_and_unknown_key_gets_the_invalid_key_answer_whatever_the_token(envoy, token, auth):
    headers = {"valid": bearer(token), "invalid": bearer("x.y.z"), "none": {}}[auth]
    assert_invalid(envoy.get("/and", {**key(UNKNOWN_KEY), **headers}))


def test_and_two_keys_get_400_even_with_a_token(envoy, token):
    assert_two_keys(envoy.request("GET", "/and", [(HEADER, CONTOSO_PRIMARY), (HEADER, CONTOSO_PRIMARY),
                                                  ("Authorization", f"Bearer {token}")]))


# --- jwt_or_subscription_key ---------------------------------------------------------

def test_or_with_neither_gets_both_challenges_bearer_first(envoy):
    assert_both_challenges(envoy.get("/or/tools?a=1"))


def test_or_with_neither_names_the_rules_scope_in_the_bearer_challenge(envoy):
    assert_both_challenges(envoy.get("/or/scoped"), scope=SCOPE)


@pytest.mark.parametrize(("headers", "target", "name"), [
    pytest.param(key(CONTOSO_PRIMARY), "/or/x?a=1", CONTOSO, id="primary"),
    pytest.param({}, f"/or/x?a=1&subscription-key={CONTOSO_SECONDARY}", CONTOSO, id="secondary-query"),
    pytest.param(key(FABRIKAM_KEY), "/or/x?a=1", FABRIKAM, id="other-subscription"),
])
def test_or_key_alone_suffices(envoy, headers, target, name):
    seen = forwarded(envoy.get(target, {**headers, "X-Apim-Subscription-Name": "admin"}), path="/or/x?a=1",
                     name=name)
    assert seen.header_values("x-entra-oid") == []


def test_or_valid_key_is_enough_on_a_scoped_rule(envoy):
    forwarded(envoy.get("/or/scoped", key(CONTOSO_PRIMARY)), path="/or/scoped", name=CONTOSO)


def test_or_token_alone_suffices(envoy, token):
    seen = forwarded(envoy.get("/or/x?a=1", {**bearer(token), "X-Apim-Subscription-Name": "admin"}),
                     path="/or/x?a=1", name=None)
    assert seen.header_values("x-entra-oid") == [OID]


def test_or_invalid_key_with_valid_token_is_forwarded_without_the_key(envoy, token):
    response = envoy.get(f"/or/x?subscription-key={CONTOSO_PRIMARY}x&a=1",
                         {**key(UNKNOWN_KEY), **bearer(token), "X-Apim-Subscription-Name": "admin"})
    seen = forwarded(response, path="/or/x?a=1", name=None)
    assert seen.header_values("x-entra-oid") == [OID]
    assert seen.header_values("authorization") == [f"Bearer {token}"]


@pytest.mark.parametrize("target", ["/or", "/or/scoped"])
def test_or_invalid_key_alone_gets_the_invalid_key_answer_only(envoy, target):
    assert_invalid(envoy.get(target, key(UNKNOWN_KEY)))


def test_or_invalid_token_without_key_gets_invalid_token(envoy):
    assert_invalid_token(envoy.get("/or", bearer("x.y.z")), MALFORMED[0], METADATA)


def test_or_invalid_key_and_invalid_token_get_invalid_token(envoy):
    assert_invalid_token(envoy.get("/or", {**key(UNKNOWN_KEY), **bearer("x.y.z")}), MALFORMED[0], METADATA)


def test_or_valid_key_with_invalid_token_gets_invalid_token(envoy):
    """The key admits, but the upstream would read the token: it is verified all the same."""
    assert_invalid_token(envoy.get("/or", {**key(CONTOSO_PRIMARY), **bearer("x.y.z")}), MALFORMED[0], METADATA)


def test_or_valid_key_with_valid_token_forwards_both(envoy, token):
    seen = forwarded(envoy.get("/or/x?a=1", {**key(CONTOSO_PRIMARY), **bearer(token)}), path="/or/x?a=1",
                     name=CONTOSO)
    assert seen.header_values("x-entra-oid") == [OID]


def test_or_token_without_the_scope_and_no_key_gets_403(envoy, token):
    assert_challenged(envoy.get("/or/scoped", bearer(token)), 403,
                      challenge("insufficient_scope", INSUFFICIENT, scope=SCOPE, resource_metadata=METADATA),
                      "insufficient_scope", INSUFFICIENT)


def test_or_two_keys_without_token_get_400(envoy):
    assert_two_keys(envoy.get(f"/or?subscription-key={CONTOSO_PRIMARY}&subscription-key={CONTOSO_PRIMARY}"))


# --- metrics -------------------------------------------------------------------------

def test_and_counters(envoy, token):
    metrics = Metrics(envoy)
    assert envoy.get("/and", {**key(CONTOSO_PRIMARY), **bearer(token)}).status == 200
    assert envoy.get("/and", {**key(CONTOSO_SECONDARY), **bearer(token)}).status == 200
    assert envoy.get("/and", {**key(FABRIKAM_KEY), **bearer(token)}).status == 200
    assert_missing(envoy.get("/and", bearer(token)))
    assert_invalid(envoy.get("/and", {**key(UNKNOWN_KEY), **bearer(token)}))
    assert envoy.get("/and", key(CONTOSO_PRIMARY)).status == 401
    metrics.expect({"allowed": 3, "allowed.jwt_and_subscription_key": 3, "subscription.contoso-app.allowed": 2,
                    "subscription.fabrikam_prod.allowed": 1, "denied": 3, "denied.subscription_missing": 1,
                    "denied.subscription_invalid": 1, "denied.missing": 1}, ignore=IGNORE)


def test_or_counters(envoy, token):
    metrics = Metrics(envoy)
    assert envoy.get("/or", key(CONTOSO_PRIMARY)).status == 200
    assert envoy.get("/or", key(FABRIKAM_KEY)).status == 200
    assert envoy.get("/or", bearer(token)).status == 200
    assert envoy.get("/or", {**key(UNKNOWN_KEY), **bearer(token)}).status == 200
    assert_both_challenges(envoy.get("/or"))
    assert_invalid(envoy.get("/or", key(UNKNOWN_KEY)))
    metrics.expect({"allowed": 4, "allowed.subscription_key": 2, "allowed.jwt": 2,
                    "subscription.contoso-app.allowed": 1, "subscription.fabrikam_prod.allowed": 1,
                    "denied": 2, "denied.missing": 1, "denied.subscription_invalid": 1}, ignore=IGNORE)
