"""The filter's counters (Envoy stats `wasmcustom.entra_guard.*`): what is allowed
and how, what is denied and why, and the verified-token cache at work."""

from __future__ import annotations

import time

import pytest
from filter_config import filter_config
from jwt_support import EXPIRED, INSUFFICIENT, METRIC_PREFIX, KeepAlive, Metrics, assert_invalid_token, bearer


@pytest.fixture(scope="module")
def envoy(module_envoy_factory, module_issuer):
    config = filter_config(module_issuer, rules=[
        {"path_prefix": "/public", "require": "none"},
        {"path_prefix": "/scoped", "require": "jwt", "required_scopes": ["calculator.add"]},
    ])
    envoy = module_envoy_factory(config)
    assert envoy.get("/", bearer(module_issuer.tokens.v2())).status == 200  # keys fetched
    envoy.wait_for_stat(f"{METRIC_PREFIX}jwks_fetch.ok", lambda n: n == 1)
    return envoy


@pytest.fixture
def issuer(module_issuer):
    return module_issuer


def test_repeated_token_is_verified_once_per_connection(envoy, issuer):
    """A connection stays on one worker, and each worker has its own cache."""
    metrics = Metrics(envoy)
    token = issuer.tokens.v2()
    with KeepAlive(envoy.port) as connection:
        for _ in range(5):
            assert connection.get("/api", bearer(token)).status == 200
        assert connection.get("/api", bearer(issuer.tokens.v1())).status == 200
    metrics.expect({"allowed": 6, "allowed.jwt": 6, "token_cache.miss": 2, "token_cache.hit": 4})


def test_cache_hit_still_checks_the_rule(envoy, issuer):
    metrics = Metrics(envoy)
    token = issuer.tokens.v2()  # no scp
    with KeepAlive(envoy.port) as connection:
        assert connection.get("/api", bearer(token)).status == 200
        for _ in range(2):
            response = connection.get("/scoped", bearer(token))
            assert response.status == 403
            assert response.json()["error_description"] == INSUFFICIENT
    # The 403s are decided on cache hits, but only allowed requests count as hits.
    metrics.expect({"allowed": 1, "allowed.jwt": 1, "token_cache.miss": 1, "denied": 2, "denied.scope": 2})


def test_public_preflight_and_missing_are_counted(envoy):
    metrics = Metrics(envoy)
    assert envoy.get("/public/health").status == 200
    assert envoy.request("OPTIONS", "/api", {"Origin": "https://app.example",
                                             "Access-Control-Request-Method": "POST"}).status == 200
    assert envoy.get("/api").status == 401
    assert envoy.get("/api", bearer("x.y.z")).status == 401
    metrics.expect({"allowed": 2, "allowed.public": 1, "allowed.preflight": 1,
                    "denied": 2, "denied.missing": 1, "denied.malformed": 1})


def test_cached_token_expires_with_its_exp(envoy, issuer):
    """A verified token is remembered no longer than its exp (+ the 300 s skew)."""
    now = int(time.time())
    token = issuer.tokens.v2(now=now - 3600, lifetime=3600 - 299)  # exp + skew = now + 1
    metrics = Metrics(envoy)
    accepted = 0
    with KeepAlive(envoy.port) as connection:
        deadline = time.monotonic() + 5
        while (response := connection.get("/api", bearer(token))).status == 200:
            accepted += 1
            assert time.monotonic() < deadline, "still accepted 4 s after exp + skew"
            time.sleep(0.05)
        assert_invalid_token(response, EXPIRED[0])
    assert accepted >= 1
    cache_hits = {"token_cache.hit": accepted - 1} if accepted > 1 else {}
    metrics.expect({"allowed": accepted, "allowed.jwt": accepted, "token_cache.miss": 1, **cache_hits,
                    "denied": 1, "denied.expired": 1})
