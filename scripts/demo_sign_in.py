"""The demo's user sign-in page: a small MCP client web app a person follows in a browser.

    http://127.0.0.1:9002/   → "Sign in" → the test issuer's sign-in page (Accept)
                             → back on /callback: tools/list and tools/call through Envoy

It does what an MCP client does on its own, each step shown on the page: POST the MCP
endpoint without a token (401 and the challenge), follow `resource_metadata` to the
protected resource metadata, read the authorization server's metadata (RFC 8414 or
OpenID discovery), send the browser to its authorization endpoint (authorization code
+ PKCE S256, RFC 8707 `resource`, a pre-registered public client with a loopback
redirect URI), redeem the code and call the tools with the token. Nothing is stored
beyond the pending sign-ins of this process.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2025-11-25"}
PENDING_LIMIT = 64  # sign-ins started and not finished (a page left open, a reload)


def http_json(url: str, body: dict | None = None, form: dict | None = None,
              headers: dict | None = None) -> tuple[int, dict, dict]:
    """(status, headers, JSON or SSE `data:` payload) of a GET, a JSON POST or a form POST."""
    data = None
    head = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        head["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=head, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, answer_headers, text = answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        status, answer_headers, text = error.code, dict(error.headers), error.read().decode()
    if text.startswith("event:") or text.startswith("data:"):
        text = next((line[5:].strip() for line in text.splitlines() if line.startswith("data:")), "{}")
    try:
        payload = json.loads(text) if text else {}
    except json.JSONDecodeError:
        payload = {"text": text[:300]}
    return status, answer_headers, payload


def discover(mcp_url: str) -> tuple[list[str], dict, dict]:
    """(steps shown to the user, protected resource metadata, authorization server metadata)."""
    steps = []
    status, headers, _ = http_json(mcp_url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=MCP_HEADERS)
    challenge = next((v for k, v in headers.items() if k.lower() == "www-authenticate"), "")
    steps.append(f"POST {mcp_url} without a token → {status}, WWW-Authenticate: {challenge}")
    metadata_url = challenge.split('resource_metadata="', 1)[1].split('"', 1)[0]
    _, _, prm = http_json(metadata_url)
    steps.append(f"GET {metadata_url} → authorization_servers {prm['authorization_servers']}, "
                 f"scopes_supported {prm.get('scopes_supported')}")
    issuer = prm["authorization_servers"][0].rstrip("/")
    parts = urllib.parse.urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path
    for url in (f"{origin}/.well-known/oauth-authorization-server{path}",
                f"{origin}/.well-known/openid-configuration{path}", f"{issuer}/.well-known/openid-configuration"):
        status, _, server = http_json(url)
        if status == 200:
            steps.append(f"GET {url} → authorization_endpoint {server['authorization_endpoint']}, "
                         f"code_challenge_methods_supported {server.get('code_challenge_methods_supported')}")
            return steps, prm, server
    raise RuntimeError(f"no authorization server metadata for {issuer}")


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class SignInPage:
    """The page on 127.0.0.1:`port`, for the MCP endpoint `mcp_url` and public client `client_id`."""

    def __init__(self, port: int, mcp_url: str, client_id: str) -> None:
        self.mcp_url = mcp_url
        self.client_id = client_id
        self.pending: dict[str, dict] = {}
        self._lock = threading.Lock()
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                page.answer(self)

            def log_message(self, *_) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"  # the public client allows any loopback port

    def start(self) -> SignInPage:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve_forever that never ran
            self._server.shutdown()
        self._server.server_close()

    def follow_as_a_person(self) -> str:
        """`make demo-check`: the page's path followed as a person would (Accept on the
        issuer's page); returns the problem, or "" when the tools answered with the
        user's token."""
        import requests  # tests/requirements.txt, like the sign-in helper below
        from sign_in_support import Redirect, follow_authorize

        start = requests.get(self.url + "sign-in", allow_redirects=False, timeout=10)
        if start.status_code != 302:
            return f"/sign-in answered {start.status_code}: {start.text[:300]}"
        redirect = follow_authorize(start.headers["Location"])
        if not isinstance(redirect, Redirect) or not redirect.location.startswith(self.redirect_uri):
            return f"the issuer did not send the browser back: {redirect}"
        result = requests.get(redirect.location, timeout=30).text
        wanted = ["tools/call add → HTTP 200", "5.0", f"&quot;x-entra-client-id&quot;: &quot;{self.client_id}"]
        missing = [w for w in wanted if w not in result]
        return f"missing {missing} in the page:\n{result}" if missing else ""

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(request.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        try:
            if url.path == "/":
                status, body, location = 200, self.home(), None
            elif url.path == "/sign-in":
                status, body, location = 302, "", self.sign_in()
            elif url.path == "/callback":
                status, body, location = 200, self.callback(query), None
            else:
                status, body, location = 404, page("Not found", "<p><a href='/'>Start again</a></p>"), None
        except Exception as error:  # noqa: BLE001 - shown to the person running the demo
            status, body, location = 500, page("Sign-in failed", f"<pre>{html.escape(str(error))}</pre>"
                                               "<p><a href='/'>Start again</a></p>"), None
        request.send_response(status)
        if location:
            request.send_header("Location", location)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Cache-Control", "no-store")
        data = body.encode()
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def home(self) -> str:
        return page("entra-guard demo: sign in as a user", (
            f"<p>This page is an MCP client for <code>{html.escape(self.mcp_url)}</code> (Envoy + entra-guard). "
            "It discovers the authorization server from the filter's 401 and metadata, sends you to the "
            "test issuer's sign-in page (authorization code + PKCE, as Entra ID), and calls the tools with "
            "your token.</p><p><a id='sign-in' href='/sign-in'>Sign in</a></p>"))

    def sign_in(self) -> str:
        steps, prm, server = discover(self.mcp_url)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(16)
        with self._lock:
            while len(self.pending) >= PENDING_LIMIT:
                self.pending.pop(next(iter(self.pending)))
            self.pending[state] = {"verifier": verifier, "steps": steps, "token_endpoint": server["token_endpoint"],
                                   "resource": prm["resource"]}
        params = {"client_id": self.client_id, "response_type": "code", "redirect_uri": self.redirect_uri,
                  "scope": " ".join(prm.get("scopes_supported") or []), "state": state,
                  "code_challenge": challenge, "code_challenge_method": "S256", "resource": prm["resource"]}
        return server["authorization_endpoint"] + "?" + urllib.parse.urlencode(params)

    def callback(self, query: dict[str, str]) -> str:
        with self._lock:
            started = self.pending.pop(query.get("state", ""), None)
        if started is None:
            return page("Unknown sign-in", "<p>This sign-in was not started here. <a href='/'>Start again</a></p>")
        if "code" not in query:
            return page("Sign-in refused", f"<pre>{html.escape(query.get('error_description', str(query)))}</pre>")
        status, _, tokens = http_json(started["token_endpoint"], form={
            "grant_type": "authorization_code", "client_id": self.client_id, "code": query["code"],
            "redirect_uri": self.redirect_uri, "code_verifier": started["verifier"], "resource": started["resource"]})
        if status != 200:
            return page("Token request refused", f"<pre>{html.escape(json.dumps(tokens, indent=2))}</pre>")
        token = tokens["access_token"]
        steps = [*started["steps"], "Signed in at the issuer; code redeemed with the PKCE verifier "
                 f"(token_endpoint {started['token_endpoint']})"]
        bearer = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
        results = []
        for method, params in (("tools/list", None), ("tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}}),
                               ("tools/call", {"name": "whoami", "arguments": {}})):
            message = {"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params else {})}
            status, _, answer = http_json(self.mcp_url, message, headers=bearer)
            result = answer.get("result", answer)
            if method == "tools/list" and status == 200:
                result = [tool["name"] for tool in result.get("tools", [])]
            elif status == 200:
                result = result.get("structuredContent", result)
            label = method + (f" {params['name']}" if params else "")
            results.append(f"<h3>{html.escape(label)} → HTTP {status}</h3>"
                           f"<pre class='result'>{html.escape(json.dumps(result, indent=2))}</pre>")
        seen = {k: v for k, v in claims(token).items() if k in ("name", "preferred_username", "oid", "aud", "azp", "scp", "roles")}
        return page("Signed in: the tools answered through entra-guard", (
            "<h2>What the client did</h2><ol>" + "".join(f"<li>{html.escape(s)}</li>" for s in steps) + "</ol>"
            f"<h2>Your access token's claims</h2><pre>{html.escape(json.dumps(seen, indent=2))}</pre>"
            "<h2>MCP calls with it</h2>" + "".join(results) + "<p><a href='/'>Start again</a></p>"))


def page(title: str, body: str) -> str:
    return ("<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;"
            "padding:.5em;overflow-x:auto}</style></head><body><h1>" + html.escape(title) + "</h1>" + body +
            "</body></html>")
