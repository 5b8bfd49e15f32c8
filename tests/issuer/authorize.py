"""`GET|POST /{tenant}/oauth2/v2.0/authorize`: the test user signs in and consents.

Checked as Entra checks them: the client (a registered public client) and its
redirect URI come first and fail on an error page (no redirect to an unchecked
URI); every later error goes back to the redirect URI as `error`, `error_description`
(AADSTS...), `error_uri` and `state`: response type, scopes, RFC 8707 `resource`
(AADSTS9010010 unless one of the API app's identifier URIs) and PKCE, required
with S256 (a public client without a `code_challenge`, or with `plain`, is refused).

Sign-in modes: `page` (default) answers an HTML page where one click on "Accept"
(a form POST back here) signs the test user in; `auto` redirects with the code at
once, for HTTP clients that follow the URL without a browser.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from .apps import GrantError, Registry
from .user_grants import USER_NAME, USER_UPN, Grant, Grants

SIGN_IN_MODES = ("page", "auto")
CHALLENGE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None


def authorize(params: Mapping[str, str], method: str, tenant: str, registry: Registry, grants: Grants,
              mode: str) -> Reply:
    client_id = params.get("client_id")
    if not client_id:
        return _error_page(GrantError(400, "invalid_request", 900144,
                                      "The request body must contain the following parameter: 'client_id'."))
    client = registry.public_client(client_id)
    if client is None:
        return _error_page(GrantError(400, "unauthorized_client", 700016,
                                      f"Application with identifier '{client_id}' was not found in the directory "
                                      f"'{tenant}'. This can happen if the application has not been installed by "
                                      "the administrator of the tenant or consented to by any user in the tenant. "
                                      "You may have sent your authentication request to the wrong tenant."))
    redirect_uri = params.get("redirect_uri", "")
    if not client.allows(redirect_uri):
        return _error_page(GrantError(400, "invalid_request", 50011,
                                      f"The redirect URI '{redirect_uri}' specified in the request does not match "
                                      f"the redirect URIs configured for the application '{client_id}'. Make sure "
                                      "the redirect URI sent in the request matches one added to your application "
                                      "in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to "
                                      "learn more about how to fix this."))
    state = params.get("state")
    try:
        grant = _grant(params, tenant, registry, client_id, redirect_uri)
    except GrantError as error:
        return _redirect(redirect_uri, _error_params(error), state)
    if method == "POST" and params.get("consent") == "cancel":
        return _redirect(redirect_uri, _error_params(GrantError(
            400, "access_denied", 65004, "User declined to consent to access the app.")), state)
    if method == "POST" and params.get("consent") == "accept" or mode == "auto":
        return _redirect(redirect_uri, {"code": grants.issue_code(grant)}, state)
    return Reply(200, _consent_page(params, client.name, grant).encode("utf-8"))


def _grant(params: Mapping[str, str], tenant: str, registry: Registry, client_id: str, redirect_uri: str) -> Grant:
    response_type = params.get("response_type")
    if response_type != "code":
        raise GrantError(400, "unsupported_response_type", 700051,
                         f"response_type '{response_type}' is not enabled for the application.")
    scopes = registry.resolve(params.get("scope"), tenant, client_id)
    scopes.check_resource(params.get("resource"))
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method", "plain")
    if not challenge:
        raise GrantError(400, "invalid_request", 9002325,
                         "Proof Key for Code Exchange is required for cross-origin authorization code redemption.")
    if method != "S256":
        raise GrantError(400, "invalid_request", 9002325,
                         f"Proof Key for Code Exchange is required with code_challenge_method 'S256' for public "
                         f"clients; '{method}' is not accepted.")
    if not CHALLENGE.match(challenge):
        raise GrantError(400, "invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
    return Grant(client_id, scopes, redirect_uri, challenge, params.get("nonce"))


def _error_params(error: GrantError) -> dict[str, str]:
    return {"error": error.body["error"], "error_description": error.body["error_description"],
            "error_uri": error.body["error_uri"]}


def _redirect(redirect_uri: str, values: dict[str, str], state: str | None) -> Reply:
    if state is not None:
        values["state"] = state
    separator = "&" if urllib.parse.urlsplit(redirect_uri).query else "?"
    return Reply(302, location=redirect_uri + separator + urllib.parse.urlencode(values))


def _error_page(error: GrantError) -> Reply:
    text = html.escape(error.body["error_description"])
    page = (f"<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>"
            f"<h1>Sorry, but we're having trouble signing you in.</h1><p id='error'>{text}</p></body></html>")
    return Reply(error.status, page.encode("utf-8"))


def _consent_page(params: Mapping[str, str], client_name: str, grant: Grant) -> str:
    hidden = "".join(f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
                     for k, v in params.items() if k != "consent")
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in grant.scopes.granted.split())
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Permissions requested</title></head>"
        "<body style='font-family:sans-serif;max-width:36em;margin:3em auto'>"
        "<h1>Entra ID simulator</h1>"
        f"<p id='user'>Signed in as <b>{html.escape(USER_NAME)}</b> ({html.escape(USER_UPN)})</p>"
        f"<h2>Permissions requested by {html.escape(client_name)}</h2>"
        f"<p>Client <code>{html.escape(grant.client_id)}</code> asks for:</p><ul id='scopes'>{scopes}</ul>"
        f"<form method='post'>{hidden}"
        "<button id='accept' type='submit' name='consent' value='accept'>Accept</button> "
        "<button id='cancel' type='submit' name='consent' value='cancel'>Cancel</button>"
        "</form></body></html>"
    )
