"""What reaches the upstream: nothing the filter's decision did not see.

Real Envoy, the filter with the options the shipped configs set
(`allow_on_headers_stop_iteration: true`, `codec_type: AUTO`, HTTP/1.1 trailers
on), and an upstream that records every request as soon as its headers arrive.
The assertions are on what the upstream recorded, not only on the status.

Requests the filter holds (waiting for the JSON-RPC body of a per-tool
   rule, for the first signing keys, for a kid-miss re-fetch), sent as every
   sequence of events HTTP/1.1 and HTTP/2 allow: headers only, headers + data,
   data in several chunks, data + trailers, trailers without data. A stream that
   ends with trailers must be decided exactly like one that ends with data. The
   requests of one reason run at once (one key fetch serves them all), each
   case is then its own test.
The contract's other lifecycle rows are in test_lifecycle_hostile.py.

Run: .venv/bin/pytest tests/integration/test_lifecycle.py -q
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from filter_config import filter_config
from issuer import Issuer
from jwt_support import METRIC_PREFIX
from lifecycle_support import (
    ADD,
    DIVIDE,
    BODY_SHAPES,
    CLAIMS_TO_HEADERS,
    MARKER,
    SHIPPED_HCM,
    WIRES,
    Outcome,
    RecordingEcho,
    assert_forwarded_whole,
    assert_nothing_forwarded,
    identity_of,
    run_batch,
    send,
    start_envoy,
)
from vm_health import assert_vms_healthy, vm_snapshot

pytestmark = pytest.mark.wasm  # every test here runs the built filter

MCP_HEADERS = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]
FORGED_IDENTITY = [("X-Entra-OID", "forged-by-client"), ("X-Entra-Tid", "forged-by-client")]

# Per-tool rules: `add` is public, `divide` and anything else on /mcp need a token.
TOOL_RULES = [
    {"path_prefix": "/mcp", "require": "none", "mcp_tools": ["add"]},
    {"path_prefix": "/mcp", "require": "jwt", "mcp_tools": ["divide"]},
    {"path_prefix": "/mcp", "require": "jwt"},
]
KEY_RULES = [{"path_prefix": "/api", "require": "jwt"}]


@pytest.fixture(scope="module")
def recorder():
    with RecordingEcho() as server:
        yield server


DENIED = frozenset({401})
DENIED_OR_BAD = frozenset({400, 401})  # /mcp without a body: no tool to match
UNAVAILABLE = frozenset({503})
FORWARDED = "forwarded"

# reason          credential      request   expected
HELD = [
    # (a) per-tool rule: the headers wait for the JSON-RPC body
    ("tool-wait",   "none",        "divide", DENIED),
    ("tool-wait",   "none",        "add",    FORWARDED),  # the public tool
    ("tool-wait",   "valid",       "divide", FORWARDED),
    # (b) signing keys not fetched yet: answered late (1 s), or never (discovery hangs)
    ("keys-late",   "unknown-kid", "api",    DENIED),
    ("keys-late",   "valid",       "api",    FORWARDED),
    ("keys-never",  "unknown-kid", "api",    UNAVAILABLE),
    ("keys-never",  "valid",       "api",    UNAVAILABLE),
    # (c) a kid the filter does not know: re-fetch answered in 0.5 s (within the
    # wait), after the wait (slow), or failing (the connection drops after 1 s)
    ("kid-fast",    "unknown-kid", "api",    DENIED),
    ("kid-fast",    "rotated",     "api",    FORWARDED),
    ("kid-slow",    "unknown-kid", "api",    DENIED),
    ("kid-slow",    "rotated",     "api",    DENIED),
    ("kid-failing", "unknown-kid", "api",    DENIED),
    ("kid-failing", "rotated",     "api",    DENIED),
]


def _applies(request: str, expected, shape: str) -> bool:
    # A tool call is a body: forwarding one needs a shape that carries it.
    return not (request != "api" and expected == FORWARDED and shape not in BODY_SHAPES)


HELD_CASES = [
    pytest.param(reason, credential, request, expected, protocol, shape,
                 id=f"{reason}-{credential}-{request}-{protocol}-{shape}")
    for reason, credential, request, expected in HELD
    for protocol, shape in WIRES
    if _applies(request, expected, shape)
]


def case_id(reason, credential, request, protocol, shape) -> str:
    return f"{reason}-{credential}-{request}-{protocol}-{shape}"


@dataclass
class Sent:
    outcome: Outcome
    body: bytes
    token: str | None


class HeldRuns:
    """Starts the Envoy of each reason when first needed and sends all the
    reason's cases at once; remembers what each case got."""

    KEY_WAIT_MS = {"keys-late": 20000, "keys-never": 1500, "kid": 3000}

    def __init__(self, factory, module_issuer: Issuer, recorder: RecordingEcho):
        self.factory = factory
        self.module_issuer = module_issuer
        self.recorder = recorder
        self.envoys: dict[str, tuple] = {}  # environment -> (envoy, issuer, vm snapshot)
        self.results: dict[str, Sent] = {}
        self.done: set[str] = set()
        self.own_issuers: list[Issuer] = []

    def close(self) -> None:
        for issuer in self.own_issuers:
            issuer.stop()

    # --- environments -------------------------------------------------------------------
    def _own_issuer(self) -> Issuer:
        issuer = Issuer().start()
        self.own_issuers.append(issuer)
        return issuer

    def _start(self, name: str, issuer: Issuer, rules, *, own: bool, **entra):
        cluster = f"entra_{name.replace('-', '_')}"
        config = filter_config(issuer, rules=rules, claims_to_headers=CLAIMS_TO_HEADERS,
                               entra={"cluster": cluster if own else "entra", **entra})
        envoy = start_envoy(self.factory, config, self.recorder, hcm=SHIPPED_HCM,
                            own_issuer=issuer if own else None, cluster=cluster)
        self.envoys[name] = (envoy, issuer, vm_snapshot(envoy))
        return envoy

    def environment(self, reason: str):
        name = reason if reason.startswith("keys-") else reason.split("-")[0]
        if name not in self.envoys:
            if name == "tool":
                self._start(name, self.module_issuer, TOOL_RULES, own=False)
            elif name == "keys-late":
                issuer = self._own_issuer()
                issuer.set_fault("jwks", "slow", delay=120)  # released by the batch
                self._start(name, issuer, KEY_RULES, own=True, key_wait_ms=self.KEY_WAIT_MS[name],
                            fetch_timeout_ms=60000)
            elif name == "keys-never":
                issuer = self._own_issuer()
                issuer.set_fault("discovery", "timeout")  # never answered
                self._start(name, issuer, KEY_RULES, own=True, key_wait_ms=self.KEY_WAIT_MS[name],
                            fetch_timeout_ms=60000)
            else:
                issuer = self._own_issuer()
                envoy = self._start(name, issuer, KEY_RULES, own=True, key_wait_ms=self.KEY_WAIT_MS["kid"],
                                    kid_miss_refetch_seconds=1)
                warm = envoy.request("GET", "/api", {"Authorization": f"Bearer {issuer.tokens.v2()}"})
                assert warm.status == 200, warm  # keys fetched: every later miss is a re-fetch
        return self.envoys[name]

    # --- batches ------------------------------------------------------------------------
    def outcome(self, reason, credential, request, protocol, shape) -> tuple[Sent, list]:
        if reason not in self.done:
            self._run(reason)
        key = case_id(reason, credential, request, protocol, shape)
        return self.results[key], self.recorder.of(key)

    def _run(self, reason: str) -> None:
        envoy, issuer, _ = self.environment(reason)
        release = None
        if reason == "keys-late":
            # The keys arrive once every request is held (the filter counts
            # each), not after a fixed time that a slow machine may overrun.
            held = sum(1 for param in HELD_CASES if param.values[0] == reason)
            waited = f"{METRIC_PREFIX}requests_waited_for_keys"
            release = (lambda: envoy.stat(waited) >= held, issuer.clear_faults)
        elif reason.startswith("kid-"):
            issuer.clear_faults()  # a slow fetch of an earlier batch answers now
            time.sleep(0.3)
            issuer.rotate_keys()  # tokens of `rotated` carry a kid the filter never saw
            if reason == "kid-fast":
                issuer.set_fault("jwks", "slow", delay=0.5)
            elif reason == "kid-slow":
                issuer.set_fault("jwks", "slow", delay=30)
            else:
                issuer.set_fault("jwks", "timeout", delay=1.0)
        tokens = {"none": None, "valid": issuer.tokens.v2(), "rotated": issuer.tokens.v2(),
                  "unknown-kid": issuer.tokens.v2(key="unpublished")}
        calls = {}
        for param in HELD_CASES:
            r, credential, request, _, protocol, shape = param.values
            if r != reason:
                continue
            key = case_id(r, credential, request, protocol, shape)
            calls[key] = self._call(envoy.port, key, protocol, shape, request, tokens[credential])
        outcomes = run_batch({k: c[0] for k, c in calls.items()}, release)
        for key, outcome in outcomes.items():
            self.results[key] = Sent(outcome, calls[key][1], calls[key][2])
        self.done.add(reason)

    @staticmethod
    def _call(port, key, protocol, shape, request, token):
        body = {"divide": DIVIDE, "add": ADD}.get(request, f"payload of {key}".encode())
        if shape in ("headers", "trailers"):
            body = b""
        path = "/api" if request == "api" else "/mcp"
        headers = [(MARKER, key), *FORGED_IDENTITY]
        headers += MCP_HEADERS if request != "api" else [("Content-Type", "text/plain")]
        if token:
            headers.append(("Authorization", f"Bearer {token}"))
        return (lambda: send(port, protocol, shape, "POST", path, headers, body)), body, token


def filter_story(envoy) -> str:
    """What the filter logged and counted in this Envoy: enough to tell a late
    key fetch from a failed one when a run on another machine goes wrong."""
    lines = [line for line in envoy.log_text().splitlines() if "entra-guard" in line]
    counters = {k.removeprefix(METRIC_PREFIX): v for k, v in envoy.stats(METRIC_PREFIX).items() if v}
    return "filter log:\n  " + "\n  ".join(lines[-40:]) + f"\nfilter counters: {counters}"


@pytest.fixture(scope="module")
def held(module_envoy_factory, module_issuer, recorder):
    runs = HeldRuns(module_envoy_factory, module_issuer, recorder)
    yield runs
    runs.close()


@pytest.mark.parametrize("reason, credential, request_kind, expected, protocol, shape", HELD_CASES)
def test_held_request_reaches_upstream_only_when_allowed(held, reason, credential, request_kind, expected,
                                                         protocol, shape):
    sent, received = held.outcome(reason, credential, request_kind, protocol, shape)
    envoy, _, snapshot = held.environment(reason)
    try:
        if expected == FORWARDED:
            assert_forwarded_whole(sent.outcome, received, sent.body, identity_of(sent.token))
        else:
            statuses = DENIED_OR_BAD if request_kind != "api" and shape in ("headers", "trailers") else expected
            assert_nothing_forwarded(sent.outcome, received, statuses)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{filter_story(envoy)}") from None
    assert_vms_healthy(envoy, snapshot)
