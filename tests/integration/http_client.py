"""A raw HTTP/1.1 client for tests that must control the exact bytes on the wire.

`requests` and `http.client` refuse or rewrite what security tests need to send:
two `Authorization` lines, header values that are not UTF-8, odd request targets
(`//x`, `%2e%2e`, raw non-ASCII). Here the request is written byte for byte and
the response is read with `http.client`, keeping duplicate response headers.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Text = str | bytes
Headers = Mapping[str, Text] | Iterable[tuple[Text, Text]]


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]  # in order, duplicates kept, names as sent
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive name), or None."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<HttpResponse {self.status} {self.headers!r} body={self.body[:200]!r}>"


def _bytes(value: Text) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def _header_pairs(headers: Headers | None) -> list[tuple[bytes, bytes]]:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(_bytes(name), _bytes(value)) for name, value in items]


def build_request(method: str, target: Text, headers: Headers | None = None, body: Text | None = None,
                  *, host: str | None = None) -> bytes:
    """The request bytes. Adds `Host` (when `host` is given and none is in `headers`),
    `Content-Length` for a body, and `Connection: close`, unless already present."""
    pairs = _header_pairs(headers)
    names = {name.lower() for name, _ in pairs}
    if host is not None and b"host" not in names:
        pairs.insert(0, (b"Host", host.encode("ascii")))
    payload = _bytes(body) if body is not None else b""
    if body is not None and b"content-length" not in names and b"transfer-encoding" not in names:
        pairs.append((b"Content-Length", str(len(payload)).encode("ascii")))
    if b"connection" not in names:
        pairs.append((b"Connection", b"close"))
    head = b"%s %s HTTP/1.1\r\n" % (_bytes(method), _bytes(target))
    head += b"".join(b"%s: %s\r\n" % pair for pair in pairs)
    return head + b"\r\n" + payload


def send_raw(port: int, data: bytes, *, host: str = "127.0.0.1", method: str = "GET",
             timeout: float = 10.0) -> HttpResponse:
    """Write `data` as is and read one response (`method` tells if a body follows)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()
            body = response.read()
        finally:
            response.close()
        return HttpResponse(response.status, response.reason, response.getheaders(), body)


def request(port: int, method: str = "GET", target: Text = "/", headers: Headers | None = None,
            body: Text | None = None, *, host: str = "127.0.0.1", timeout: float = 10.0) -> HttpResponse:
    """One request on its own connection; `headers` may repeat names and hold any bytes."""
    data = build_request(method, target, headers, body, host=f"{host}:{port}")
    return send_raw(port, data, host=host, method=method, timeout=timeout)
