"""Fault injection for the simulator's endpoints.

A test sets a fault on a *target* (`discovery`, `jwks` or `token`) and the handler
asks the board for the fault of each request it serves. A fault may be limited to
the next `count` requests ("fail the first two fetches, then recover").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields

TARGETS = ("discovery", "jwks", "token")

MODES = {
    "none": "clear the fault",
    "status": "answer with `status` (5xx, 404, ...) and a small JSON error body",
    "html": "200 with an HTML page instead of JSON",
    "garbage": "200 application/json with random bytes",
    "truncated": "Content-Length of the whole document, half of it sent, connection closed",
    "cut_json": "a complete 200 response whose JSON is cut in half",
    "huge": "200 with the real document padded to `size` bytes (default 10 MiB)",
    "slow": "the real document after `delay` seconds",
    "redirect": "302 to `location` (default: the same path with ?redirected=1)",
    "timeout": "accept the request and never answer (until cleared, `delay` or stop)",
    "reset": "close the connection without answering",
    "body": "answer `status` (default 200) with `body` (a string or JSON) as `content_type`",
}
ALIASES = {"hang": "timeout", "clear": "none"}

HUGE_DEFAULT = 10 * 1024 * 1024
HANG_LIMIT_SECONDS = 300.0


@dataclass
class Fault:
    """One fault mode with its parameters (only those the mode uses matter)."""

    mode: str
    status: int | None = None
    delay: float = 0.0
    size: int = HUGE_DEFAULT
    location: str | None = None
    body: object = None
    content_type: str = "application/json"
    count: int | None = None  # None: until cleared
    released: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.mode = ALIASES.get(self.mode, self.mode)
        if self.mode not in MODES:
            raise ValueError(f"unknown fault mode {self.mode!r}; known: {', '.join(sorted(MODES))}")
        if self.mode == "status" and self.status is None:
            self.status = 503
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")

    def describe(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "released"}


class FaultBoard:
    """The current fault of each target; thread-safe."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()

    def set(self, target: str, fault: Fault) -> None:
        targets = TARGETS if target == "all" else (target,)
        for name in targets:
            if name not in TARGETS:
                raise ValueError(f"unknown fault target {name!r}; known: {', '.join(TARGETS)}, all")
        with self._lock:
            for name in targets:
                self._release(name)
                if fault.mode != "none":
                    self._faults[name] = fault

    def clear(self, target: str | None = None) -> None:
        with self._lock:
            for name in TARGETS if target in (None, "all") else (target,):
                self._release(name)

    def take(self, target: str) -> Fault | None:
        """The fault for one request to `target`, counting it against `count`."""
        with self._lock:
            fault = self._faults.get(target)
            if fault is None:
                return None
            if fault.count is not None:
                fault.count -= 1
                if fault.count == 0:
                    del self._faults[target]
            return fault

    def snapshot(self) -> dict:
        with self._lock:
            return {name: fault.describe() for name, fault in self._faults.items()}

    def _release(self, target: str) -> None:
        fault = self._faults.pop(target, None)
        if fault is not None:
            fault.released.set()  # hung requests of this fault end now
