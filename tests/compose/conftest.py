"""Fixtures for the end-to-end checks against the docker-compose stack.

The stack is started and removed by `make compose-test` (scripts/compose-test.sh);
these tests only find it: the compose project in $ENTRA_GUARD_COMPOSE_PROJECT,
its file in $ENTRA_GUARD_COMPOSE_FILE (default compose/docker-compose.yml), and
the host ports through `docker-compose port`. Without a project the module is
skipped, so a plain `pytest tests` does not need Docker.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
HEALTH_TIMEOUT = float(os.environ.get("ENTRA_GUARD_COMPOSE_HEALTH_TIMEOUT", "90"))


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Stack:
    project: str
    compose_file: Path
    envoy: str  # http://127.0.0.1:PORT of the listener
    admin: str  # Envoy's admin
    issuer: str  # the simulator, for /_admin/ (its own base URL is http://issuer:9000)

    def compose(self, *args: str) -> str:
        return subprocess.run(["docker-compose", "-p", self.project, "-f", str(self.compose_file), *args],
                              check=True, capture_output=True, text=True).stdout.strip()

    def container(self, service: str) -> str:
        """The id of the service's container (docker's CLI: faster than docker-compose's)."""
        ids = docker("ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}",
                     "--filter", f"label=com.docker.compose.service={service}").split()
        if len(ids) != 1:
            pytest.fail(f"compose project {self.project}: {len(ids)} running {service} containers", pytrace=False)
        return ids[0]

    def inspect(self, service: str) -> dict:
        return json.loads(docker("inspect", self.container(service)))[0]

    def url(self, service: str, port: int) -> str:
        """http://127.0.0.1:HOSTPORT of a published container port."""
        bindings = self.inspect(service)["NetworkSettings"]["Ports"].get(f"{port}/tcp") or []
        addresses = [f"{b['HostIp']}:{b['HostPort']}" for b in bindings]
        assert len(addresses) == 1 and addresses[0].startswith("127.0.0.1:"), \
            f"{service}:{port} published on {addresses}, want one 127.0.0.1 binding"
        return f"http://{addresses[0]}"

    # issuer admin API
    def mint(self, **body) -> str:
        answer = requests.post(f"{self.issuer}/_admin/mint", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()["token"]

    def admin_post(self, path: str, **body) -> dict:
        answer = requests.post(f"{self.issuer}/_admin/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def admin_get(self, path: str) -> dict:
        answer = requests.get(f"{self.issuer}/_admin/{path}", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def stat(self, name: str) -> int:
        text = requests.get(f"{self.admin}/stats", params={"filter": f"^{name}$"}, timeout=5).text
        for line in text.splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
        raise KeyError(name)


def _wait_healthy(stack: Stack, services: tuple[str, ...]) -> None:
    """Wait for the containers' own health checks (no fixed sleeps)."""
    deadline = time.monotonic() + HEALTH_TIMEOUT
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {s: stack.inspect(s)["State"].get("Health", {}).get("Status", "none") for s in services}
        if all(state == "healthy" for state in states.values()):
            return
        time.sleep(0.5)
    logs = stack.compose("logs", "--tail", "30")
    pytest.fail(f"stack not healthy after {HEALTH_TIMEOUT:.0f}s: {states}\n{logs}", pytrace=False)


@pytest.fixture(scope="session")
def stack() -> Stack:
    project = os.environ.get("ENTRA_GUARD_COMPOSE_PROJECT")
    if not project:
        pytest.skip("no compose stack: run `make compose-test` (sets ENTRA_GUARD_COMPOSE_PROJECT)")
    compose_file = Path(os.environ.get("ENTRA_GUARD_COMPOSE_FILE") or REPO / "compose" / "docker-compose.yml")
    probe = Stack(project, compose_file, "", "", "")
    _wait_healthy(probe, ("issuer", "upstream", "envoy"))
    return Stack(project, compose_file, probe.url("envoy", 10000), probe.url("envoy", 9901),
                 probe.url("issuer", 9000))
