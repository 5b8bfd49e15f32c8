"""An HTTP server on a background thread, for test servers started in-process.

Port 0 picks a free port (read it back from `.port`), so parallel runs never
collide. `stop()` also closes kept-alive connections: Envoy pools upstream
connections, and a stopped server that kept answering on them would hide an
"authority is down" scenario.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class TrackingHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its open connections so it can cut them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: Any):
        self.app = app  # what handlers reach as self.server.app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class BackgroundServer:
    """Runs `handler` on a thread; `app` is handed to handlers as `self.server.app`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], app: Any = None,
                 host: str = "127.0.0.1", port: int = 0):
        self._handler = handler
        self._app = app
        self.host = host
        self._requested_port = port
        self._server: TrackingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port; after stop() the port it had (a restart binds it again)."""
        if self._server is not None:
            return self._server.server_address[1]
        if self._requested_port:
            return self._requested_port
        raise RuntimeError("server not started")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> BackgroundServer:
        if self._server is not None:
            return self
        self._server = TrackingHTTPServer((self.host, self._requested_port), self._handler, self._app)
        # Keep the port across stop()/start(): a test that stops the authority and
        # starts it again expects the same address (the Envoy cluster points there).
        self._requested_port = self.port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self._handler.__name__}:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Run in the foreground (CLI use) until interrupted."""
        self.start()
        try:
            assert self._thread is not None
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
