"""Fixtures for the integration tests: issuer, echo upstream, and real Envoys.

    def test_x(envoy, issuer):                        # Envoy + filter, default config
        assert envoy.get("/", {"Authorization": f"Bearer {issuer.tokens.v2()}"}).status == 200

    def test_y(envoy_factory, issuer):                # anything else
        envoy = envoy_factory(filter_config(issuer, rules=[...]))
        rejection = envoy_factory({"entra": {}}, expect_rejection=True)

A module changes the default filter configuration by overriding `guard_config`.
`mcp_server` is the sample MCP server (tests/mcp_server) for the test_mcp_* modules.
Tests that can share one Envoy use the module-scoped `module_issuer` and
`module_envoy_factory` (same factory, started once per module; the issuer's keys,
faults and counters then persist across the module's tests).
Environment: ENVOY_BIN, ENTRA_GUARD_WASM, ENVOY_CONCURRENCY (2), ENVOY_LOG_LEVEL (info).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from bootstrap import entra_guard_bootstrap, entra_guard_filter
from envoy_harness import Envoy, Rejection
from filter_config import filter_config
from issuer import Issuer
from paths import WasmMissing, find_wasm
from upstream.echo import EchoServer

ENVOYS = pytest.StashKey[list]()
# Tests using these fixtures need the built filter: they get the `wasm` marker.
WASM_FIXTURES = {"wasm_path", "envoy", "module_envoy_factory"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if WASM_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.wasm)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """On a failed test, attach the tail of each of its Envoys' logs to the report.

    The Envoys are stopped first: exiting flushes the log file completely.
    """
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for envoy in item.stash.get(ENVOYS, []):
            envoy.stop()
            report.sections.append((f"envoy {envoy.name} log", envoy.log_tail()))
        module = item.getparent(pytest.Module)
        for envoy in module.stash.get(ENVOYS, []) if module is not None else []:
            # Shared with the module's other tests: read, don't stop (the log is
            # flushed every 50 ms).
            report.sections.append((f"envoy {envoy.name} (module) log", envoy.log_tail()))


@pytest.fixture(scope="session")
def echo() -> Iterator[EchoServer]:
    """The upstream (stateless, so one per session)."""
    with EchoServer() as server:
        yield server


@pytest.fixture(scope="session")
def mcp_server():
    """The sample MCP server (tests/mcp_server, official MCP Python SDK), stateless,
    so one per session. Point an Envoy at it with `envoy_factory(..., upstream_port=mcp_server.port)`."""
    from mcp_server import McpServerThread  # imported here: only the MCP tests need the `mcp` package

    with McpServerThread() as server:
        yield server


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    """A fresh Entra simulator per test: keys, faults and counters never leak."""
    with Issuer() as simulator:
        yield simulator


@pytest.fixture(scope="session")
def wasm_path() -> Path:
    try:
        return find_wasm()
    except WasmMissing as missing:
        message = str(missing)
    pytest.fail(message, pytrace=False)


@pytest.fixture
def guard_config(issuer: Issuer) -> dict:
    """The filter configuration `envoy` uses; override it in a module to change it."""
    return filter_config(issuer)


@pytest.fixture
def envoy_factory(request: pytest.FixtureRequest, tmp_path: Path, echo: EchoServer, issuer: Issuer):
    """Starts Envoys wired to `echo` (cluster `upstream`) and `issuer` (cluster `entra`).

    factory(filter_config=None, *, http_filters=None, extra_listeners=(),
            extra_clusters=(), hcm_options=None, concurrency=None, log_level=None,
            component_log_level=None, expect_rejection=False, upstream_port=None,
            listener_port=0) -> Envoy | Rejection

    With `filter_config` the listener runs the entra-guard filter; `http_filters`
    replaces the filter list entirely (the router is always appended); with neither
    Envoy just proxies. `upstream_port` points cluster `upstream` somewhere else
    than `echo` (e.g. the sample MCP server); `listener_port` fixes the port of
    listener `main` (0: a free one). All Envoys stop when the test ends.
    """
    started: list[Envoy] = []
    request.node.stash[ENVOYS] = started
    yield _factory(started, tmp_path, echo, issuer)
    for envoy in started:
        envoy.stop()


@pytest.fixture(scope="module")
def module_issuer() -> Iterator[Issuer]:
    """One Entra simulator for a whole module (pairs with `module_envoy_factory`)."""
    with Issuer() as simulator:
        yield simulator


@pytest.fixture(scope="module")
def module_envoy_factory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                         echo: EchoServer, module_issuer: Issuer):
    """`envoy_factory` for Envoys shared by a module's tests (wired to `module_issuer`);
    they stop when the module ends."""
    started: list[Envoy] = []
    request.node.stash[ENVOYS] = started
    workdir = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    yield _factory(started, workdir, echo, module_issuer)
    for envoy in started:
        envoy.stop()


def _factory(started: list[Envoy], workdir: Path, echo: EchoServer, issuer: Issuer):
    def factory(
        filter_config: Mapping | str | None = None,
        *,
        http_filters: list[Mapping] | None = None,
        extra_listeners: tuple[Mapping, ...] = (),
        extra_clusters: tuple[Mapping, ...] = (),
        hcm_options: Mapping | None = None,
        concurrency: int | None = None,
        log_level: str | None = None,
        component_log_level: str | None = None,
        expect_rejection: bool = False,
        upstream_port: int | None = None,
        listener_port: int = 0,
    ) -> Envoy | Rejection:
        if http_filters is None:
            http_filters = [] if filter_config is None else [_guard_filter(filter_config)]
        config = entra_guard_bootstrap(
            upstream_port=upstream_port or echo.port, issuer_port=issuer.port, http_filters=http_filters,
            extra_listeners=extra_listeners, extra_clusters=extra_clusters, hcm_options=hcm_options,
            listener_port=listener_port,
        )
        envoy = Envoy(
            config, workdir, name=f"envoy{len(started)}",
            concurrency=concurrency or int(os.environ.get("ENVOY_CONCURRENCY", "2")),
            log_level=log_level or os.environ.get("ENVOY_LOG_LEVEL", "info"),
            component_log_level=component_log_level,
        )
        started.append(envoy)
        return envoy.start_expecting_rejection() if expect_rejection else envoy.start()

    return factory


@pytest.fixture
def envoy(envoy_factory, guard_config: dict, wasm_path: Path) -> Envoy:
    """Envoy running entra-guard with `guard_config`."""
    return envoy_factory(guard_config)


def _guard_filter(config: Mapping | str) -> dict:
    try:
        return entra_guard_filter(config)
    except WasmMissing as missing:
        message = str(missing)
    pytest.fail(message, pytrace=False)
