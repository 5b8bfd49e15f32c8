"""The official MCP TypeScript SDK client (`@modelcontextprotocol/sdk`, pinned in
tests/mcp_client_ts/package.json) through entra-guard in a real Envoy: with a token
in hand it connects, lists the tools and calls them; per-tool rules answer 403;
without a token it gets the 401. Node runs tests/mcp_client_ts/client.mjs, which
prints what the SDK saw as JSON.

The client's node_modules come from `make mcp-client-deps` (`npm ci`); when they
are missing, the fixture runs the same `npm ci` itself so `make test` works on a
fresh machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from mcp_support import ADDER, DIVIDER, access_token
from mcp_support import endpoint, issuer  # noqa: F401 - fixtures
from paths import REPO_ROOT

CLIENT_DIR = REPO_ROOT / "tests" / "mcp_client_ts"
SDK = "@modelcontextprotocol/sdk"
TOOLS = ["add", "subtract", "multiply", "divide", "whoami"]


@pytest.fixture(scope="module")
def node_client() -> list[str]:
    """`node client.mjs`, with the pinned SDK installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        pytest.fail("node is missing (apt-get install nodejs)", pytrace=False)
    pinned = json.loads((CLIENT_DIR / "package.json").read_text())["dependencies"][SDK]
    installed = CLIENT_DIR / "node_modules" / SDK / "package.json"
    if not installed.is_file() or json.loads(installed.read_text())["version"] != pinned:
        if npm is None:
            pytest.fail(f"{SDK} is not installed and npm is missing: run `make mcp-client-deps`", pytrace=False)
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CLIENT_DIR,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.fail(f"npm ci in {CLIENT_DIR} failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
        (CLIENT_DIR / "node_modules" / ".installed").touch()  # what `make mcp-client-deps` leaves
    return [node, str(CLIENT_DIR / "client.mjs")]


def run_client(node_client: list[str], url: str, token: str | None = None, calls: tuple = ()) -> dict:
    command = [*node_client, "--url", url]
    if token is not None:
        command += ["--token", token]
    for name, arguments in calls:
        command += ["--call", name, json.dumps(arguments)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_ts_client_with_a_token_lists_and_calls_tools(node_client, endpoint, issuer):
    out = run_client(node_client, endpoint.url, access_token(issuer, ADDER),
                     [("add", {"a": 2, "b": 3}), ("whoami", {}), ("divide", {"a": 1, "b": 2})])
    assert out["connected"], out
    assert out["server"]["name"] == "entra-guard-calculator"
    assert out["tools"] == TOOLS
    add, whoami, divide = out["calls"]
    assert add["ok"] and add["result"]["structuredContent"] == {"result": 5}
    assert whoami["ok"] and whoami["result"]["structuredContent"]["x-entra-client-id"] == ADDER[0]
    assert whoami["result"]["structuredContent"]["x-entra-tid"] == issuer.tenant_id
    # Calculator.Divide is missing: the filter answered 403 insufficient_scope.
    assert not divide["ok"] and divide["error"]["code"] == 403, divide
    assert "insufficient_scope" in divide["error"]["message"]


def test_ts_client_with_the_tools_role(node_client, endpoint, issuer):
    out = run_client(node_client, endpoint.url, access_token(issuer, DIVIDER), [("divide", {"a": 1, "b": 4})])
    (divide,) = out["calls"]
    assert divide["ok"] and divide["result"]["structuredContent"] == {"result": 0.25}, out


def test_ts_client_without_a_token_is_challenged(node_client, endpoint):
    out = run_client(node_client, endpoint.url)
    assert not out["connected"]
    assert out["error"]["code"] == 401, out
