"""The "Composing with Envoy" recipes ship once for each deployment: the Istio
and Envoy Gateway manifests carry the access log and rate limits of
envoy/recipes/identity.yaml (which tests/integration/test_compose_envoy.py runs
in real Envoy), so a change to one that is not made to the others fails here."""

from __future__ import annotations

import re

from shipped import ENVOY_FILES, manifests

FILTER_STATE_NAMES = {"outcome", "reason", "oid", "tid", "client_id", "subscription", "rule"}


def recipe_hcm() -> dict:
    recipe = next(f for f in ENVOY_FILES if f.rel == "envoy/recipes/identity.yaml").docs[0]
    listener = recipe["static_resources"]["listeners"][0]
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def recipe_filter(name: str) -> dict:
    return next(f for f in recipe_hcm()["http_filters"] if f["name"] == name)


def istio_patch(name: str) -> dict:
    envoy_filter = next(m for m in manifests("EnvoyFilter") if m.name == name)
    (patch,) = envoy_filter.spec["configPatches"]
    return patch["patch"]["value"]


def names_logged(text: str) -> set[str]:
    return set(re.findall(r"%FILTER_STATE\(wasm\.entra_guard\.(\w+):PLAIN\)%", text))


def test_the_recipe_logs_every_filter_state_name():
    (log,) = recipe_hcm()["access_log"]
    assert names_logged(log["typed_config"]["log_format"]["text_format_source"]["inline_string"]) == FILTER_STATE_NAMES


def test_istio_ships_the_recipe_access_log_and_rate_limits():
    assert istio_patch("entra-guard-access-log")["typed_config"]["access_log"] == recipe_hcm()["access_log"]
    assert istio_patch("entra-guard-rate-limits") == recipe_filter("envoy.filters.http.local_ratelimit")


def test_envoy_gateway_logs_the_same_names():
    (proxy,) = manifests("EnvoyProxy")
    (setting,) = proxy.spec["telemetry"]["accessLog"]["settings"]
    assert names_logged(setting["format"]["text"]) == FILTER_STATE_NAMES


def test_policies_read_only_headers_the_filter_sets():
    """SecurityPolicy, BackendTrafficPolicy and AuthorizationPolicy cannot read filter
    state: they read the headers the filter sets (and strips from client input)."""
    trusted = {"x-entra-client-id", "x-apim-subscription-name"}
    (security,) = manifests("SecurityPolicy")
    read = {h["name"] for rule in security.spec["authorization"]["rules"] for h in rule["principal"]["headers"]}
    (traffic,) = manifests("BackendTrafficPolicy")
    read |= {h["name"] for rule in traffic.spec["rateLimit"]["global"]["rules"]
             for selector in rule["clientSelectors"] for h in selector["headers"]}
    (authz,) = manifests("AuthorizationPolicy")
    read |= {re.fullmatch(r"request\.headers\[(.+)\]", c["key"]).group(1)
             for rule in authz.spec["rules"] for c in rule["when"]}
    assert read == trusted
    plugin = next(m for m in manifests("WasmPlugin"))
    assert plugin.spec["pluginConfig"]["claims_to_headers"]["azp"] == "x-entra-client-id"
