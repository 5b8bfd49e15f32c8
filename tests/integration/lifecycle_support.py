"""Pieces of test_lifecycle.py: an upstream that records every request the moment
its headers arrive, requests sent as separate events (HTTP/1.1 with a
Content-Length body, chunked, chunked with trailers; HTTP/2 frames), Envoy
options as the shipped configs set them, and the checks on what reached the
upstream.

Each request carries a marker header; the recorder files what it receives
under that marker, so a test asks "what of this request reached the upstream"
even when many requests run at once.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bootstrap import entra_guard_filter, static_cluster
from h2_raw import h2_stream
from http_client import HttpResponse
from issuer.tokens import decode_unverified
from upstream.echo import EchoHandler, EchoServer

# The two calls of the per-tool rules: `add` is public, `divide` needs a token.
DIVIDE = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                     "params": {"name": "divide", "arguments": {"a": 6, "b": 3}}}).encode()
ADD = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                  "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}).encode()

MARKER = "x-lifecycle-case"
PAUSE = 0.05  # between the events of one request: Envoy sees each on its own
GRACE = 0.3  # after the answers, for a forwarded request still on its way
TRAILERS = [("x-checksum", "c0ffee")]
IDENTITY_HEADERS = ("x-entra-oid", "x-entra-tid", "x-entra-client-id")
CLAIMS_TO_HEADERS = {"oid": "x-entra-oid", "tid": "x-entra-tid", "azp": "x-entra-client-id"}

# The HttpConnectionManager options of envoy/envoy.yaml that change what reaches
# the filter (codec_type AUTO is the bootstrap's default), plus HTTP/1.1 trailers.
SHIPPED_HCM = {
    "normalize_path": True,
    "merge_slashes": True,
    "path_with_escaped_slashes_action": "REJECT_REQUEST",
    "common_http_protocol_options": {"headers_with_underscores_action": "REJECT_REQUEST"},
    "http_protocol_options": {"enable_trailers": True},
    "http2_protocol_options": {"max_concurrent_streams": 100, "initial_stream_window_size": 65536,
                               "initial_connection_window_size": 1048576},
}
# Envoy's defaults (headers with `_` pass, no path normalisation), trailers on.
PERMISSIVE_HCM = {"http_protocol_options": {"enable_trailers": True}}


# --- the recording upstream ------------------------------------------------------------

@dataclass
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes | None = None  # None until the whole body was read

    def values(self, name: str) -> list[str]:
        """Values of every header an upstream may read as `name` (any case, `_` for `-`)."""
        return [v for k, v in self.headers if spelled_as(k, name)]


def spelled_as(header: str, name: str) -> bool:
    return header.lower().replace("_", "-") == name.lower().replace("_", "-")


class RecordingHandler(EchoHandler):
    def _read_body(self) -> bytes:
        # Filed before the body is read: a request counts as received as soon as
        # its headers reached the upstream.
        entry = self.server.app.file(self.command, self._raw_target(), list(self.headers.items()))
        body = super()._read_body()
        entry.body = body
        return body


class RecordingEcho(EchoServer):
    """The echo upstream, also keeping every request it received by marker."""

    def __init__(self) -> None:
        super().__init__()
        self._handler = RecordingHandler
        self._lock = threading.Lock()
        self.received: dict[str, list[Received]] = {}

    def file(self, method: str, path: str, headers: list[tuple[str, str]]) -> Received:
        entry = Received(method, path, headers)
        marker = next((v for k, v in headers if k.lower() == MARKER), "")
        with self._lock:
            self.received.setdefault(marker, []).append(entry)
        return entry

    def of(self, marker: str) -> list[Received]:
        with self._lock:
            return list(self.received.get(marker, []))


# --- requests as separate events ---------------------------------------------------------

# protocol: how the body is framed; shape: which events the request is made of.
SHAPES = {
    "h1-length": ("headers", "data", "chunks"),
    "h1-chunked": ("data", "chunks"),
    "h1-trailers": ("data+trailers", "trailers"),
    "h2": ("headers", "data", "chunks", "data+trailers", "trailers"),
}
WIRES = [(protocol, shape) for protocol, shapes in SHAPES.items() for shape in shapes]
BODY_SHAPES = ("data", "chunks", "data+trailers")


def pieces(body: bytes, shape: str) -> list[bytes]:
    """The DATA events of `shape` (none for headers-only and trailers-only)."""
    if shape in ("headers", "trailers"):
        return []
    if shape == "data":
        return [body]
    parts = 3 if shape == "chunks" else 2
    step = max(1, -(-len(body) // parts))
    return [body[i:i + step] for i in range(0, len(body), step)] or [b""]


@dataclass
class Outcome:
    status: int | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str | None = None

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def send(port: int, protocol: str, shape: str, method: str, path: str,
         headers: Sequence[tuple[str, str | bytes]], body: bytes = b"") -> Outcome:
    """One request on its own connection, its events `PAUSE` apart."""
    data = pieces(body, shape)
    try:
        if protocol == "h2":
            return _send_h2(port, shape, method, path, headers, data)
        return _send_h1(port, protocol, shape, method, path, headers, data)
    except OSError as exc:
        return Outcome(None, error=repr(exc))


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def _send_h1(port, protocol, shape, method, path, headers, data) -> Outcome:
    head = [(_b(k), _b(v)) for k, v in headers] + [(b"Host", f"127.0.0.1:{port}".encode())]
    events: list[bytes] = []
    if protocol == "h1-length":
        if shape != "headers":
            head.append((b"Content-Length", str(sum(map(len, data))).encode()))
        events = [chunk for chunk in data if chunk]
    else:
        head.append((b"Transfer-Encoding", b"chunked"))
        events = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in data if chunk]
        trailers = b"".join(b"%s: %s\r\n" % (_b(k), _b(v)) for k, v in TRAILERS) if "trailers" in shape else b""
        events.append(b"0\r\n" + trailers + b"\r\n")
    head.append((b"Connection", b"close"))
    start = b"%s %s HTTP/1.1\r\n" % (_b(method), _b(path)) + b"".join(b"%s: %s\r\n" % h for h in head) + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(start)
        for event in events:
            time.sleep(PAUSE)
            try:
                sock.sendall(event)
            except OSError:
                break  # answered and closed early: read the answer
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            return Outcome(None, error=repr(exc))
        finally:
            response.close()
        return Outcome(response.status, response.getheaders(), answer)


def _send_h2(port, shape, method, path, headers, data) -> Outcome:
    pseudo = [(b":method", _b(method)), (b":scheme", b"http"), (b":authority", b"127.0.0.1"),
              (b":path", _b(path))]
    fields = pseudo + [(_b(k).lower() if isinstance(k, str) else k, _b(v)) for k, v in headers]
    trailers = [(_b(k), _b(v)) for k, v in TRAILERS] if "trailers" in shape else None
    response = h2_stream(port, fields, data, trailers, pause=PAUSE, timeout=15)
    return Outcome(response.status, [], response.body, "reset" if response.reset else None)


def h1_outcome(response: HttpResponse) -> Outcome:
    return Outcome(response.status, response.headers, response.body)


# --- running many requests at once --------------------------------------------------------

def run_batch(calls: Mapping[str, Callable[[], Outcome]],
              release: tuple[Callable[[], bool], Callable[[], None]] | None = None,
              release_within: float = 20.0) -> dict[str, Outcome]:
    """All `calls` at once; `release` = (ready, action) runs the action as soon as
    `ready()` holds (e.g. every request is held: then let the issuer answer the
    key fetch), or after `release_within` seconds at the latest."""
    stop = threading.Event()

    def released() -> None:
        ready, action = release
        deadline = time.monotonic() + release_within
        while not stop.is_set() and time.monotonic() < deadline and not ready():
            time.sleep(0.05)
        action()

    releaser = threading.Thread(target=released, daemon=True) if release else None
    with ThreadPoolExecutor(max_workers=max(1, len(calls))) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        if releaser:
            releaser.start()
        results = {name: future.result() for name, future in futures.items()}
    stop.set()
    if releaser:
        releaser.join()
    time.sleep(GRACE)
    return results


# --- Envoys --------------------------------------------------------------------------------

def guard(config: Mapping) -> dict:
    """The filter as the shipped configs set it up."""
    return entra_guard_filter(config, allow_on_headers_stop_iteration=True)


def start_envoy(factory, config: Mapping, recorder: RecordingEcho, *, hcm: Mapping,
                own_issuer=None, cluster: str | None = None):
    """An Envoy with the filter before `recorder`; with `own_issuer` the filter
    fetches keys through its own cluster `cluster` (the module's issuer stays
    wired to cluster `entra`)."""
    extra = (static_cluster(cluster, own_issuer.port),) if own_issuer is not None else ()
    return factory(http_filters=[guard(config)], hcm_options=dict(hcm), upstream_port=recorder.port,
                   extra_clusters=extra)


# --- what reached the upstream ---------------------------------------------------------------

def identity_of(token: str | None) -> dict[str, str] | None:
    """The identity headers the filter sets from `token` (claims_to_headers)."""
    if not token:
        return None
    claims = decode_unverified(token)[1]
    return {header: claims[claim] for claim, header in CLAIMS_TO_HEADERS.items()}


def describe(outcome: Outcome, received: list[Received]) -> str:
    seen = [(r.method, r.path, r.headers, r.body) for r in received]
    return f"answer {outcome.status} {outcome.error or ''} {outcome.body[:300]!r}; upstream received {seen}"


def assert_nothing_forwarded(outcome: Outcome, received: list[Received], statuses: frozenset[int]) -> None:
    assert not received, "reached the upstream: " + describe(outcome, received)
    assert outcome.status in statuses, f"expected one of {sorted(statuses)}: " + describe(outcome, received)


def assert_invalid_request(outcome: Outcome) -> None:
    """The filter's 400: a Bearer challenge with error="invalid_request" or the JSON body."""
    challenges = " ".join(outcome.header_values("www-authenticate"))
    try:
        error = json.loads(outcome.body).get("error")
    except (ValueError, AttributeError):
        error = None
    assert 'error="invalid_request"' in challenges or error == "invalid_request", outcome


def assert_forwarded_whole(outcome: Outcome, received: list[Received], body: bytes,
                           identity: Mapping[str, str] | None) -> Received:
    """Forwarded once, body intact, identity headers only as the filter set them
    (`identity`: header → value; None: none at all)."""
    assert outcome.status == 200, "not forwarded: " + describe(outcome, received)
    assert len(received) == 1, "expected one upstream request: " + describe(outcome, received)
    got = received[0]
    assert got.body == body, f"body changed: {got.body!r} != {body!r}"
    for name in IDENTITY_HEADERS:
        expected = [identity[name]] if identity and name in identity else []
        assert got.values(name) == expected, f"{name} upstream: {got.values(name)}, expected {expected}; {got.headers}"
    return got
