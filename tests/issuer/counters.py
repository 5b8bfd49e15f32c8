"""Request counters of the simulator, so tests can assert how often the filter fetched.

Every request is counted by path (without the query) and by kind (`discovery`,
`jwks`, `token`, `other`; admin calls are not counted); the last requests are kept
with their headers.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass


@dataclass
class RequestRecord:
    method: str
    path: str
    kind: str
    headers: list[list[str]]


class Counters:
    """How many requests each path and each kind (discovery/jwks/token/...) received."""

    def __init__(self, keep: int = 1000) -> None:
        self._paths: Counter[str] = Counter()
        self._kinds: Counter[str] = Counter()
        self._recent: deque[RequestRecord] = deque(maxlen=keep)
        self._changed = threading.Condition()

    def record(self, record: RequestRecord) -> None:
        with self._changed:
            self._paths[record.path.split("?", 1)[0]] += 1
            self._kinds[record.kind] += 1
            self._recent.append(record)
            self._changed.notify_all()

    def snapshot(self) -> dict:
        with self._changed:
            return {"paths": dict(self._paths), "kinds": dict(self._kinds)}

    def count(self, key: str) -> int:
        """Requests of a kind (`jwks`) or to a path (`/tid/discovery/v2.0/keys`)."""
        with self._changed:
            return self._count_locked(key)

    def wait_for(self, key: str, at_least: int, timeout: float) -> int:
        """Block until `count(key) >= at_least` or `timeout`; returns the count."""
        with self._changed:
            self._changed.wait_for(lambda: self._count_locked(key) >= at_least, timeout)
            return self._count_locked(key)

    def recent(self, kind: str | None = None) -> list[RequestRecord]:
        with self._changed:
            return [r for r in self._recent if kind is None or r.kind == kind]

    def reset(self) -> None:
        with self._changed:
            self._paths.clear()
            self._kinds.clear()
            self._recent.clear()

    def _count_locked(self, key: str) -> int:
        return self._paths[key] if key.startswith("/") else self._kinds[key]
