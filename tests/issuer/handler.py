"""HTTP handling of the simulator: routing, counting, and playing faults on the wire.

Entra's endpoints are answered from `documents`, `token_endpoint` (client
credentials), `authorize` and `user_token` (the user sign-in flow); `/_admin/`
goes to `admin`. As Entra, discovery, keys and the token endpoint answer browsers
(CORS: `Access-Control-Allow-Origin: *`, preflights answered; counted as kind
`preflight`); an unknown path answers 404 without CORS headers. Faults that need the socket itself (truncated bodies, hangs,
resets) are played here.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

from . import admin, documents
from .counters import RequestRecord
from .faults import HANG_LIMIT_SECONDS, Fault
from .authorize import authorize
from .token_endpoint import TokenError, client_credentials
from .user_token import USER_GRANTS, user_grant

if TYPE_CHECKING:
    from .issuer import Issuer

JSON = "application/json; charset=utf-8"
DOCUMENT_CACHE_CONTROL = "max-age=86400, private"  # what Entra sends with discovery and keys
MAX_FORM_BYTES = 1 << 20
CORS_KINDS = ("discovery", "jwks", "token")  # what Entra lets a browser read (MSAL.js, SPAs)
MAX_PREFLIGHT_HEADER = 1024

_TENANT = r"/(?P<tenant>[^/?]+)"
ROUTES = [
    ("GET", re.compile(_TENANT + r"/v2\.0/\.well-known/openid-configuration"), "discovery", "discovery_v2"),
    ("GET", re.compile(_TENANT + r"/\.well-known/openid-configuration"), "discovery", "discovery_v1"),
    ("GET", re.compile(_TENANT + r"/discovery/v2\.0/keys"), "jwks", "jwks"),
    ("GET", re.compile(_TENANT + r"/discovery/keys"), "jwks", "jwks"),
    ("POST", re.compile(_TENANT + r"/oauth2/v2\.0/token"), "token", "token"),
    ("GET", re.compile(_TENANT + r"/oauth2/v2\.0/authorize"), "authorize", "authorize"),
    ("POST", re.compile(_TENANT + r"/oauth2/v2\.0/authorize"), "authorize", "authorize"),
]


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = JSON
    cache_control: str | None = None
    location: str | None = None

    @classmethod
    def json(cls, status: int, value, cache_control: str | None = None) -> Answer:
        return cls(status, json.dumps(value).encode("utf-8"), JSON, cache_control)


class IssuerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real authority behind a pool
    _cors = False
    server_version = "entra-sim/1.0"

    @property
    def issuer(self) -> Issuer:
        return self.server.app  # type: ignore[attr-defined]

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        if self.issuer.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:  # noqa: N802 - stdlib name
        """CORS preflight of discovery, keys or the token endpoint: granted for any origin."""
        self._cors = False
        path = self.path.partition("?")[0]
        kind = self._route(path)[0]
        headers = [list(h) for h in self.headers.items()]
        self.issuer.request_counters.record(RequestRecord(self.command, self.path, "preflight", headers))
        self._read_body()
        asked = self.headers.get("Access-Control-Request-Method")
        if kind not in CORS_KINDS or asked is None:
            self._send(Answer.json(404, {"error": "not_found", "path": path}))
            return
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", asked[:MAX_PREFLIGHT_HEADER])
        requested = self.headers.get("Access-Control-Request-Headers")
        if requested:
            self.send_header("Access-Control-Allow-Headers", requested[:MAX_PREFLIGHT_HEADER])
        self.send_header("Access-Control-Max-Age", "86400")
        self.send_header("Content-Length", "0")
        self.end_headers()

    # --- dispatch -------------------------------------------------------------------

    def _dispatch(self) -> None:
        self._cors = False  # one handler serves every request of a kept-alive connection
        path, _, query = self.path.partition("?")
        body = self._read_body()
        if path.startswith("/_admin/"):
            self._admin(path, query, body)
            return
        kind, tenant, endpoint = self._route(path)
        self._cors = endpoint is not None and kind in CORS_KINDS
        headers = [list(h) for h in self.headers.items()]
        self.issuer.request_counters.record(RequestRecord(self.command, self.path, kind, headers))
        if endpoint is None:
            self._send(Answer.json(404, {"error": "not_found", "path": path}))
            return
        answer = self._answer(endpoint, tenant, body, query)
        fault = self.issuer.fault_board.take(kind) if kind != "authorize" else None
        if fault is None:
            self._send(answer)
        else:
            self._play(fault, answer)

    def _route(self, path: str) -> tuple[str, str, str | None]:
        found = ("other", "", None)
        for method, pattern, kind, endpoint in ROUTES:
            match = pattern.fullmatch(path)
            if match and method == self.command:
                return kind, match["tenant"], endpoint
            if match:
                found = (kind, match["tenant"], None)
        return found

    def _answer(self, endpoint: str, tenant: str, body: bytes, query: str) -> Answer:
        issuer = self.issuer
        if not issuer.knows_tenant(tenant, for_tokens=endpoint in ("token", "authorize")):
            return Answer.json(400, documents.tenant_not_found(tenant))
        base = issuer.base_url
        if endpoint == "discovery_v2":
            return Answer.json(200, documents.discovery_v2(base, tenant), DOCUMENT_CACHE_CONTROL)
        if endpoint == "discovery_v1":
            return Answer.json(200, documents.discovery_v1(base, tenant), DOCUMENT_CACHE_CONTROL)
        if endpoint == "jwks":
            return Answer.json(200, documents.jwks(base, tenant, issuer.keys.published()), DOCUMENT_CACHE_CONTROL)
        if endpoint == "authorize":
            source = body.decode("utf-8", "replace") if self.command == "POST" else query
            params = dict(urllib.parse.parse_qsl(source, keep_blank_values=True))
            reply = authorize(params, self.command, tenant, issuer.registry, issuer.grants, issuer.sign_in)
            return Answer(reply.status, reply.body, reply.content_type, location=reply.location)
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        values = {name: items[0] for name, items in form.items() if items}
        try:
            if values.get("grant_type") in USER_GRANTS:
                token = user_grant(values, tenant, issuer.registry, issuer.grants,
                                   issuer.directory.token_version, issuer.minter(tenant), self.headers.get("Origin"))
            else:
                token = client_credentials(form, self.headers.get("Authorization"), tenant,
                                           issuer.directory, issuer.minter(tenant), issuer.registry)
        except TokenError as error:
            return Answer.json(error.status, error.body)
        return Answer.json(200, token)

    def _admin(self, path: str, query: str, body: bytes) -> None:
        try:
            payload = json.loads(body) if body.strip() else {}
        except json.JSONDecodeError as exc:
            self._send(Answer.json(400, {"error": f"body is not JSON: {exc}"}))
            return
        params = dict(urllib.parse.parse_qsl(query))
        status, value = admin.handle(self.issuer, self.command, path, params, payload)
        self._send(Answer.json(status, value))

    # --- wire -----------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_FORM_BYTES)) if length > 0 else b""

    def _send(self, answer: Answer, declared_length: int | None = None) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        if answer.cache_control:
            self.send_header("Cache-Control", answer.cache_control)
        if answer.location:
            self.send_header("Location", answer.location)
        if self._cors:
            self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(answer.body) if declared_length is None else declared_length))
        self.end_headers()
        self._write(answer.body)

    def _write(self, data: bytes) -> None:
        try:
            for start in range(0, len(data), 1 << 16):
                self.wfile.write(data[start:start + (1 << 16)])
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. a body-size cap)

    def _drop_connection(self, reset: bool) -> None:
        """End the connection without (the rest of) an answer; `reset` sends a TCP RST."""
        self.close_connection = True
        if reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- faults ---------------------------------------------------------------------

    def _play(self, fault: Fault, answer: Answer) -> None:
        mode = fault.mode
        if mode == "status":
            self._send(Answer.json(fault.status, {"error": "injected_fault", "status": fault.status}))
        elif mode == "html":
            self._send(Answer(200, b"<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>",
                              "text/html; charset=utf-8"))
        elif mode == "garbage":
            self._send(Answer(200, os.urandom(512), "application/json"))
        elif mode == "truncated":
            self._send(Answer(200, answer.body[: len(answer.body) // 2]), declared_length=len(answer.body))
            self._drop_connection(reset=False)
        elif mode == "cut_json":
            self._send(Answer(200, answer.body[: len(answer.body) // 2]))
        elif mode == "huge":
            self._send(Answer(200, _padded(answer.body, fault.size)))
        elif mode == "slow":
            fault.released.wait(fault.delay)
            self._send(answer)
        elif mode == "redirect":
            location = fault.location or self._redirect_target()
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "timeout":
            fault.released.wait(fault.delay or HANG_LIMIT_SECONDS)
            self._drop_connection(reset=False)
        elif mode == "reset":
            self._drop_connection(reset=True)
        elif mode == "body":
            body = fault.body if isinstance(fault.body, (str, bytes)) else json.dumps(fault.body)
            self._send(Answer(fault.status or 200, body.encode() if isinstance(body, str) else body,
                              fault.content_type))

    def _redirect_target(self) -> str:
        separator = "&" if "?" in self.path else "?"
        return f"{self.issuer.base_url}{self.path}{separator}redirected=1"


def _padded(document: bytes, size: int) -> bytes:
    """The real JSON object grown to `size` bytes with a padding member: still valid,
    so only a size cap (not a parse error) protects a client from it."""
    value = json.loads(document)
    overhead = len(json.dumps({**value, "padding": ""}).encode())
    value["padding"] = "A" * max(0, size - overhead)
    return json.dumps(value).encode()
