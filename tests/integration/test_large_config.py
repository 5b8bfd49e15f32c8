"""A large deployment's configuration in real Envoy (issue #17): bench/large_config.py
grows a base configuration to 10,000 subscriptions of two keys, 1,000 rules and
200 allowed tenants (over 2 MB of JSON). Envoy loads it, and requests get what
they get under the base: its rules are reached at the end of the list, a
generated key opens a generated rule, and a forged token stays refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from filter_config import filter_config
from issuer.tokens import with_garbage_signature
from jwt_support import bearer
from subscription_support import assert_invalid, forwarded

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from large_config import large_config, subscription_key, subscription_name  # noqa: E402

BASE_RULES = [
    {"path_prefix": "/health", "require": "none"},
    {"path_prefix": "/api", "require": "jwt"},
]


@pytest.fixture(scope="module")
def envoy(module_envoy_factory, module_issuer):
    config = large_config(filter_config(module_issuer, rules=BASE_RULES))
    assert len(config["rules"]) == 1_000 and config["rules"][-2:] == BASE_RULES
    assert len(config["subscription_keys"]["keys"]) == 20_000
    assert config["entra"]["allowed_tenants"][-1] == module_issuer.tenant_id
    return module_envoy_factory(config)


def test_the_base_rules_still_decide(envoy, module_issuer):
    token = module_issuer.tokens.v2()
    assert envoy.get("/api/x", bearer(token)).status == 200
    assert envoy.get("/api/x").status == 401
    assert envoy.get("/health").status == 200
    forged = with_garbage_signature(token)
    for _ in range(3):
        assert envoy.get("/api/x", bearer(forged)).status == 401


def test_a_generated_key_opens_a_generated_rule(envoy):
    # Rule 992 of the generated ones: subscription_key, three segments deep.
    path = "/large-config-992/s1/s2/x"
    response = envoy.get(path, {"Ocp-Apim-Subscription-Key": subscription_key(9_999, "secondary")})
    forwarded(response, path=path, name=subscription_name(9_999))
    assert_invalid(envoy.get(path, {"Ocp-Apim-Subscription-Key": subscription_key(10_000)}))
