"""One Envoy (two workers plus the main thread, each with its own Wasm VM) fetches
the keys once, however many requests arrive while it does: they wait, and all
resume when the keys are in, each one fully checked."""

from __future__ import annotations

import pytest
from filter_config import filter_config
from issuer.tokens import with_garbage_signature
from jwt_support import BAD_SIGNATURE, METRIC_PREFIX, UNKNOWN_KEY, all_statuses, assert_invalid_token, bearer, concurrently

pytestmark = pytest.mark.wasm  # Envoys started with the built filter

REQUESTS = 300


def test_one_discovery_and_one_jwks_fetch_under_load_at_startup(envoy_factory, issuer):
    # The key set answers after a second: every request below arrives before keys exist.
    issuer.set_fault("jwks", "slow", delay=1.0, count=1)
    valid = issuer.tokens.mint_many(20) + [issuer.tokens.v1() for _ in range(5)]
    forged = [with_garbage_signature(issuer.tokens.v2()) for _ in range(5)]
    unknown = [issuer.tokens.v2(key="unpublished") for _ in range(5)]
    tokens = valid + forged + unknown  # request i sends tokens[i % len(tokens)]
    envoy = envoy_factory(filter_config(issuer), concurrency=2)

    responses = concurrently(lambda i: envoy.get("/", bearer(tokens[i % len(tokens)])), REQUESTS, workers=100)

    accepted = sum(1 for i in range(REQUESTS) if tokens[i % len(tokens)] in valid)
    assert all_statuses(responses) == {200: accepted, 401: REQUESTS - accepted}
    for i, response in enumerate(responses):  # a resumed request is checked like any other
        token = tokens[i % len(tokens)]
        if token in forged:
            assert_invalid_token(response, BAD_SIGNATURE[0])
        elif token in unknown:
            assert_invalid_token(response, UNKNOWN_KEY[0])
        else:
            assert response.status == 200
    assert issuer.counters()["kinds"] == {"discovery": 1, "jwks": 1}
    assert envoy.wait_for_stat(f"{METRIC_PREFIX}allowed", lambda n: n == accepted) == accepted
    assert envoy.stat(f"{METRIC_PREFIX}jwks_fetch.ok") == 1
    assert envoy.stat(f"{METRIC_PREFIX}jwks_fetch.failed") == 0
    assert envoy.stat(f"{METRIC_PREFIX}requests_waited_for_keys") > 0
    per_worker = [value for name, value in envoy.stats("listener.").items()
                  if ".worker_" in name and name.endswith(".downstream_cx_total")]
    assert len(per_worker) == 2 and min(per_worker) > 0, per_worker  # both workers served (and waited)

    # Both workers verify with the keys fetched once (more connections, no more fetches).
    more = concurrently(lambda i: envoy.get("/", bearer(issuer.tokens.v2())), 40, workers=20)
    assert all_statuses(more) == {200: 40}
    assert issuer.counters()["kinds"] == {"discovery": 1, "jwks": 1}
