"""The test user's sign-in at the simulator, without a browser: PKCE pairs, following an
authorize URL with an HTTP client (the consent page's form is posted as a browser
would on a click on Accept), and reading what came back on the redirect URI."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import urllib.parse
from dataclasses import dataclass

import requests

FORM_INPUT = re.compile(r"<input type='hidden' name='([^']*)' value='([^']*)'>")


def pkce() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Redirect:
    """Where the authorize endpoint sent the browser, and the query it carried."""

    location: str
    params: dict[str, str]

    @property
    def target(self) -> str:
        """The redirect URI without its query."""
        return self.location.split("?", 1)[0]


def follow_authorize(url: str, accept: bool = True) -> Redirect | requests.Response:
    """GET the authorize URL; on the consent page, press Accept (or Cancel). Returns the
    redirect, or the response when the simulator answered an error page instead."""
    response = requests.get(url, allow_redirects=False, timeout=10)
    if response.status_code == 200 and "id='accept'" in response.text:
        fields = {html.unescape(k): html.unescape(v) for k, v in FORM_INPUT.findall(response.text)}
        fields["consent"] = "accept" if accept else "cancel"
        response = requests.post(url.split("?", 1)[0], data=fields, allow_redirects=False, timeout=10)
    if response.status_code != 302:
        return response
    location = response.headers["Location"]
    query = urllib.parse.urlsplit(location).query
    return Redirect(location, dict(urllib.parse.parse_qsl(query)))


def authorize_url(issuer, **params: str) -> str:
    return issuer.authorize_url() + "?" + urllib.parse.urlencode(params)
