"""Configured names in real Envoy: a custom key header, query parameter, name
header and realm (the challenge quotes it), and `"query": null`, which turns the
query form off entirely (such a parameter is then neither read nor removed)."""

from __future__ import annotations

import pytest
from filter_config import filter_config
from subscription_support import (
    CONTOSO,
    CONTOSO_PRIMARY,
    CONTOSO_SECONDARY,
    DEFAULT_NAME_HEADER,
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

CUSTOM_HEADER = "X-Api-Key"
CUSTOM_QUERY = "api_key.v2"
CUSTOM_NAME_HEADER = "X-Subscription"
REALM = 'Contoso "APIs" \\ v1'
CUSTOM_CHALLENGE = apim_challenge("x-api-key", 'Contoso \\"APIs\\" \\\\ v1')
DEFAULT_HEADER = "Ocp-Apim-Subscription-Key"


@pytest.fixture(scope="module")
def custom(module_envoy_factory, module_issuer):
    config = filter_config(
        module_issuer,
        subscription_keys={"header": CUSTOM_HEADER, "query": CUSTOM_QUERY, "name_header": CUSTOM_NAME_HEADER,
                           "realm": REALM, "keys": key_entries()},
        rules=[{"path_prefix": "/public", "require": "none"},
               {"path_prefix": "/sub", "require": "subscription_key"},
               {"path_prefix": "/or", "require": "jwt_or_subscription_key"}],
    )
    return module_envoy_factory(config)


@pytest.fixture(scope="module")
def no_query(module_envoy_factory, module_issuer):
    config = filter_config(
        module_issuer,
        subscription_keys={"query": None, "keys": key_entries()},
        rules=[{"path_prefix": "/sub", "require": "subscription_key"}],
    )
    return module_envoy_factory(config)


def custom_forwarded(response, path: str, name: str | None):
    return forwarded(response, path=path, name=name, name_header=CUSTOM_NAME_HEADER, key_header=CUSTOM_HEADER)


# --- custom names --------------------------------------------------------------------

@pytest.mark.parametrize("header", [CUSTOM_HEADER, "x-api-key", "X-API-KEY"])
def test_custom_header_carries_the_key(custom, header):
    response = custom.request("GET", "/sub?a=1", [(header, CONTOSO_PRIMARY), ("X-Subscription", "admin"),
                                                  ("x-subscription", "admin2")])
    custom_forwarded(response, "/sub?a=1", CONTOSO)


@pytest.mark.parametrize(("query", "name"), [
    pytest.param(f"{CUSTOM_QUERY}={CONTOSO_SECONDARY}", CONTOSO, id="plain"),
    pytest.param("api_key%2Ev2=Fab+r1k%26am%3DK%25ey~!", FABRIKAM, id="encoded-name"),
    pytest.param(f"{CUSTOM_QUERY}=%74est-primary-key-0001", CONTOSO, id="encoded-value"),
])
def test_custom_query_parameter_carries_the_key_and_only_it_is_removed(custom, query, name):
    target = f"/sub?subscription-key=x&{query}&api_key=y&API_KEY.V2=z"
    custom_forwarded(custom.get(target), "/sub?subscription-key=x&api_key=y&API_KEY.V2=z", name)


def test_custom_header_wins_over_the_custom_query(custom):
    response = custom.get(f"/sub?{CUSTOM_QUERY}={UNKNOWN_KEY}", {CUSTOM_HEADER: FABRIKAM_KEY})
    custom_forwarded(response, "/sub", FABRIKAM)


def test_the_default_name_header_is_not_the_filters_to_remove(custom):
    """Only the configured name header is owned by the filter."""
    response = custom.get("/sub", {CUSTOM_HEADER: CONTOSO_PRIMARY, DEFAULT_NAME_HEADER: "client-value"})
    seen = custom_forwarded(response, "/sub", CONTOSO)
    assert seen.header_values(DEFAULT_NAME_HEADER) == ["client-value"]


@pytest.mark.parametrize(("target", "headers"), [
    pytest.param("/sub", {}, id="nothing"),
    pytest.param("/sub", {DEFAULT_HEADER: CONTOSO_PRIMARY}, id="default-header"),
    pytest.param(f"/sub?subscription-key={CONTOSO_PRIMARY}", {}, id="default-query"),
    pytest.param(f"/sub?api_key={CONTOSO_PRIMARY}", {}, id="prefix-of-the-name"),
    pytest.param(f"/sub?API_KEY.V2={CONTOSO_PRIMARY}", {}, id="name-case"),
])
def test_custom_missing_key_names_the_custom_header_and_realm(custom, target, headers):
    assert_missing(custom.get(target, headers), [CUSTOM_CHALLENGE])


@pytest.mark.parametrize(("target", "headers"), [
    pytest.param("/sub", {CUSTOM_HEADER: UNKNOWN_KEY}, id="header"),
    pytest.param(f"/sub?{CUSTOM_QUERY}={UNKNOWN_KEY}", {}, id="query"),
])
def test_custom_invalid_key_names_the_custom_header_and_realm(custom, target, headers):
    assert_invalid(custom.get(target, headers), [CUSTOM_CHALLENGE])


def test_custom_double_challenge_without_mcp_is_plain_bearer_then_apim(custom):
    assert_missing(custom.get("/or"), ["Bearer", CUSTOM_CHALLENGE])


def test_custom_duplicates_get_400(custom):
    assert_two_keys(custom.request("GET", "/sub", [(CUSTOM_HEADER, CONTOSO_PRIMARY), ("x-api-key", UNKNOWN_KEY)]))
    assert_two_keys(custom.get(f"/sub?{CUSTOM_QUERY}={CONTOSO_PRIMARY}&{CUSTOM_QUERY}={CONTOSO_PRIMARY}"))


def test_custom_public_path_removes_the_custom_key_and_name_headers(custom):
    response = custom.get(f"/public?{CUSTOM_QUERY}=k&b=2", {CUSTOM_HEADER: "k", CUSTOM_NAME_HEADER: "admin"})
    custom_forwarded(response, "/public?b=2", None)


# --- "query": null -------------------------------------------------------------------

def test_without_query_form_the_header_still_works(no_query):
    forwarded(no_query.get("/sub?a=1", {DEFAULT_HEADER: CONTOSO_SECONDARY}), path="/sub?a=1", name=CONTOSO)


@pytest.mark.parametrize("query", [
    f"subscription-key={CONTOSO_PRIMARY}",
    f"subscription-key={CONTOSO_PRIMARY}&subscription-key={CONTOSO_PRIMARY}",
])
def test_without_query_form_a_query_key_is_missing(no_query, query):
    assert_missing(no_query.get(f"/sub?{query}"))


def test_without_query_form_the_parameter_is_left_in_place(no_query):
    target = f"/sub?subscription-key={UNKNOWN_KEY}&a=1"
    forwarded(no_query.get(target, {DEFAULT_HEADER: CONTOSO_PRIMARY}), path=target, name=CONTOSO)
