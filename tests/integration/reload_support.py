"""Envoy whose listener `main` comes from a watched file (file-based LDS), for the
configuration-change tests (test_config_reload.py).

Istio and Envoy Gateway change a filter's configuration by sending a new Listener
over xDS; a file `path_config_source` with a `watched_directory` is the same
listener manager without a control plane. Envoy re-reads the file when a file is
moved into the directory, so every version is written beside it and renamed over
it (a reader never sees half a file).

Each update is counted by `listener_manager.lds.update_success` or
`update_rejected`. An accepted change of the filter chain only is applied in place
(`listener_in_place_updated`): new connections get the new chain once every
worker has it, then the old chain drains for `--drain-time-s` (Envoy closes its
HTTP/1.1 connections gradually, with `Connection: close` on responses, and the
rest when the drain time is over).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from bootstrap import ENTRA_CLUSTER, UPSTREAM_CLUSTER, bootstrap, static_cluster
from envoy_harness import Envoy

LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener"
LDS = "listener_manager.lds."
DRAIN_SECONDS = 4  # wide enough to see the drain start on a loaded machine


class ListenerFile:
    """The LDS file of one Envoy: `publish` replaces its one listener atomically."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "listeners.json"
        self.version = 0

    def config_source(self) -> dict:
        return {"path_config_source": {"path": str(self.path), "watched_directory": {"path": str(self.directory)}},
                "resource_api_version": "V3"}

    def publish(self, listener: Mapping) -> None:
        self.version += 1
        document = {"version_info": str(self.version), "resources": [{"@type": LISTENER_TYPE, **listener}]}
        staged = self.directory / f".listeners.{self.version}.tmp"
        staged.write_text(json.dumps(document, indent=2))
        os.replace(staged, self.path)


def lds_envoy(workdir: Path, listeners: ListenerFile, *, upstream_port: int, issuer_port: int) -> Envoy:
    """An Envoy (not started) with clusters `upstream` and `entra` and its
    listeners from `listeners` (publish the first version before starting it)."""
    config = bootstrap(listeners=[], clusters=[static_cluster(UPSTREAM_CLUSTER, upstream_port),
                                               static_cluster(ENTRA_CLUSTER, issuer_port)])
    config["dynamic_resources"] = {"lds_config": listeners.config_source()}
    config["node"] = {"id": "entra-guard-test", "cluster": "entra-guard-test"}  # required by any LDS
    return Envoy(config, workdir, name="envoy-lds", extra_args=("--drain-time-s", str(DRAIN_SECONDS)))


def lds_counts(envoy: Envoy) -> dict[str, int]:
    """update_success / update_rejected / update_failure of LDS so far."""
    stats = envoy.stats(LDS)
    return {kind: int(stats.get(LDS + kind, 0)) for kind in ("update_success", "update_rejected", "update_failure")}
