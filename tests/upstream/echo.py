"""An upstream that answers every request 200 with a JSON description of it.

Tests assert what the filter let through: the method, the raw request target (path
and query byte for byte), every header line in order with duplicates, and the body.
Header values, the path and the body are decoded as ISO-8859-1, so
`value.encode("latin-1")` gives back the exact bytes on the wire, non-UTF-8 included.

    with EchoServer() as echo: ...               # in-process, port 0
    python tests/upstream/echo.py --port 8081    # as a process
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `support` importable
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from support.background import BackgroundServer  # noqa: E402

MAX_BODY_BYTES = 16 << 20


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "echo-upstream/1.0"

    def __getattr__(self, name: str):
        # Every method (GET, POST, OPTIONS, PURGE, ...) is answered the same way.
        if name.startswith("do_"):
            return self._echo
        raise AttributeError(name)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        if getattr(self.server.app, "verbose", False):  # type: ignore[attr-defined]
            super().log_message(format, *args)

    def _echo(self) -> None:
        body = self._read_body()
        description = {
            "method": self.command,
            "path": self._raw_target(),
            "http_version": self.request_version,
            "headers": [[name, value] for name, value in self.headers.items()],
            "body": body.decode("latin-1"),
        }
        payload = json.dumps(description).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _raw_target(self) -> str:
        # Not self.path: the stdlib collapses a leading "//", and tests of path
        # handling need the target exactly as Envoy sent it.
        return self.requestline.split(" ")[1] if self.requestline.count(" ") >= 2 else self.path

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_BODY_BYTES)) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()


@dataclass
class EchoedRequest:
    """What the echo upstream received, parsed back from its JSON answer."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: str

    @classmethod
    def parse(cls, answer: bytes | str | dict) -> EchoedRequest:
        data = answer if isinstance(answer, dict) else json.loads(answer)
        return cls(data["method"], data["path"], [(n, v) for n, v in data["headers"]], data["body"])

    def header_values(self, name: str) -> list[str]:
        """Every value of a header (case-insensitive), one per header line."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_bytes(self, name: str) -> bytes | None:
        """The exact bytes of the first value (the JSON carries them as ISO-8859-1)."""
        value = self.header(name)
        return None if value is None else value.encode("latin-1")

    def has_header(self, name: str) -> bool:
        return bool(self.header_values(name))


class EchoServer(BackgroundServer):
    """The echo upstream on a background thread (`.port`, `.base_url`, start/stop)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self.verbose = verbose
        super().__init__(EchoHandler, app=self, host=host, port=port)


def main() -> None:
    parser = argparse.ArgumentParser(description="HTTP upstream that echoes each request as JSON.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    server = EchoServer(args.host, args.port, args.verbose).start()
    print(f"echo upstream on {server.base_url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
