"""Configuration changes under load: the filter's configuration replaced through
Envoy's dynamic listener configuration (file-based LDS here, xDS with Istio or
Envoy Gateway) while wrk and probes run.

A valid change: no request that both versions decide the same is ever answered
otherwise, no connection fails, new connections get the new rules as soon as every
worker has the new filter chain, and the keys fetched once stay in use (one
discovery and one JWKS fetch for the whole test: the key cache lives in shared
data, which Envoy keys by vm_id, not by plugin configuration, and each new
filter instance uses them from its first request: with key_wait_ms 0, one that
had to wait for its first tick would answer 503).

A change the filter refuses: Envoy rejects the listener update and keeps serving
the old configuration, under the same load and with the same expectations.
"""

from __future__ import annotations

import time

import pytest
from bootstrap import entra_guard_filter, http_listener
from conftest import ENVOYS
from filter_config import filter_config
from issuer import Issuer
from issuer.tokens import with_garbage_signature
from jwt_support import BAD_SIGNATURE, METRIC_PREFIX, bearer, echoed
from load_support import Probe, Prober, Wrk
from reload_support import ListenerFile, lds_counts, lds_envoy
from subscription_support import CONTOSO, CONTOSO_PRIMARY, DEFAULT_HEADER, DEFAULT_NAME_HEADER, MISSING_MESSAGE, sha256_hex
from vm_health import crash_lines

pytestmark = pytest.mark.wasm  # Envoys started with the built filter

OPEN, API = "/open", "/api"
OID_HEADER = "x-entra-oid"
IN_PLACE = "listener_manager.listener_in_place_updated"
DRAINING = "listener_manager.total_filter_chains_draining"
NO_TOKEN = "a bearer token is required"


def _config(issuer: Issuer, *, open_requires: str = "none", claims: dict | None = None) -> dict:
    """key_wait_ms 0: a request that finds no keys is answered 503 at once
    instead of waiting for them, so a filter instance that starts without the
    keys the old one shared shows as wrong answers, not as latency."""
    return filter_config(
        issuer,
        entra={"key_wait_ms": 0},
        rules=[{"path_prefix": OPEN, "require": open_requires}, {"path_prefix": API, "require": "jwt"}],
        subscription_keys={"keys": [{"name": CONTOSO, "sha256": sha256_hex(CONTOSO_PRIMARY)}]},
        claims_to_headers=claims,
    )


def _listener(config: dict | str) -> dict:
    return http_listener("main", [entra_guard_filter(config)])


@pytest.fixture
def reloadable(request: pytest.FixtureRequest, tmp_path, echo, issuer, wasm_path):
    """(Envoy serving v1 from its LDS file, the file); a failed test shows its log."""
    listeners = ListenerFile(tmp_path / "lds")
    listeners.publish(_listener(_config(issuer)))
    envoy = lds_envoy(tmp_path, listeners, upstream_port=echo.port, issuer_port=issuer.port)
    request.node.stash.setdefault(ENVOYS, []).append(envoy)
    envoy.start()
    yield envoy, listeners
    envoy.stop()


def _invariant_probes(issuer: Issuer) -> list[Probe]:
    """Requests every version in these tests answers alike, each on a new connection."""
    return [
        Probe("fresh-token", lambda: issuer.tokens.v2(), 200, path=API),
        Probe("no-token", lambda: None, 401, NO_TOKEN, path=API),
        Probe("forged-token", lambda: with_garbage_signature(issuer.tokens.v2()), 401, BAD_SIGNATURE[0], path=API),
    ]


def _warm(envoy, tokens: list[str]) -> None:
    """Each token verified once (the first ones get 503 until the keys are in)."""
    deadline = time.monotonic() + 15
    for token in tokens:
        while (status := envoy.get(API, bearer(token)).status) != 200:
            assert status == 503 and time.monotonic() < deadline, status
            time.sleep(0.05)


def _more_load(envoy, requests: int = 300) -> None:
    """Waits until `requests` more requests were allowed (the load really ran)."""
    name = f"{METRIC_PREFIX}allowed"
    base = envoy.stat(name)
    envoy.wait_for_stat(name, lambda n: n >= base + requests, timeout=20)


def _assert_clean(wrk_result, probers: list[Prober]) -> None:
    assert wrk_result.requests >= 300, f"too little load to mean anything: {wrk_result}"
    assert set(wrk_result.statuses) == {200}, f"valid cached tokens answered otherwise: {wrk_result.statuses}"
    assert set(wrk_result.errors.values()) == {0}, f"wrk saw failed connections: {wrk_result.errors}"
    for prober in probers:
        assert not prober.errors, prober.errors[:3]
        wrong = prober.wrong()
        assert not wrong, f"{len(wrong)} probes answered wrongly, e.g. {wrong[:5]}"
        assert all(prober.count(p.kind) >= 3 for p in prober.probes), [(p.kind, prober.count(p.kind)) for p in prober.probes]


def test_valid_change_under_load_applies_without_a_failed_request(reloadable, issuer, tmp_path):
    envoy, listeners = reloadable
    cached = issuer.tokens.mint_many(8)
    _warm(envoy, cached)
    v2 = _config(issuer, open_requires="subscription_key", claims={"oid": OID_HEADER})

    with (Wrk(envoy.port, cached, tmp_path, path=API) as wrk,
          Prober(envoy.port, _invariant_probes(issuer), threads=3) as prober,
          Prober(envoy.port, [Probe("open", lambda: None, 200, path=OPEN)], threads=1) as opener):
        _more_load(envoy)
        changed_at = time.monotonic()
        listeners.publish(_listener(v2))
        envoy.wait_for_stat("listener_manager.lds.update_success", lambda n: n == 2)
        envoy.wait_for_stat(IN_PLACE, lambda n: n == 1)
        # The old chain drains once every worker has the new one.
        envoy.wait_for_stat(DRAINING, lambda n: n > 0)
        applied_at = time.monotonic()

        # New connections: the new rule and the new claim header.
        missing = envoy.get(OPEN)
        assert (missing.status, missing.json()["message"]) == (401, MISSING_MESSAGE)
        assert echoed(envoy.get(OPEN, {DEFAULT_HEADER: CONTOSO_PRIMARY})).header(DEFAULT_NAME_HEADER) == CONTOSO
        claims = issuer.tokens.claims_v2()
        assert echoed(envoy.get(API, bearer(issuer.tokens.sign(claims)))).header(OID_HEADER) == claims["oid"]

        # Load goes on until the old chain has drained (its connections closed).
        envoy.wait_for_stat(DRAINING, lambda n: n == 0, timeout=15)
        _more_load(envoy)
        prober.stop()
        opener.stop()
        result = wrk.stop()

    _assert_clean(result, [prober])
    assert not opener.errors, opener.errors[:3]
    before = {o.status for o in opener.outcomes if o.at < changed_at}
    after = {o.status for o in opener.outcomes if o.sent > applied_at}
    assert before == {200} and after == {401}, (before, after)
    assert {o.status for o in opener.outcomes} == {200, 401}
    assert lds_counts(envoy) == {"update_success": 2, "update_rejected": 0, "update_failure": 0}
    assert issuer.counters()["kinds"] == {"discovery": 1, "jwks": 1}
    assert not crash_lines(envoy)


def test_refused_change_under_load_keeps_the_old_configuration(reloadable, issuer, tmp_path):
    envoy, listeners = reloadable
    cached = issuer.tokens.mint_many(8)
    _warm(envoy, cached)
    refused = {**_config(issuer), "claims_to_header": {"oid": OID_HEADER}}  # a typo: unknown key
    probes = [*_invariant_probes(issuer), Probe("open", lambda: None, 200, path=OPEN)]

    with Wrk(envoy.port, cached, tmp_path, path=API) as wrk, Prober(envoy.port, probes, threads=4) as prober:
        _more_load(envoy)
        listeners.publish(_listener(refused))
        envoy.wait_for_stat("listener_manager.lds.update_rejected", lambda n: n == 1)
        envoy.wait_for_log(r"entra-guard: invalid configuration: claims_to_header: unknown key")
        envoy.wait_for_log(r"lds: listener 'main' config rejected: Unable to create Wasm plugin entra_guard")
        _more_load(envoy)
        prober.stop()
        result = wrk.stop()

    _assert_clean(result, [prober])
    assert lds_counts(envoy) == {"update_success": 1, "update_rejected": 1, "update_failure": 0}
    assert envoy.stat(IN_PLACE) == 0
    assert issuer.counters()["kinds"] == {"discovery": 1, "jwks": 1}
    assert not crash_lines(envoy)
