"""Running a real Envoy for a test: start, wait until ready, talk to it, stop.

Why it looks like this:
- Ports are never fixed. Listeners and the admin bind port 0; the admin address
  comes back through `--admin-address-path` and listener ports through
  `/listeners?format=json`, so parallel runs on one machine cannot collide.
- `--disable-hot-restart` keeps Envoy away from the shared-memory region keyed by
  `--base-id`, the other thing two Envoys on one machine fight over.
- Readiness is polled on admin `/ready` (no fixed sleeps), and an Envoy that exits
  while starting is reported with its exit code and the tail of its log.
- Each Envoy runs in its own process group and is always killed with it; if the
  test process itself dies, the kernel kills Envoy too (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from http_client import Headers, HttpResponse, Text, request
from paths import find_envoy

START_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.02
_PR_SET_PDEATHSIG = 1
# Startup lines that list extensions / header maps: "[source/server/server.cc:467]   envoy.…".
_STARTUP_LISTING = re.compile(r"\[source/server/server\.cc:\d+\]   ")


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL Envoy if the test process dies without
    cleaning up (a hard timeout, a crash): its own session would outlive us."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class EnvoyError(RuntimeError):
    """Envoy did not start (or did not stop) as expected; the message has its log tail."""


@dataclass
class Rejection:
    """How Envoy refused a configuration (see `Envoy.start_expecting_rejection`)."""

    exited: bool  # the process exited (exit code in `returncode`)
    returncode: int | None
    log: str


class Envoy:
    """One Envoy process for one bootstrap config, with its files in `workdir`."""

    def __init__(
        self,
        config: Mapping,
        workdir: Path,
        *,
        name: str = "envoy",
        envoy_bin: Path | None = None,
        concurrency: int = 2,
        log_level: str = "info",
        component_log_level: str | None = None,
        extra_args: tuple[str, ...] = (),
    ):
        self.config = config
        self.name = name
        self.workdir = Path(workdir)
        self.envoy_bin = envoy_bin or find_envoy()
        self.concurrency = concurrency
        self.log_level = log_level
        self.component_log_level = component_log_level
        self.extra_args = extra_args
        self.config_path = self.workdir / f"{name}.json"
        self.log_path = self.workdir / f"{name}.log"
        self.stdout_path = self.workdir / f"{name}.stdout"
        self.admin_address_path = self.workdir / f"{name}.admin"
        self.process: subprocess.Popen | None = None
        self.admin_port: int | None = None
        self.ports: dict[str, int] = {}

    # --- lifecycle ------------------------------------------------------------------

    def command(self) -> list[str]:
        cmd = [
            str(self.envoy_bin),
            "--config-path", str(self.config_path),
            "--concurrency", str(self.concurrency),
            "--log-level", self.log_level,
            "--log-path", str(self.log_path),
            # The log file is written through Envoy's file flusher (default: every
            # 10 s); tests read it while Envoy runs.
            "--file-flush-interval-msec", "50",
            "--admin-address-path", str(self.admin_address_path),
            "--disable-hot-restart",
        ]
        if self.component_log_level:
            cmd += ["--component-log-level", self.component_log_level]
        return cmd + list(self.extra_args)

    def spawn(self) -> None:
        """Start the process without waiting for anything."""
        if self.process is not None:
            raise EnvoyError(f"{self.name} already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config, indent=2))
        for stale in (self.admin_address_path, self.log_path):
            stale.unlink(missing_ok=True)
        with open(self.stdout_path, "wb") as out:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() kills all of it
                preexec_fn=_die_with_parent,
            )

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> Envoy:
        """Spawn and wait until admin `/ready` answers 200; raises EnvoyError otherwise."""
        self.spawn()
        try:
            self._wait_ready(timeout)
            self.ports = self._listener_ports()
        except BaseException:
            self.stop()
            raise
        return self

    def start_expecting_rejection(self, timeout: float = 15.0, listener: str = "main") -> Rejection:
        """Start with a config Envoy should refuse; returns how it refused.

        Envoy 1.40 configures the Wasm plugin on the main thread while it loads a
        static listener; when on_configure returns false it logs the filter's own
        line ("wasm log <plugin> <root_id>: ..."), then "Unable to create Wasm
        plugin <name>", and exits with code 1. In case a failure only shows once
        the listener exists (e.g. an LDS update), "ready but `listener` missing"
        counts as a rejection too. A config that serves `listener` raises EnvoyError.
        """
        self.spawn()
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return Rejection(True, self.process.returncode, self.log_text())
                if self._admin_ready():
                    ports = self._listener_ports()
                    if listener not in ports:
                        return Rejection(False, None, self.log_text())
                    raise EnvoyError(f"{self.name} accepted the configuration and serves {listener!r}"
                                     f"\n{self.log_tail()}")
                time.sleep(POLL_SECONDS)
            raise EnvoyError(f"{self.name} neither exited nor became ready in {timeout}s\n{self.log_tail()}")
        finally:
            self.stop()

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the process group, SIGKILL after `timeout`; returns the exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            self._signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(process, signal.SIGKILL)
                process.wait(5)
        return process.returncode

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> Envoy:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @staticmethod
    def _signal_group(process: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EnvoyError(f"{self.name} exited with code {self.process.returncode} while starting"
                                 f"\n{self.log_tail()}")
            if self._admin_ready():
                return
            time.sleep(POLL_SECONDS)
        raise EnvoyError(f"{self.name} not ready after {timeout}s\n{self.log_tail()}")

    def _admin_ready(self) -> bool:
        if self.admin_port is None:
            try:
                address = self.admin_address_path.read_text().strip()
            except FileNotFoundError:
                return False
            if not address:
                return False
            self.admin_port = int(address.rsplit(":", 1)[1])
        try:
            return self.admin("/ready").status == 200
        except OSError:
            return False

    def _listener_ports(self) -> dict[str, int]:
        statuses = self.admin("/listeners?format=json").json().get("listener_statuses", [])
        return {s["name"]: s["local_address"]["socket_address"]["port_value"] for s in statuses}

    # --- logs -----------------------------------------------------------------------

    def log_text(self) -> str:
        """Envoy's log file plus what it printed before logging was set up."""
        parts = []
        for path in (self.stdout_path, self.log_path):
            if path.exists():
                text = path.read_text(errors="replace")
                if text.strip():
                    parts.append(text)
        return "\n".join(parts)

    def log_tail(self, lines: int = 60) -> str:
        """The last `lines` meaningful log lines (the startup listing of extensions
        and header maps is left out: it would fill any tail)."""
        kept = [line for line in self.log_text().splitlines() if not _STARTUP_LISTING.search(line)]
        tail = kept[-lines:]
        return f"--- last {len(tail)} lines of {self.log_path} ---\n" + "\n".join(tail)

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> re.Match:
        """The first match of the regex `pattern` in the log, waiting for it to appear."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.log_text())
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"log never matched {pattern!r}\n{self.log_tail()}")
            time.sleep(0.05)

    # --- admin ----------------------------------------------------------------------

    def admin(self, path: str) -> HttpResponse:
        if self.admin_port is None:
            raise EnvoyError(f"{self.name} has no admin address yet")
        return request(self.admin_port, "GET", path, timeout=5.0)

    def stats(self, prefix: str = "") -> dict[str, int | float]:
        """Counters and gauges whose name starts with `prefix` (histograms are left out)."""
        query = f"?filter={urllib.parse.quote('^' + re.escape(prefix), safe='')}" if prefix else ""
        text = self.admin("/stats" + query).text
        values: dict[str, int | float] = {}
        for line in text.splitlines():
            name, sep, value = line.partition(": ")
            if not sep or not name.startswith(prefix):
                continue
            try:
                values[name] = int(value)
            except ValueError:
                try:
                    values[name] = float(value)
                except ValueError:
                    continue  # a histogram summary
        return values

    def stat(self, name: str, default: int = 0) -> int | float:
        return self.stats(name).get(name, default)

    def wait_for_stat(self, name: str, predicate: Callable[[int | float], bool], timeout: float = 10.0) -> int | float:
        """Wait until `predicate(stat(name))` holds; returns the value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.stat(name)
            if predicate(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"stat {name} = {value} never satisfied the condition")
            time.sleep(0.05)

    # --- traffic --------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port of the listener `main`."""
        return self.listener_port("main")

    def listener_port(self, name: str) -> int:
        if name not in self.ports:
            raise EnvoyError(f"{self.name} has no listener {name!r} (has {sorted(self.ports)})")
        return self.ports[name]

    def url(self, path: str = "/", listener: str = "main") -> str:
        return f"http://127.0.0.1:{self.listener_port(listener)}{path}"

    def request(self, method: str = "GET", path: Text = "/", headers: Headers | None = None,
                body: Text | None = None, *, listener: str = "main", timeout: float = 10.0) -> HttpResponse:
        """One raw request (duplicate headers and non-UTF-8 bytes allowed)."""
        return request(self.listener_port(listener), method, path, headers, body, timeout=timeout)

    def get(self, path: Text = "/", headers: Headers | None = None, **kwargs) -> HttpResponse:
        return self.request("GET", path, headers, **kwargs)
