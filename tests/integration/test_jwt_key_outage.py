"""The identity provider is down: before any keys, requests fail closed with 503 +
Retry-After and the filter keeps retrying with backoff (1 s, 2 s, ...) until it
recovers on its own; once keys were fetched, an outage keeps the last good keys."""

from __future__ import annotations

import re
import threading
import time

import pytest
from filter_config import filter_config
from jwt_support import METRIC_PREFIX, UNKNOWN_KEY, assert_invalid_token, bearer, echoed

pytestmark = pytest.mark.wasm  # Envoys started with the built filter

UNAVAILABLE = {
    "error": "temporarily_unavailable",
    "error_description": "the signing keys of the identity provider are not available yet",
}


def assert_unavailable(response) -> None:
    assert response.status == 503, f"expected 503, got {response}"
    retry_after = response.header("retry-after")
    assert retry_after is not None and retry_after.isdigit() and 1 <= int(retry_after) <= 30, response
    assert response.json() == UNAVAILABLE
    assert response.header("x-envoy-upstream-service-time") is None, "reached the upstream"


class AttemptClock:
    """Monotonic times at which the issuer saw each new discovery request (every
    key fetch starts with one), taken by a thread polling its counter every 5 ms."""

    def __init__(self, issuer):
        self.issuer = issuer
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            seen = self.issuer.count("discovery")
            self.times += [time.monotonic()] * (seen - len(self.times))

    def wait_for(self, attempts: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.times) < attempts:
            assert time.monotonic() < deadline, f"only {len(self.times)} key fetch attempts in {timeout}s"
            time.sleep(0.01)

    def __enter__(self) -> AttemptClock:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.parametrize(("target", "mode", "params", "log", "gaps"), [
    # Fails twice: the retries come 1 s, then 2 s after the attempts that failed.
    # (A status from the JWKS takes the same path as one from discovery.)
    pytest.param("discovery", "status", {"status": 500}, "discovery: status 500", [1, 2], id="discovery-500"),
    pytest.param("jwks", "garbage", {}, "jwks document is not a JSON key set", [1], id="jwks-garbage"),
    # Hangs longer than a request may wait for keys (key_wait_ms 300) until the
    # callout times out (fetch_timeout_ms 2000); Envoy answers that with a local 504.
    pytest.param("jwks", "timeout", {}, "jwks: status 504", [2], id="jwks-hangs"),
])
def test_down_at_start_fails_closed_then_recovers(envoy_factory, issuer, target, mode, params, log, gaps):
    failures = len(gaps)
    issuer.set_fault(target, mode, count=failures, **params)  # cleared after `failures` fetches
    with AttemptClock(issuer) as clock:
        envoy = envoy_factory(filter_config(issuer, entra={"fetch_timeout_ms": 2000, "key_wait_ms": 300}))
        token = issuer.tokens.v2()

        clock.wait_for(1, timeout=5)
        for _ in range(3):
            started = time.monotonic()
            assert_unavailable(envoy.get("/", bearer(token)))
            assert time.monotonic() - started < 1.5  # waited key_wait_ms (300 ms), not for the fetch
        envoy.wait_for_stat(f"{METRIC_PREFIX}jwks_fetch.failed", lambda n: n == failures, timeout=10)

        # Recovery without any help: poll (never a 200 before keys, never another status).
        deadline = time.monotonic() + 35
        while (response := envoy.get("/", bearer(token))).status == 503:
            assert_unavailable(response)
            assert time.monotonic() < deadline, "no recovery within 35 s"
            time.sleep(0.05)
        echoed(response)
        clock.wait_for(failures + 1, timeout=1)

    measured = [later - earlier for earlier, later in zip(clock.times, clock.times[1:])]
    assert len(measured) == failures, clock.times
    for expected, gap in zip(gaps, measured):
        assert expected - 0.1 <= gap <= expected + 1.0, (gaps, measured)

    for failed in range(1, failures + 1):
        envoy.wait_for_log(re.escape(f"signing key fetch failed ({failed} in a row): {log}; keeping 0 cached key(s)"))
    assert envoy.wait_for_stat(f"{METRIC_PREFIX}jwks_fetch.ok", lambda n: n == 1) == 1
    assert envoy.stat(f"{METRIC_PREFIX}jwks_fetch.failed") == failures
    assert envoy.stat(f"{METRIC_PREFIX}denied.keys_unavailable") >= 3


def test_keys_are_kept_when_the_idp_goes_down(envoy_factory, issuer):
    envoy = envoy_factory(filter_config(issuer, entra={"kid_miss_refetch_seconds": 1}))
    assert envoy.get("/", bearer(issuer.tokens.v2())).status == 200
    fetched = time.monotonic()
    issuer.set_fault("all", "status", status=503)

    # An unknown kid makes the filter re-fetch (after the 1 s rate limit): it fails.
    remaining = fetched + 1.05 - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    assert_invalid_token(envoy.get("/", bearer(issuer.tokens.v2(key="unpublished"))), UNKNOWN_KEY[0])
    assert issuer.count("discovery") == 2
    envoy.wait_for_stat(f"{METRIC_PREFIX}jwks_fetch.failed", lambda n: n == 1, timeout=3)
    envoy.wait_for_log(re.escape("signing key fetch failed (1 in a row): discovery: status 503; keeping 1 cached key(s)"))

    # Fresh tokens (not in the verified-token cache) are still checked and accepted.
    assert envoy.get("/", bearer(issuer.tokens.v2())).status == 200
    assert envoy.get("/", bearer(issuer.tokens.v1())).status == 200
    assert envoy.stat(f"{METRIC_PREFIX}denied.keys_unavailable") == 0

