"""Key rotation without a restart: a token with a new kid makes the filter re-fetch
the keys (once, rate-limited) while the request waits; a flood of made-up kids
cannot turn into a flood of fetches."""

from __future__ import annotations

import time
import uuid

import pytest
from filter_config import filter_config
from issuer.tokens import decode_unverified
from jwt_support import UNKNOWN_KEY, Metrics, all_statuses, assert_invalid_token, bearer, concurrently, echoed

pytestmark = pytest.mark.wasm  # Envoys started with the built filter


def wait_for_cooldown(last_fetch: float, seconds: float) -> None:
    """The kid-miss re-fetch is allowed `kid_miss_refetch_seconds` after the start
    of the last fetch, which began before `last_fetch` (a monotonic time taken
    after it). Wait until then: this is the rate limit under test, not a guess."""
    remaining = last_fetch + seconds + 0.05 - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


def test_rotation_without_restart(envoy_factory, issuer):
    # Entra publishes the next key weeks before it signs with it: a key set that
    # already has it needs no re-fetch when signing switches.
    upcoming = issuer.rotate_keys(switch_signing=False)
    envoy = envoy_factory(filter_config(issuer, entra={"kid_miss_refetch_seconds": 1}))
    assert envoy.get("/", bearer(issuer.tokens.v2())).status == 200
    fetched = time.monotonic()
    issuer.sign_with(upcoming.kid)
    old_token = issuer.tokens.v2()
    assert decode_unverified(old_token)[0]["kid"] == upcoming.kid
    assert envoy.get("/", bearer(old_token)).status == 200
    assert (issuer.count("discovery"), issuer.count("jwks")) == (1, 1)

    # An unannounced rotation: the first token with the new kid waits for a re-fetch.
    new_key = issuer.rotate_keys(keep_old=False)  # the old key disappears from the JWKS at once
    token = issuer.tokens.v2()
    assert decode_unverified(token)[0]["kid"] == new_key.kid
    wait_for_cooldown(fetched, 1)
    metrics = Metrics(envoy)

    seen = echoed(envoy.get("/", bearer(token)))  # the very first request with the new kid
    assert seen.header_values("authorization") == [f"Bearer {token}"]
    assert (issuer.count("discovery"), issuer.count("jwks")) == (2, 2)
    metrics.expect({
        "requests_waited_for_keys": 1, "jwks_fetch.kid_miss": 1, "jwks_fetch.ok": 1,
        "allowed": 1, "allowed.jwt": 1, "token_cache.miss": 1,
    })
    # The retired key went with the refresh, cached verifications of its tokens too,
    # on every worker once it has adopted the new key set (on its next 100 ms tick).
    deadline = time.monotonic() + 2
    while (response := envoy.get("/", bearer(old_token))).status == 200:
        assert time.monotonic() < deadline, "the retired key is still trusted 2 s after the refresh"
        time.sleep(0.02)
    assert_invalid_token(response, UNKNOWN_KEY[0])
    assert envoy.get("/", bearer(issuer.tokens.v1())).status == 200


def test_flood_of_unknown_kids_is_refused_with_few_fetches(envoy_factory, issuer):
    cooldown = 1
    envoy = envoy_factory(filter_config(issuer, entra={"kid_miss_refetch_seconds": cooldown}))
    assert envoy.get("/", bearer(issuer.tokens.v2())).status == 200
    fetched = time.monotonic()
    forged = [issuer.tokens.v2(key="unpublished", header={"kid": f"flood-{uuid.uuid4()}"}) for _ in range(200)]
    wait_for_cooldown(fetched, cooldown)  # so that the flood may cause (exactly) one re-fetch
    jwks_before = issuer.count("jwks")

    started = time.monotonic()
    responses = concurrently(lambda i: envoy.get("/", bearer(forged[i])), len(forged), workers=50)
    elapsed = time.monotonic() - started

    assert all_statuses(responses) == {401: 200}
    for response in responses:
        assert_invalid_token(response, UNKNOWN_KEY[0])
    refetches = issuer.count("jwks") - jwks_before
    assert 1 <= refetches <= 1 + int(elapsed / cooldown), (refetches, elapsed)
    assert issuer.count("discovery") == issuer.count("jwks")
    assert envoy.get("/", bearer(issuer.tokens.v2())).status == 200  # still serving
