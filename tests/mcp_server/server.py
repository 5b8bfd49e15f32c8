"""A calculator MCP server written with the official MCP Python SDK (`mcp` on PyPI).

Tools `add`, `subtract`, `multiply`, `divide` and `whoami`, prompts `explain` and
`audit`, resources `calculator://about`, `calculator://public` and
`calculator://secret`, served over Streamable HTTP at `/mcp` in stateless mode
(every POST stands alone, so any Envoy worker and any request order work). The
server does no authentication of its own: entra-guard in front of it does, and
`whoami` returns the identity headers the filter set (`x-entra-*`, the
subscription name), so a test can prove that `claims_to_headers` reaches the MCP
server and that client-sent copies never do.

In-process (tests)::

    with McpServerThread() as server:        # port 0: a free port
        server.url                            # http://127.0.0.1:PORT/mcp
        server.requests                       # what reached it: (method, path, headers)
        server.executions                     # what it executed (tool, prompt, resource)

As a process (demo)::

    python tests/mcp_server/server.py --port 9001
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn  # a dependency of `mcp`
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.middleware.cors import CORSMiddleware  # a dependency of `mcp`

MCP_PATH = "/mcp"
# What a browser client may read of the answers (CORS): the session and protocol headers,
# and a challenge the server sends itself.
EXPOSED_HEADERS = ("Mcp-Session-Id", "Mcp-Protocol-Version", "WWW-Authenticate")
# Headers entra-guard sets from the token (claims_to_headers) or from the
# subscription key; `whoami` returns those present, lowercase.
IDENTITY_PREFIXES = ("x-entra-",)
IDENTITY_HEADERS = ("x-apim-subscription-name",)


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n == name.lower()), None)


@dataclass(frozen=True)
class Execution:
    """A tool, prompt or resource the server executed, and the HTTP request that
    carried it: the method and path Starlette routed, and every header line whose
    name reads as an identity header to some framework (any case, `_` for `-`)."""

    kind: str  # "tool", "prompt" or "resource"
    name: str  # tool or prompt name, resource URI
    method: str | None
    path: str | None
    identity: tuple[tuple[str, str], ...]


# The HTTP request being served (set by _Recorder, read by the handlers).
_REQUEST: contextvars.ContextVar[SeenRequest | None] = contextvars.ContextVar("mcp_request", default=None)


def reads_as_identity(name: str) -> bool:
    lower = name.lower().replace("_", "-")
    return lower.startswith(IDENTITY_PREFIXES) or lower in IDENTITY_HEADERS


def build_server(executions: list[Execution] | None = None) -> MCPServer:
    """The calculator. Tool names are what entra-guard's `mcp_tools` rules match;
    `executions`, when given, gets one entry per tool, prompt or resource executed."""

    def executed(kind: str, name: str) -> None:
        if executions is None:
            return
        request = _REQUEST.get()
        identity = tuple((n, v) for n, v in request.headers if reads_as_identity(n)) if request else ()
        executions.append(Execution(kind, name, request and request.method, request and request.path, identity))

    server = MCPServer(
        name="entra-guard-calculator",
        title="Calculator (behind entra-guard)",
        instructions="A calculator. Every call is authorized by entra-guard in front of this server.",
        version="1.0.0",
        log_level="WARNING",
    )

    @server.tool(description="Add two numbers.")
    def add(a: float, b: float) -> float:
        executed("tool", "add")
        return a + b

    @server.tool(description="Subtract b from a.")
    def subtract(a: float, b: float) -> float:
        executed("tool", "subtract")
        return a - b

    @server.tool(description="Multiply two numbers.")
    def multiply(a: float, b: float) -> float:
        executed("tool", "multiply")
        return a * b

    @server.tool(description="Divide a by b.")
    def divide(a: float, b: float) -> float:
        executed("tool", "divide")
        if b == 0:
            raise ToolError("division by zero")
        return a / b

    @server.tool(description="The caller's identity as entra-guard passed it on (x-entra-* headers).")
    def whoami(ctx: Context) -> dict[str, str]:
        executed("tool", "whoami")
        return identity_headers(ctx.headers or {})

    @server.resource("calculator://about", name="about", mime_type="text/plain",
                     description="What this server is.")
    def about() -> str:
        executed("resource", "calculator://about")
        return "A calculator MCP server protected by entra-guard (Entra ID tokens checked in Envoy)."

    # A public and a protected one of each kind, for per-tool rules that name only
    # the public ones (tests/integration/test_upstream_differential.py).
    @server.resource("calculator://public", name="public", mime_type="text/plain")
    def public() -> str:
        executed("resource", "calculator://public")
        return "the public resource"

    @server.resource("calculator://secret", name="secret", mime_type="text/plain")
    def secret() -> str:
        executed("resource", "calculator://secret")
        return "the secret resource"

    @server.prompt(description="Explain the calculator (public).")
    def explain() -> str:
        executed("prompt", "explain")
        return "Explain the calculator."

    @server.prompt(description="Audit the calculator (protected).")
    def audit() -> str:
        executed("prompt", "audit")
        return "Audit the calculator."

    return server


def identity_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The identity headers among `headers`, names lowercase, sorted."""
    found = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith(IDENTITY_PREFIXES) or lower in IDENTITY_HEADERS:
            found[lower] = value
    return dict(sorted(found.items()))


class _Recorder:
    """ASGI wrapper that remembers every HTTP request that reached the server."""

    def __init__(self, app: Any, seen: list[SeenRequest]):
        self.app = app
        self.seen = seen

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"])
            request = SeenRequest(scope["method"], scope["path"], headers)
            self.seen.append(request)
            token = _REQUEST.set(request)  # the handlers' tasks inherit it
            try:
                await self.app(scope, receive, send)
            finally:
                _REQUEST.reset(token)
            return
        await self.app(scope, receive, send)


def asgi_app(seen: list[SeenRequest] | None = None, executions: list[Execution] | None = None,
             cors_origins: Sequence[str] = ()):
    """The Starlette app: Streamable HTTP at /mcp, stateless. `cors_origins`: browser
    origins allowed to call it (a browser-based MCP client such as the MCP Inspector in
    its direct mode), as the SDK's documentation wraps the app; preflights of /mcp are
    the server's to answer (entra-guard forwards them)."""
    app = build_server(executions).streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True)
    if cors_origins:
        app = CORSMiddleware(app, allow_origins=list(cors_origins), allow_methods=["GET", "POST", "DELETE"],
                             allow_headers=["*"], expose_headers=list(EXPOSED_HEADERS))
    return _Recorder(app, seen) if seen is not None else app


class McpServerThread:
    """The server under uvicorn on a background thread (its own event loop)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, cors_origins: Sequence[str] = ()):
        self.host = host
        self.cors_origins = tuple(cors_origins)
        self._requested_port = port
        self.requests: list[SeenRequest] = []
        self.executions: list[Execution] = []
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("server not started")
        return self._socket.getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + MCP_PATH

    def start(self, timeout: float = 10.0) -> McpServerThread:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        self._socket = sock
        config = uvicorn.Config(asgi_app(self.requests, self.executions, self.cors_origins), log_level="warning", lifespan="on",
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve(sockets=[sock])),
                                        name=f"mcp-server:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the MCP server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None

    def requests_to(self, path: str = MCP_PATH) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> McpServerThread:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Calculator MCP server (Streamable HTTP at /mcp) for entra-guard.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    args = parser.parse_args(argv)
    server = McpServerThread(args.host, args.port).start()
    print(f"calculator MCP server on {server.url}", flush=True)
    try:
        while server._thread is not None and server._thread.is_alive():
            server._thread.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
