"""The identity provider misbehaves: discovery or JWKS answering 5xx, 404, HTML,
cut JSON, 10 MB, too slowly, a redirect, a connection cut mid-body, a key set
without usable keys.

Without cached keys every such fetch must leave the filter failing closed (503 +
Retry-After, never 200, the failure logged with its reason) and recovering on
its own once the fault is gone. With cached keys, under a wrk load of cached
tokens plus probes of forged and fresh tokens: no valid token refused, no invalid
token accepted, fetches only at the pace of the kid-miss cooldown and the
backoff, and the same Wasm VMs from start to end.

One Envoy serves every no-keys case at once: each case is its own filter
instance (own listener, own `entra` cluster, own simulator, so its own fetch
state: the shared-data keys are per cluster/authority/tenant) in the one shared
Wasm VM per thread, and its log lines carry its root id.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

import pytest
from bootstrap import entra_guard_filter, http_listener, static_cluster
from filter_config import filter_config
from http_client import HttpResponse, request
from issuer import Issuer
from issuer.tokens import forge_alg_none, forge_hmac_with_public_key, with_claims, with_garbage_signature
from jwt_support import ALG, BAD_SIGNATURE, METRIC_PREFIX, UNKNOWN_KEY, bearer, concurrently, echoed
from load_support import FetchClock, Probe, Prober, Wrk
from vm_health import assert_vms_healthy, crash_lines, vm_snapshot

pytestmark = pytest.mark.wasm  # Envoys started with the built filter

FETCH_TIMEOUT_MS = 500
UNAVAILABLE = {
    "error": "temporarily_unavailable",
    "error_description": "the signing keys of the identity provider are not available yet",
}
NO_RESPONSE = "no response (timeout, reset or connection failure)"
TEN_MB = 10 * 1024 * 1024
TOO_BIG = f"response of {TEN_MB} bytes exceeds 262144"


def backoff(failures: int) -> float:
    """src/keys/refresh.rs: 1 s, 2 s, 4 s ... capped at 30 s."""
    return min(2 ** (failures - 1), 30)


# --- no cached keys ------------------------------------------------------------------

@dataclass(frozen=True)
class NoKeysCase:
    id: str
    target: str  # discovery | jwks
    mode: str
    params: dict
    reason: str  # what the failure log line says after "failed (1 in a row): "


NO_KEYS_CASES = {
    "http": [
        NoKeysCase("discovery-500", "discovery", "status", {"status": 500}, "discovery: status 500"),
        NoKeysCase("discovery-404", "discovery", "status", {"status": 404}, "discovery: status 404"),
        NoKeysCase("discovery-html", "discovery", "html", {}, "discovery document is not valid JSON"),
        NoKeysCase("discovery-cut-json", "discovery", "cut_json", {}, "discovery document is not valid JSON"),
        NoKeysCase("discovery-10MB", "discovery", "huge", {}, f"discovery: {TOO_BIG}"),
        NoKeysCase("discovery-redirect", "discovery", "redirect", {}, "discovery: status 302"),
        NoKeysCase("jwks-503", "jwks", "status", {"status": 503}, "jwks: status 503"),
        NoKeysCase("jwks-404", "jwks", "status", {"status": 404}, "jwks: status 404"),
        NoKeysCase("jwks-html", "jwks", "html", {}, "jwks document is not a JSON key set"),
        NoKeysCase("jwks-cut-json", "jwks", "cut_json", {}, "jwks document is not a JSON key set"),
        NoKeysCase("jwks-garbage", "jwks", "garbage", {}, "jwks document is not a JSON key set"),
        NoKeysCase("jwks-10MB", "jwks", "huge", {}, f"jwks: {TOO_BIG}"),
        NoKeysCase("jwks-redirect", "jwks", "redirect", {}, "jwks: status 302"),
        NoKeysCase("jwks-no-usable-keys", "jwks", "body", {"body": {"keys": []}},
                   "jwks document has no usable RSA signing keys"),
    ],
    # Faults of the connection itself, in an Envoy of their own: a fault that kills
    # the shared VM must not take the other cases down with it.
    "connection": [
        NoKeysCase("discovery-slow", "discovery", "slow", {"delay": 3.0}, "discovery: status 504"),
        NoKeysCase("discovery-cut-mid-body", "discovery", "truncated", {}, f"discovery: {NO_RESPONSE}"),
        NoKeysCase("discovery-reset", "discovery", "reset", {}, "discovery: status 503"),
        NoKeysCase("jwks-slow", "jwks", "slow", {"delay": 3.0}, "jwks: status 504"),
        NoKeysCase("jwks-cut-mid-body", "jwks", "truncated", {}, f"jwks: {NO_RESPONSE}"),
        NoKeysCase("jwks-reset", "jwks", "reset", {}, "jwks: status 503"),
    ],
}


@dataclass
class NoKeysObservation:
    first_failure: str | None = None  # the reason logged for the first failed fetch
    during: list[HttpResponse] = field(default_factory=list)  # answers while the fault is on
    while_recovering: set[int] = field(default_factory=set)  # statuses polled after clearing
    recovered: HttpResponse | None = None
    recovery_seconds: float | None = None
    failures_logged: int = 0
    updates_logged: int = 0
    discovery: int = 0
    jwks: int = 0
    crashes: list[str] = field(default_factory=list)


def _root(n: int) -> str:
    return f"eg{n}"


def _log_prefix(n: int) -> str:
    return f"wasm log {_root(n)} entra_guard: entra-guard: "


def _observe_group(factory, cases: list[NoKeysCase]) -> dict[str, NoKeysObservation]:
    """Starts one Envoy with one filter instance per case, each in front of its own
    faulty simulator, and records what each one does before and after its fault."""
    observations = {case.id: NoKeysObservation() for case in cases}
    issuers = [Issuer().start() for _ in cases]
    try:
        listeners, clusters = [], []
        for n, (case, issuer) in enumerate(zip(cases, issuers)):
            issuer.set_fault(case.target, case.mode, **case.params)  # until cleared
            config = filter_config(issuer, entra={"cluster": f"entra_{n}", "fetch_timeout_ms": FETCH_TIMEOUT_MS,
                                                  "key_wait_ms": 200})
            listeners.append(http_listener(f"case{n}", [entra_guard_filter(config, name=_root(n), root_id=_root(n))]))
            clusters.append(static_cluster(f"entra_{n}", issuer.port))
        envoy = factory(extra_listeners=tuple(listeners), extra_clusters=tuple(clusters))

        first_failure = re.compile(r"signing key fetch failed \(1 in a row\): (.*); keeping 0 cached key\(s\)")
        deadline = time.monotonic() + 10
        while True:
            text = envoy.log_text()
            for n, case in enumerate(cases):
                match = re.search(re.escape(_log_prefix(n)) + first_failure.pattern, text)
                observations[case.id].first_failure = match and match.group(1)
            if all(o.first_failure for o in observations.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.05)

        # While the faults are on: valid tokens (v2, v1) and a forged one, all at once.
        def during(job):
            n, issuer, token = job
            return n, request(envoy.listener_port(f"case{n}"), "GET", "/", {"Authorization": f"Bearer {token}"})
        jobs = [(n, issuer, token) for n, issuer in enumerate(issuers)
                for token in (issuer.tokens.v2(), issuer.tokens.v1(), with_garbage_signature(issuer.tokens.v2()))]
        for n, response in concurrently(lambda k: during(jobs[k]), len(jobs), workers=16):
            observations[cases[n].id].during.append(response)

        for issuer in issuers:
            issuer.clear_faults()
        cleared = time.monotonic()

        def recover(n: int) -> None:
            observation, issuer = observations[cases[n].id], issuers[n]
            token = issuer.tokens.v2()
            while time.monotonic() - cleared < 35:
                response = request(envoy.listener_port(f"case{n}"), "GET", "/", {"Authorization": f"Bearer {token}"})
                if response.status != 503:
                    observation.recovered = response
                    observation.recovery_seconds = time.monotonic() - cleared
                    return
                observation.while_recovering.add(response.status)
                time.sleep(0.05)
        concurrently(recover, len(cases), workers=len(cases))

        # The log is flushed every 50 ms: a recovery may be answered before its line is written.
        deadline = time.monotonic() + 3
        while True:
            text = envoy.log_text()
            updated = all(_log_prefix(n) + "signing keys updated: " in text
                          for n, case in enumerate(cases) if observations[case.id].recovered is not None)
            if updated or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        crashes = crash_lines(envoy)
        for n, (case, issuer) in enumerate(zip(cases, issuers)):
            observation = observations[case.id]
            observation.failures_logged = text.count(_log_prefix(n) + "signing key fetch failed (")
            observation.updates_logged = text.count(_log_prefix(n) + "signing keys updated: ")
            observation.discovery, observation.jwks = issuer.count("discovery"), issuer.count("jwks")
            observation.crashes = crashes
    finally:
        for issuer in issuers:
            issuer.stop()
    return observations


@pytest.fixture(scope="module")
def no_keys(module_envoy_factory, wasm_path) -> dict[str, NoKeysObservation]:
    observed: dict[str, NoKeysObservation] = {}
    for cases in NO_KEYS_CASES.values():
        observed.update(_observe_group(module_envoy_factory, cases))
    return observed


def assert_unavailable(response: HttpResponse) -> None:
    assert response.status == 503, f"expected 503, got {response}"
    retry_after = response.header("retry-after")
    assert retry_after is not None and retry_after.isdigit() and 1 <= int(retry_after) <= 30, response
    assert response.json() == UNAVAILABLE, response
    assert response.header("x-envoy-upstream-service-time") is None, "reached the upstream"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for cases in NO_KEYS_CASES.values() for c in cases])
def test_no_cached_keys_fails_closed_then_recovers(no_keys, case):
    seen = no_keys[case.id]
    assert not seen.crashes, "a Wasm VM failed:\n" + "\n".join(seen.crashes[:6])
    assert seen.first_failure == case.reason, f"logged {seen.first_failure!r}"
    assert len(seen.during) == 3
    for response in seen.during:  # valid v2, valid v1, forged: none gets anything but 503
        assert_unavailable(response)
    assert seen.recovered is not None, f"no recovery within 35 s of clearing the fault (saw {seen.while_recovering})"
    echoed(seen.recovered)
    assert seen.while_recovering <= {503}, seen.while_recovering
    # One fetch per failure plus the one that succeeded: per Envoy, not per VM.
    assert seen.failures_logged >= 1 and seen.updates_logged == 1, (seen.failures_logged, seen.updates_logged)
    assert seen.discovery == seen.failures_logged + 1, (seen.discovery, seen.failures_logged)
    assert seen.jwks == (seen.failures_logged + 1 if case.target == "jwks" else 1), (seen.jwks, seen.failures_logged)
    # The retry after clearing came within the backoff of the failures so far.
    assert seen.recovery_seconds <= backoff(seen.failures_logged) + 1.5, (seen.recovery_seconds, seen.failures_logged)


# --- cached keys, under load ---------------------------------------------------------

def _load_envoy(envoy_factory, issuer: Issuer):
    """Envoy + filter answering accepted requests itself (direct_response): the load
    then exercises the filter, not the Python upstream."""
    config = filter_config(issuer, entra={"kid_miss_refetch_seconds": 1, "fetch_timeout_ms": FETCH_TIMEOUT_MS,
                                          "key_wait_ms": 1500})
    routes = {"name": "direct", "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
        {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": "ok"}}}]}]}
    return envoy_factory(config, hcm_options={"route_config": routes})


def _warm(envoy, tokens: list[str]) -> None:
    """Every token accepted once (keys fetched; each worker caches what it verified)."""
    deadline = time.monotonic() + 10
    for token in tokens:
        while envoy.get("/", bearer(token)).status != 200:
            assert time.monotonic() < deadline, "keys never arrived"
            time.sleep(0.05)


def _invalid_probes(issuer: Issuer) -> list[Probe]:
    return [
        Probe("garbage-signature", lambda: with_garbage_signature(issuer.tokens.v2()), 401, BAD_SIGNATURE[0]),
        Probe("tampered-claims", lambda: with_claims(issuer.tokens.v2(), roles=["Admin"]), 401, BAD_SIGNATURE[0]),
        Probe("alg-none", lambda: forge_alg_none(issuer.tokens.claims_v2(), {"kid": issuer.keys.signing.kid}),
              401, ALG[0]),
        Probe("hs256-public-key", lambda: forge_hmac_with_public_key(issuer.tokens.claims_v2(), issuer.keys.signing),
              401, ALG[0]),
        Probe("published-kid-other-key", lambda: issuer.tokens.v2(key="unpublished",
                                                                 header={"kid": issuer.keys.signing.kid}),
              401, BAD_SIGNATURE[0]),
    ]


def _fresh_probes(issuer: Issuer) -> list[Probe]:
    """Tokens minted per request with the current signing key: never in the cache."""
    return [Probe("fresh-v2", lambda: issuer.tokens.v2(), 200), Probe("fresh-v1", lambda: issuer.tokens.v1(), 200)]


def _assert_load_clean(wrk_result, prober: Prober) -> None:
    assert wrk_result.requests >= 200, f"too little load to mean anything: {wrk_result}"
    assert wrk_result.non_2xx() == {}, f"valid cached tokens refused: {wrk_result.statuses}"
    assert set(wrk_result.errors.values()) == {0}, wrk_result.errors
    assert not prober.errors, prober.errors[:3]
    wrong = prober.wrong()
    accepted_invalid = [w for w in wrong if w[1] == 200]
    assert not accepted_invalid, f"invalid tokens accepted: {accepted_invalid[:5]}"
    assert not wrong, f"{len(wrong)} probes answered wrongly, e.g. {wrong[:5]}"


# Each outage: the faults met by its successive fetch attempts (each one's logged
# reason), then the IdP is back. Attempts come from kid-miss re-fetches (unknown
# kids in the probes), at most one per kid_miss_refetch_seconds and per backoff step.
OUTAGES = [
    [("discovery", "status", {"status": 503}, "discovery: status 503"),
     ("jwks", "truncated", {}, f"jwks: {NO_RESPONSE}")],
    [("jwks", "slow", {"delay": 3.0}, "jwks: status 504"),
     ("jwks", "body", {"body": {"keys": []}}, "jwks document has no usable RSA signing keys")],
    [("discovery", "huge", {}, f"discovery: {TOO_BIG}"),
     ("discovery", "redirect", {}, "discovery: status 302")],
]


def test_cached_keys_outlast_idp_outages_under_load(envoy_factory, issuer, tmp_path):
    envoy = _load_envoy(envoy_factory, issuer)
    cached = issuer.tokens.mint_many(8)
    _warm(envoy, cached)
    baseline = vm_snapshot(envoy)
    unknown = Probe("unknown-kid", lambda: issuer.tokens.v2(key="unpublished", header={"kid": f"probe-{uuid.uuid4()}"}),
                    401, UNKNOWN_KEY[0])
    probes = [unknown, *_invalid_probes(issuer), unknown, *_fresh_probes(issuer)]

    attempts_at_recovery = []  # (fetch attempts so far, monotonic time) when each outage ended
    with FetchClock(issuer) as clock, Wrk(envoy.port, cached, tmp_path) as wrk, Prober(envoy.port, probes) as prober:
        envoy.wait_for_stat(f"{METRIC_PREFIX}allowed", lambda n: n >= len(cached) + 200, timeout=10)
        for recovered, outage in enumerate(OUTAGES, 1):
            for failed, (target, mode, params, reason) in enumerate(outage, 1):
                issuer.set_fault(target, mode, **params)
                envoy.wait_for_log(re.escape(f"signing key fetch failed ({failed} in a row): {reason}; "
                                             "keeping 1 cached key(s)"), timeout=backoff(failed) + 5)
                issuer.clear_faults()
            # The same key comes back: the generation (and every worker's token
            # cache) stays as it was.
            deadline = time.monotonic() + backoff(len(outage)) + 5
            while envoy.log_text().count("signing keys unchanged: 1 key(s), generation 1") < recovered:
                assert time.monotonic() < deadline, envoy.log_tail()
                time.sleep(0.05)
            attempts_at_recovery.append(issuer.count("discovery"))
        prober.stop()
        result = wrk.stop()

    _assert_load_clean(result, prober)
    assert prober.count("fresh-v2", 200) > 0 and prober.count("unknown-kid") > 0

    # Fetch rate: the first load fetch, then per outage one attempt per fault and one
    # that recovers; each attempt after a failure waits out its backoff, the first of
    # an outage the kid-miss cooldown after the previous fetch.
    per_outage = [len(outage) + 1 for outage in OUTAGES]
    assert attempts_at_recovery == [1 + sum(per_outage[:k + 1]) for k in range(len(OUTAGES))], attempts_at_recovery
    gaps = clock.gaps()
    expected_gaps = []
    for k, outage in enumerate(OUTAGES):
        if k:
            expected_gaps.append(1.0)  # the cooldown after the previous recovery
        expected_gaps += [backoff(failed) for failed in range(1, len(outage) + 1)]
    assert len(gaps) >= len(expected_gaps), (gaps, expected_gaps)
    for expected, gap in zip(expected_gaps, gaps):
        assert expected - 0.2 <= gap <= expected + 1.5, (gaps, expected_gaps)
    assert envoy.stat(f"{METRIC_PREFIX}jwks_fetch.failed") == sum(len(o) for o in OUTAGES)
    assert envoy.stat(f"{METRIC_PREFIX}denied.keys_unavailable") == 0
    assert_vms_healthy(envoy, baseline)


def test_keys_rotated_under_load(envoy_factory, issuer, tmp_path):
    envoy = _load_envoy(envoy_factory, issuer)
    cached = issuer.tokens.mint_many(8)  # signed with the key that is about to be replaced as signer
    _warm(envoy, cached)
    baseline = vm_snapshot(envoy)
    probes = [*_invalid_probes(issuer), *_fresh_probes(issuer)]

    with FetchClock(issuer) as clock, Wrk(envoy.port, cached, tmp_path) as wrk, Prober(envoy.port, probes) as prober:
        envoy.wait_for_stat(f"{METRIC_PREFIX}allowed", lambda n: n >= len(cached) + 200, timeout=10)
        new_key = issuer.rotate_keys()  # published next to the old one, and signs from now on
        rotated = time.monotonic()
        envoy.wait_for_log(re.escape("signing keys updated: 2 key(s), generation 2"), timeout=5)
        deadline = time.monotonic() + 10
        while sum(1 for o in prober.outcomes if o.kind.startswith("fresh") and o.at > rotated + 0.5) < 40:
            assert time.monotonic() < deadline, "the probes stalled after the rotation"
            time.sleep(0.05)
        prober.stop()
        result = wrk.stop()

    _assert_load_clean(result, prober)
    assert issuer.keys.signing.kid == new_key.kid
    # Every request with the new kid that came before the keys waited for the one
    # re-fetch they caused together; nothing else fetched.
    assert len(clock.times) == 1, clock.times
    assert envoy.stat(f"{METRIC_PREFIX}jwks_fetch.kid_miss") == 1
    assert envoy.stat(f"{METRIC_PREFIX}requests_waited_for_keys") >= 2  # the warm-up's first request, then new kids
    assert_vms_healthy(envoy, baseline)
