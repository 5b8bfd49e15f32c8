"""Load and probes for the IdP fault tests (test_idp_faults.py).

- `Wrk`: wrk on loopback, cycling through tokens the filter has cached, counting
  every status (wrk/statuses.lua). Bounded twice: its own `-d` and SIGINT when
  the scenario is over (wrk then prints its summary and runs done()).
- `Prober`: a few Python threads sending, each on a new connection (so both
  workers get them), requests whose exact answer is known: forged tokens that
  must be refused, fresh valid tokens (never cached: each one is verified with
  the cached keys), unknown kids (each may trigger a rate-limited key re-fetch).
- `FetchClock`: when the issuer saw each key fetch (each starts with discovery).
"""

from __future__ import annotations

import itertools
import json
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from http_client import request
from issuer import Issuer

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "statuses.lua"


@dataclass
class WrkResult:
    requests: int
    statuses: dict[int, int]
    errors: dict[str, int]
    output: str

    def non_2xx(self) -> dict[int, int]:
        return {status: n for status, n in self.statuses.items() if not 200 <= status < 300}


class Wrk:
    """`wrk -t1 -cN` against one listener, stopped by `stop()` (or after `max_seconds`)."""

    def __init__(self, port: int, tokens: list[str], workdir: Path, *, path: str = "/", connections: int = 16,
                 max_seconds: int = 60):
        binary = shutil.which("wrk")
        if binary is None:
            pytest.fail("wrk is not installed (Debian: apt-get install wrk; `make test-integration` installs it as root)", pytrace=False)
        self.tokens_file = workdir / "wrk-tokens.txt"
        self.tokens_file.write_text("\n".join(tokens) + "\n")
        self.command = [binary, "-t1", f"-c{connections}", f"-d{max_seconds}s", "--timeout", "10s",
                        "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}{path}", "--", str(self.tokens_file), path]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Wrk:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return self

    def stop(self) -> WrkResult:
        process = self.process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        for line in output.splitlines():
            if line.startswith("WRK_JSON "):
                data = json.loads(line[len("WRK_JSON "):])
                return WrkResult(data["requests"], {int(k): v for k, v in data["statuses"].items()},
                                 data["errors"], output)
        raise AssertionError(f"wrk printed no summary (exit {process.returncode}):\n{output}")

    def __exit__(self, *exc_info) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class Probe:
    """One kind of request: a token maker (None: no Authorization header) and the
    exact answer it must get."""

    kind: str
    token: Callable[[], str | None]
    status: int
    description: str | None = None  # error_description of a 401
    path: str | None = None  # instead of the Prober's


@dataclass
class Outcome:
    kind: str
    status: int
    description: str | None
    at: float  # when the answer came
    sent: float = 0.0  # when the request left (its connection opened then)


@dataclass
class Prober:
    """`threads` threads cycling through `probes` until stopped."""

    port: int
    probes: list[Probe]
    threads: int = 4
    path: str = "/"
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._kinds = itertools.cycle(self.probes)
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        self.errors: list[BaseException] = []

    def _next(self) -> Probe:
        with self._lock:
            return next(self._kinds)

    def _run(self) -> None:
        while not self._stop.is_set():
            probe = self._next()
            try:
                token = probe.token()
                headers = {} if token is None else {"Authorization": f"Bearer {token}"}
                sent = time.monotonic()
                response = request(self.port, "GET", probe.path or self.path, headers)
                description = None
                if response.header("content-type") == "application/json" and response.status != 200:
                    description = response.json().get("error_description")
                with self._lock:
                    self.outcomes.append(Outcome(probe.kind, response.status, description, time.monotonic(), sent))
            except BaseException as error:  # noqa: BLE001 - reported by check()
                with self._lock:
                    self.errors.append(error)
                return

    def count(self, kind: str, status: int | None = None) -> int:
        with self._lock:
            return sum(1 for o in self.outcomes if o.kind == kind and (status is None or o.status == status))

    def __enter__(self) -> Prober:
        for worker in self._workers:
            worker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(20)

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def wrong(self) -> list[tuple[str, int, str | None]]:
        """Outcomes that differ from their probe's expected answer."""
        expected = {p.kind: p for p in self.probes}
        return [(o.kind, o.status, o.description) for o in self.outcomes
                if (o.status, o.description if o.status == 401 else None)
                != (expected[o.kind].status, expected[o.kind].description)]


class FetchClock:
    """Monotonic times at which the issuer received each discovery request (every
    key fetch starts with one) after the clock started, from a thread polling its
    counter every 5 ms."""

    def __init__(self, issuer: Issuer):
        self.issuer = issuer
        self.base = issuer.count("discovery")
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            seen = self.issuer.count("discovery") - self.base
            self.times += [time.monotonic()] * (seen - len(self.times))

    def gaps(self) -> list[float]:
        return [round(later - earlier, 3) for earlier, later in zip(self.times, self.times[1:])]

    def __enter__(self) -> FetchClock:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
