"""The harness itself: real Envoys start, proxy, report and stop as promised.

None of these need the built filter: plain proxying checks the wiring, and a
Wasm module assembled by stub_wasm stands in for the filter where the Wasm path
(loading, refusal at on_configure) is exercised.
"""

from __future__ import annotations

import pytest
import requests
import stub_wasm
from bootstrap import ENTRA_CLUSTER, entra_guard_bootstrap, http_listener, route_everything_to, wasm_filter
from envoy_harness import Envoy, EnvoyError
from paths import WasmMissing, find_wasm
from upstream.echo import EchoedRequest


def echoed(response) -> EchoedRequest:
    assert response.status == 200, response
    return EchoedRequest.parse(response.body)


def test_plain_envoy_proxies_to_the_echo_upstream(envoy_factory):
    envoy = envoy_factory()
    seen = echoed(envoy.get("/some/path?b=2&a=%20x", {"X-Test": "yes"}))
    assert seen.method == "GET"
    assert seen.path == "/some/path?b=2&a=%20x"
    assert seen.header("x-test") == "yes"
    assert seen.header("x-request-id")  # added by Envoy: proof the request went through it


def test_raw_client_sends_exact_bytes(envoy_factory):
    envoy = envoy_factory()
    seen = echoed(envoy.request("POST", b"//double/%2e%2e/slash", [
        ("X-Dup", "1"), ("X-Dup", "2"), ("X-Bytes", b"caf\xe9 \xff"),
    ], body=b"payload"))
    assert seen.path == "//double/%2e%2e/slash"
    assert seen.header_values("x-dup") == ["1", "2"]
    assert seen.header_bytes("x-bytes") == b"caf\xe9 \xff"
    assert seen.body == "payload"


def test_envoy_folds_repeated_authorization_lines(envoy_factory):
    """Envoy 1.40 joins repeated *inline* headers (authorization is one) with a comma
    before any filter sees them; other headers keep one entry per line. The filter
    has to read a comma in Authorization as a second credential."""
    envoy = envoy_factory()
    seen = echoed(envoy.get("/", [
        ("Authorization", "Bearer a"), ("Authorization", "Bearer b"),
        ("Ocp-Apim-Subscription-Key", "k1"), ("Ocp-Apim-Subscription-Key", "k2"),
    ]))
    assert seen.header_values("authorization") == ["Bearer a,Bearer b"]
    assert seen.header_values("ocp-apim-subscription-key") == ["k1", "k2"]


def test_two_envoys_run_side_by_side(envoy_factory):
    first, second = envoy_factory(), envoy_factory()
    assert first.port != second.port and first.admin_port != second.admin_port
    assert echoed(first.get("/a")).path == "/a"
    assert echoed(second.get("/b")).path == "/b"


def test_stats_and_admin(envoy_factory):
    envoy = envoy_factory(concurrency=1)
    for _ in range(3):
        envoy.get("/")
    assert envoy.wait_for_stat("http.main.downstream_rq_2xx", lambda v: v >= 3) == 3
    stats = envoy.stats("cluster.upstream.")
    assert stats["cluster.upstream.upstream_rq_total"] == 3
    assert all(name.startswith("cluster.upstream.") for name in stats)
    assert envoy.admin("/ready").text.strip() == "LIVE"


def test_extra_listener_reaches_the_issuer_through_the_entra_cluster(envoy_factory, issuer):
    """The `entra` cluster points at the simulator (what the filter's callouts use)."""
    to_entra = http_listener("to_entra", route_config=route_everything_to(ENTRA_CLUSTER))
    envoy = envoy_factory(extra_listeners=(to_entra,))
    response = envoy.get(f"/{issuer.tenant_id}/v2.0/.well-known/openid-configuration", listener="to_entra")
    assert response.status == 200
    assert response.json()["issuer"] == issuer.issuer_v2()
    assert issuer.count("discovery") == 1


def test_envoy_that_exits_while_starting_is_reported_with_its_log(tmp_path, echo):
    config = entra_guard_bootstrap(upstream_port=echo.port)
    config["static_resources"]["clusters"].append(dict(config["static_resources"]["clusters"][0]))  # duplicate
    envoy = Envoy(config, tmp_path)
    with pytest.raises(EnvoyError, match=r"exited with code 1[\s\S]*duplicate cluster"):
        envoy.start()
    assert not envoy.running


def test_stop_ends_the_process(envoy_factory):
    envoy = envoy_factory()
    assert envoy.running
    assert envoy.stop() == 0
    assert not envoy.running


def test_wasm_filter_is_loaded_and_logs(envoy_factory, tmp_path):
    module = stub_wasm.write(tmp_path / "accept.wasm", True, "stub configured")
    envoy = envoy_factory(http_filters=[wasm_filter({"any": "json"}, module)])
    assert echoed(envoy.get("/through-wasm")).path == "/through-wasm"
    envoy.wait_for_log("wasm log entra_guard entra_guard: stub configured", timeout=5)


def test_refused_wasm_configuration_stops_envoy(envoy_factory, tmp_path):
    line = "entra-guard: invalid configuration: entra.audiences: must not be empty"
    module = stub_wasm.write(tmp_path / "refuse.wasm", False, line)
    rejection = envoy_factory(http_filters=[wasm_filter({"entra": {}}, module)], expect_rejection=True)
    assert rejection.exited and rejection.returncode == 1
    assert f"wasm log entra_guard entra_guard: {line}" in rejection.log
    assert "Unable to create Wasm plugin entra_guard" in rejection.log


def test_expecting_rejection_of_a_good_config_fails(envoy_factory):
    with pytest.raises(EnvoyError, match="accepted the configuration"):
        envoy_factory(expect_rejection=True)


def test_log_tail_skips_the_startup_listing(envoy_factory):
    envoy = envoy_factory()
    envoy.wait_for_log("starting main dispatch loop", timeout=5)
    tail = envoy.log_tail(400)
    assert "starting main dispatch loop" in tail
    assert "envoy.filters.http: " not in tail


def test_missing_wasm_says_how_to_build_it(monkeypatch, tmp_path):
    monkeypatch.setenv("ENTRA_GUARD_WASM", str(tmp_path / "absent.wasm"))
    with pytest.raises(WasmMissing, match="make wasm"):
        find_wasm()


def test_stopped_issuer_looks_down_to_envoy(envoy_factory, issuer):
    to_entra = http_listener("to_entra", route_config=route_everything_to(ENTRA_CLUSTER))
    envoy = envoy_factory(extra_listeners=(to_entra,))
    path = f"/{issuer.tenant_id}/discovery/v2.0/keys"
    assert envoy.get(path, listener="to_entra").status == 200
    issuer.stop()
    assert envoy.get(path, listener="to_entra").status == 503
    issuer.start()
    assert requests.get(issuer.jwks_url(), timeout=5).status_code == 200
