"""Upstream differential suite: real MCP server frameworks behind entra-guard report
what they executed, and every crafted request (upstream_rows.py) is checked against
what the filter authorized.

Upstreams, each behind its own Envoy + entra-guard (module-scoped):
  python   the MCP Python SDK (Starlette), tests/mcp_server
  ts-json  the MCP TypeScript SDK's stateless Express example: express.json() reads the
           body (charset through iconv-lite, Content-Encoding inflated), tests/mcp_server_ts
  ts-raw   the same SDK reading the body itself (no body parser)

Per row and upstream:
  test_upstream_executes_only_what_was_authorized
      without a token only the public tool, prompt and resource ever execute; spoofed
      identity headers never arrive; positive controls execute exactly what they name
  test_filter_answers_as_the_contract_says
      the rows whose answer the contract fixes ("What reaches the upstream")
The filter's status and what each upstream executed for every row are written to
$TEST_LOGS/upstream-differential.txt (default target/test-logs).

The TypeScript server's node_modules come from `make mcp-server-deps` (`npm ci`); when
they are missing, the fixture runs the same `npm ci` itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from types import SimpleNamespace

import h2_raw
import pytest
import requests
from mcp_support import ADDER, CLAIM_HEADERS, access_token, start_mcp_envoy
from mcp_support import issuer  # noqa: F401 - fixture
from paths import REPO_ROOT
from upstream_rows import PUBLIC, ROWS, RULES, SPOOF, Row

SERVER_DIR = REPO_ROOT / "tests" / "mcp_server_ts"
SDK = "@modelcontextprotocol/sdk"
TARGETS = ("python", "ts-json", "ts-raw")
IDENTITY_NAMES = set(CLAIM_HEADERS.values())


@dataclass
class Outcome:
    status: int | None  # what the client got (None: reset)
    executed: list[tuple[str, str]]
    identity: list[tuple[str, str]]  # identity header lines the upstream saw while executing
    routed: list[tuple[str, str]]  # (method, path) the upstream routed, per execution


def ensure_node_modules() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        pytest.fail("node is missing (apt-get install nodejs)", pytrace=False)
    pinned = json.loads((SERVER_DIR / "package.json").read_text())["dependencies"][SDK]
    installed = SERVER_DIR / "node_modules" / SDK / "package.json"
    if not installed.is_file() or json.loads(installed.read_text())["version"] != pinned:
        if npm is None:
            pytest.fail(f"{SDK} is not installed and npm is missing: run `make mcp-server-deps`", pytrace=False)
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=SERVER_DIR,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.fail(f"npm ci in {SERVER_DIR} failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
        (SERVER_DIR / "node_modules" / ".installed").touch()  # what `make mcp-server-deps` leaves
    return node


@pytest.fixture(scope="module")
def ts_server():
    """tests/mcp_server_ts/server.mjs: ports of its json, raw and control apps."""
    node = ensure_node_modules()
    process = subprocess.Popen([node, str(SERVER_DIR / "server.mjs")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"the TypeScript MCP server did not start: {process.stderr.read()}", pytrace=False)
        yield json.loads(line)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def token(issuer) -> str:  # noqa: F811 - the fixture imported above
    return access_token(issuer, ADDER)


@pytest.fixture(scope="module")
def targets(module_envoy_factory, issuer, mcp_server, ts_server):  # noqa: F811
    """Per upstream: the Envoy in front of it and how to read (and forget) its executions."""

    def python_log(clear: bool) -> list[dict]:
        found = [{"kind": e.kind, "name": e.name, "method": e.method, "path": e.path,
                  "identity": [list(h) for h in e.identity]} for e in mcp_server.executions]
        if clear:
            mcp_server.executions.clear()
        return found

    control = f"http://127.0.0.1:{ts_server['control']}/executions"

    def ts_log(app: str):
        def read(clear: bool) -> list[dict]:
            found = [e for e in requests.get(control, timeout=5).json() if e["app"] == app]
            if clear:
                requests.delete(control, timeout=5)
            return found
        return read

    upstreams = {"python": (mcp_server.port, python_log), "ts-json": (ts_server["json"], ts_log("json")),
                 "ts-raw": (ts_server["raw"], ts_log("raw"))}
    built = {}
    for name, (port, log) in upstreams.items():
        endpoint = start_mcp_envoy(module_envoy_factory, issuer, SimpleNamespace(port=port), rules=RULES,
                                   claims_to_headers=CLAIM_HEADERS)
        built[name] = SimpleNamespace(endpoint=endpoint, log=log)
    return built


OUTCOMES: dict[tuple[str, str], Outcome] = {}


def send(target, row: Row, token: str) -> int | None:
    headers = row.header_list() + ([("Authorization", f"Bearer {token}")] if row.token else [])
    port = target.endpoint.port
    if row.h2:
        pseudo = [(b":method", row.method.encode()), (b":scheme", b"http"), (b":authority", f"127.0.0.1:{port}".encode()),
                  (b":path", row.path.encode())]
        lower = [(n.lower().encode(), v.encode()) for n, v in headers]
        return h2_raw.h2_request(port, pseudo + lower, body=row.body).status
    return target.endpoint.envoy.request(row.method, row.path, headers, row.body).status


def outcome(targets, target_name: str, row: Row, token: str) -> Outcome:
    """Sends the row once per upstream (both tests of a row share it)."""
    key = (target_name, row.id)
    if key not in OUTCOMES:
        target = targets[target_name]
        target.log(True)
        status = send(target, row, token)
        time.sleep(0.02)  # a handler still running after an early answer gets to record
        log = target.log(True)
        OUTCOMES[key] = Outcome(status, [(e["kind"], e["name"]) for e in log],
                                [tuple(h) for e in log for h in e["identity"]],
                                [(e["method"], e["path"]) for e in log])
    return OUTCOMES[key]


@pytest.fixture(scope="module", autouse=True)
def report():
    """The per-row table for the report (status and executions of every upstream)."""
    yield
    if not OUTCOMES:
        return
    directory = REPO_ROOT / os.environ.get("TEST_LOGS", "target/test-logs")
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"{'row':36} " + " ".join(f"{t:>24}" for t in TARGETS)]
    for row in ROWS:
        cells = []
        for t in TARGETS:
            got = OUTCOMES.get((t, row.id))
            ran = ",".join(name for _, name in got.executed) if got else ""
            spoofed = " +spoofed header" if got and any(SPOOF in v for _, v in got.identity) else ""
            cells.append(f"{(str(got.status) if got else '-') + (' ran ' + ran if ran else '') + spoofed:>24}")
        lines.append(f"{row.id:36} " + " ".join(cells))
    (directory / "upstream-differential.txt").write_text("\n".join(lines) + "\n")


ROW_IDS = [r.id for r in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
@pytest.mark.parametrize("target_name", TARGETS)
def test_upstream_executes_only_what_was_authorized(targets, token, target_name, row):
    got = outcome(targets, target_name, row, token)
    context = f"filter answered {got.status}; upstream executed {got.executed} via {got.routed}"
    if not row.token:
        smuggled = [e for e in got.executed if e not in PUBLIC]
        assert not smuggled, f"executed without a credential: {smuggled} ({context})"
        assert not got.identity, f"identity headers reached the upstream without a token: {got.identity} ({context})"
    spoofed = [h for h in got.identity if SPOOF in h[1]]
    assert not spoofed, f"client-sent identity headers reached the upstream: {spoofed} ({context})"
    if row.token:
        assert all(name in IDENTITY_NAMES for name, _ in got.identity), (
            f"identity headers the filter did not set: {got.identity} ({context})")
        if any(e not in PUBLIC for e in got.executed):  # a `none` rule checks no token, sets no identity
            assert ("x-entra-client-id", ADDER[0]) in got.identity, f"the token's identity is missing ({context})"
    if row.executes is not None:
        assert got.executed == list(row.executes), f"positive control did not execute ({context})"


CONTRACT_ROWS = [r for r in ROWS if r.contract is not None]


@pytest.mark.parametrize("row", CONTRACT_ROWS, ids=[r.id for r in CONTRACT_ROWS])
@pytest.mark.parametrize("target_name", TARGETS)
def test_filter_answers_as_the_contract_says(targets, token, target_name, row):
    got = outcome(targets, target_name, row, token)
    assert got.status == row.contract, (
        f"filter answered {got.status}, the contract says {row.contract}; upstream executed {got.executed}")
