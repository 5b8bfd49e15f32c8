"""A real browser (headless Debian chromium, playwright-core) completes the Entra
simulator's authorization code flow with PKCE: a tiny client page links to the
authorize URL, the test user accepts on the consent page, the browser lands on the
client's loopback redirect URI with the code, which the test redeems with the PKCE
verifier for a token that verifies. Screenshots of each step: target/test-logs/browser/.
"""

from __future__ import annotations

import html
import urllib.parse
from http.server import BaseHTTPRequestHandler

import requests
from browser_support import SHOTS, browser_node, run_script  # noqa: F401 - fixture
from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI
from issuer.constants import DEFAULT_PUBLIC_CLIENT_ID
from issuer.user_grants import USER_OID
from sign_in_support import authorize_url, pkce
from support.background import BackgroundServer
from test_issuer_simulator import verify


class ClientPage(BaseHTTPRequestHandler):
    """`/`: a "Sign in" link to the authorize URL; `/callback`: shows what came back."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path, _, query = self.path.partition("?")
        if path == "/callback":
            params = dict(urllib.parse.parse_qsl(query))
            rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v[:60])}</dd>" for k, v in params.items())
            body = f"<h1 id='callback'>Back at the client</h1><dl>{rows}</dl>"
        else:
            body = f"<h1>MCP client (test)</h1><a id='sign-in' href='{html.escape(self.server.app['link'])}'>Sign in</a>"
        data = f"<!DOCTYPE html><html><body style='font-family:sans-serif'>{body}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def test_browser_completes_the_code_flow_with_pkce(browser_node, issuer):  # noqa: F811
    issuer.set_sign_in("page")
    verifier, challenge = pkce()
    link = {"link": ""}
    client = BackgroundServer(ClientPage, app=link).start()
    try:
        redirect_uri = f"http://127.0.0.1:{client.port}/callback"  # registered without a port
        link["link"] = authorize_url(  # the page's link, known once the port is
            issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID, response_type="code", redirect_uri=redirect_uri,
            scope=f"{DEFAULT_API_URI}/calculator.add offline_access", state="browser-state",
            code_challenge=challenge, code_challenge_method="S256")
        out = run_script(browser_node, "sign_in.mjs", "--start", f"http://127.0.0.1:{client.port}/",
                         "--shots", str(SHOTS / "sign-in"))
    finally:
        client.stop()
    assert out["ok"], out
    assert "Test User" in out["consentUser"]
    assert [p.rsplit("/", 1)[1] for p in out["screenshots"]] == ["01-client.png", "02-consent.png",
                                                                 "03-callback.png"]
    callback = urllib.parse.urlsplit(out["callbackUrl"])
    params = dict(urllib.parse.parse_qsl(callback.query))
    assert callback.path == "/callback" and params["state"] == "browser-state"
    token = requests.post(issuer.token_url(), timeout=5, data={
        "grant_type": "authorization_code", "client_id": DEFAULT_PUBLIC_CLIENT_ID, "code": params["code"],
        "redirect_uri": redirect_uri, "code_verifier": verifier}).json()
    claims = verify(issuer, token["access_token"])
    assert (claims["aud"], claims["scp"], claims["oid"]) == (DEFAULT_API_APP_ID, "calculator.add", USER_OID)
    assert token["refresh_token"]
