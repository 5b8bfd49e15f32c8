"""Requests with a body that arrive before the signing keys, with the Envoy option
the per-tool rules need (`allow_on_headers_stop_iteration: true`): the body waits
with the headers, whether the filter reads it (an MCP call) or not. Without the
fix in src/filter/http.rs, a body request paused for keys was forwarded as soon as
its body arrived, before any signature check."""

from __future__ import annotations

import time

import pytest
from bootstrap import entra_guard_filter
from filter_config import filter_config
from mcp_support import ADDER, call_tool, register_clients, rpc_result, start_mcp_envoy
from upstream.echo import EchoedRequest

KEY_DELAY = 1.5  # the simulator answers the JWKS request this late


@pytest.fixture
def slow_keys(issuer):
    issuer.set_fault("jwks", "slow", delay=KEY_DELAY)
    return issuer


@pytest.mark.parametrize("signed_by", ["unpublished", "published"])
def test_body_waits_with_the_headers_for_keys(envoy_factory, slow_keys, echo, signed_by):
    config = filter_config(slow_keys)
    envoy = envoy_factory(http_filters=[entra_guard_filter(config, allow_on_headers_stop_iteration=True)])
    token = slow_keys.tokens.v2(key="unpublished") if signed_by == "unpublished" else slow_keys.tokens.v2()
    started = time.monotonic()
    response = envoy.request("POST", "/api/orders", {"Authorization": f"Bearer {token}",
                                                     "Content-Type": "text/plain"}, b"body that must wait")
    waited = time.monotonic() - started
    if signed_by == "unpublished":
        assert response.status == 401, response  # never forwarded
        assert response.header("x-envoy-upstream-service-time") is None
    else:
        assert response.status == 200, response
        assert EchoedRequest.parse(response.body).body == "body that must wait"
    assert waited >= KEY_DELAY * 0.8, "answered before the keys arrived"


def test_mcp_calls_wait_for_keys(envoy_factory, slow_keys, mcp_server):
    register_clients(slow_keys)
    endpoint = start_mcp_envoy(envoy_factory, slow_keys, mcp_server)
    token = slow_keys.tokens.v2(roles=ADDER[2])
    assert rpc_result(call_tool(endpoint, "body", "add", token, a=1, b=1))["structuredContent"] == {"result": 2.0}
    denied = call_tool(endpoint, "headers", "divide", token, a=1, b=1)
    assert denied.status == 403, denied
