"""Envoy bootstrap configurations for the integration tests, as plain dicts.

Every builder returns JSON-ready data (Envoy reads a `.json` bootstrap), so a test
can add listeners, filters or clusters, and the same shapes can be copied into
envoy/ configs. All addresses are 127.0.0.1 and ports default to 0: Envoy binds
free ports and the harness reads them back from the admin API.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from paths import find_wasm

HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
STRING_VALUE_TYPE = "type.googleapis.com/google.protobuf.StringValue"
HTTP_OPTIONS_TYPE = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

UPSTREAM_CLUSTER = "upstream"
ENTRA_CLUSTER = "entra"
FILTER_NAME = "entra_guard"  # also the root_id and vm_id


def socket_address(port: int = 0, host: str = "127.0.0.1") -> dict:
    return {"socket_address": {"address": host, "port_value": port}}


def router_filter() -> dict:
    return {"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER_TYPE}}


def wasm_filter(
    configuration: Mapping | str,
    wasm_path: str | Path,
    *,
    name: str = FILTER_NAME,
    root_id: str = FILTER_NAME,
    vm_id: str = FILTER_NAME,
    failure_policy: str = "FAIL_CLOSED",
    allow_on_headers_stop_iteration: bool | None = None,
) -> dict:
    """The entra-guard Wasm HTTP filter; `configuration` is its JSON (dict or text).

    `failure_policy` replaces `fail_open`, which Envoy 1.40 reports as deprecated.
    Either way, a configuration refused by on_configure makes Envoy exit at startup.
    `allow_on_headers_stop_iteration` (Envoy >= 1.35, unset by default): a filter that
    pauses in on_http_request_headers still gets the body callbacks while the headers
    wait. Rules with `mcp_tools`/`mcp_methods` need it: they decide on the JSON-RPC
    body before the headers may go upstream (without it such POSTs never complete).
    """
    text = configuration if isinstance(configuration, str) else json.dumps(configuration)
    plugin = {
        "name": name,
        "root_id": root_id,
        "vm_config": {
            "vm_id": vm_id,
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"local": {"filename": str(wasm_path)}},
        },
        "configuration": {"@type": STRING_VALUE_TYPE, "value": text},
        "failure_policy": failure_policy,
    }
    if allow_on_headers_stop_iteration is not None:
        plugin["allow_on_headers_stop_iteration"] = allow_on_headers_stop_iteration
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {"@type": WASM_TYPE, "config": plugin},
    }


def entra_guard_filter(configuration: Mapping | str, wasm_path: str | Path | None = None, **options) -> dict:
    """`wasm_filter` with the built entra_guard.wasm (raises WasmMissing if not built)."""
    return wasm_filter(configuration, wasm_path or find_wasm(), **options)


def route_everything_to(cluster: str = UPSTREAM_CLUSTER) -> dict:
    return {
        "name": "local_route",
        "virtual_hosts": [
            {"name": "all", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": cluster}}]}
        ],
    }


def http_listener(
    name: str = "main",
    http_filters: Iterable[Mapping] = (),
    *,
    port: int = 0,
    route_config: Mapping | None = None,
    hcm_options: Mapping | None = None,
) -> dict:
    """A listener with http_connection_manager: `http_filters`, then the router.

    `hcm_options` are merged into the HttpConnectionManager (e.g. `normalize_path`).
    """
    hcm = {
        "@type": HCM_TYPE,
        "stat_prefix": name,
        "codec_type": "AUTO",
        "route_config": dict(route_config or route_everything_to()),
        "http_filters": [*http_filters, router_filter()],
        **(hcm_options or {}),
    }
    return {
        "name": name,
        "address": socket_address(port),
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
        ],
    }


def static_cluster(name: str, port: int, host: str = "127.0.0.1", connect_timeout: str = "1s") -> dict:
    """One HTTP/1.1 endpoint."""
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": connect_timeout,
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket_address(port, host)}}]}],
        },
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": HTTP_OPTIONS_TYPE,
                "explicit_http_config": {"http_protocol_options": {}},
            }
        },
    }


def bootstrap(listeners: Iterable[Mapping], clusters: Iterable[Mapping], admin_port: int = 0) -> dict:
    return {
        # File-based SDS (a secret of Envoy's own filters) needs a node id and cluster.
        "node": {"id": "entra-guard-test", "cluster": "entra-guard-test"},
        "admin": {"address": socket_address(admin_port)},
        "static_resources": {"listeners": list(listeners), "clusters": list(clusters)},
    }


def entra_guard_bootstrap(
    *,
    upstream_port: int,
    issuer_port: int | None = None,
    http_filters: Iterable[Mapping] = (),
    extra_listeners: Iterable[Mapping] = (),
    extra_clusters: Iterable[Mapping] = (),
    hcm_options: Mapping | None = None,
    listener_port: int = 0,
) -> dict:
    """Listener `main` (`http_filters` + router → cluster `upstream`) and cluster
    `entra` to the issuer: the layout every integration test starts from.
    `listener_port` fixes the port of `main` (0: a free one), for configurations
    that must name their own address (the MCP resource URL)."""
    clusters = [static_cluster(UPSTREAM_CLUSTER, upstream_port)]
    if issuer_port is not None:
        clusters.append(static_cluster(ENTRA_CLUSTER, issuer_port))
    return bootstrap(
        listeners=[http_listener("main", http_filters, port=listener_port, hcm_options=hcm_options),
                   *extra_listeners],
        clusters=[*clusters, *extra_clusters],
    )
