"""Per-tool rules read the JSON-RPC body after holding the headers, which
Envoy allows only with `allow_on_headers_stop_iteration: true`. Without it
the body never reaches the filter: the request must end with a clear 500 and
one log line naming the missing option, never hang or go upstream."""

from __future__ import annotations

import json

import pytest
from filter_config import filter_config
from jwt_support import bearer

RULES = [{"path_prefix": "/mcp", "require": "jwt", "mcp_tools": ["divide"], "required_roles": ["Calculator.Divide"]},
         {"path_prefix": "/mcp", "require": "jwt"}]


@pytest.mark.wasm
def test_missing_body_option_fails_closed_with_a_log_line(envoy_factory, issuer, wasm_path):
    envoy = envoy_factory(filter_config(issuer, rules=RULES))  # the test bootstrap leaves the option unset
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "divide", "arguments": {"a": 1, "b": 2}}})
    response = envoy.request("POST", "/mcp", {**bearer(issuer.tokens.v2()), "content-type": "application/json"},
                             body, timeout=20)
    assert response.status == 500, response
    assert b"did not reach the authorization filter" in response.body
    envoy.wait_for_log(r"need allow_on_headers_stop_iteration: true", timeout=5)
    # Requests that need no body still work.
    assert envoy.get("/mcp", bearer(issuer.tokens.v2())).status == 200
