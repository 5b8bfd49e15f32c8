"""The command-line forms demo scripts and benchmarks use: issuer.py and mint.py."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests

TESTS_DIR = Path(__file__).resolve().parents[1]
ISSUER_SCRIPT = TESTS_DIR / "issuer" / "issuer.py"
MINT_SCRIPT = TESTS_DIR / "issuer" / "mint.py"
TENANT = "33333333-4444-5555-6666-777777777777"


class IssuerProcess:
    def __init__(self, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, str(ISSUER_SCRIPT), "--port", "0", "--tenant", TENANT, *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        banner = self.process.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+)", banner)
        if not match:
            self.stop()
            raise AssertionError(f"issuer did not start: {banner!r}")
        self.url = match[1]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def jwks(self) -> list[dict]:
        return requests.get(f"{self.url}/{TENANT}/discovery/v2.0/keys", timeout=5).json()["keys"]

    def verify(self, token: str, issuer: str | None = None) -> dict:
        kid = jwt.get_unverified_header(token)["kid"]
        key = next((k for k in self.jwks() if k["kid"] == kid), None)
        if key is None:
            raise jwt.InvalidTokenError(f"kid {kid} not published")
        return jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], options={"verify_aud": False},
                          issuer=issuer or f"{self.url}/{TENANT}/v2.0")


def mint(*args: str) -> list[str]:
    result = subprocess.run([sys.executable, str(MINT_SCRIPT), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.fixture
def cli_issuer() -> Iterator[IssuerProcess]:
    issuer = IssuerProcess("--client", "cli-client:cli-secret:Calculator.Add,Calculator.Subtract")
    yield issuer
    issuer.stop()


def test_minted_token_verifies_against_the_cli_issuer(cli_issuer):
    (token,) = mint("--issuer-url", cli_issuer.url, "--roles", "Calculator.Add", "--claim", "xms_test=[1,2]")
    claims = cli_issuer.verify(token)
    assert claims["tid"] == TENANT
    assert claims["roles"] == ["Calculator.Add"]
    assert claims["xms_test"] == [1, 2]


def test_many_distinct_tokens_and_v1(cli_issuer, tmp_path):
    out = tmp_path / "tokens.txt"
    mint("--issuer-url", cli_issuer.url, "--count", "50", "--out", str(out))
    tokens = out.read_text().split()
    assert len(set(tokens)) == 50
    cli_issuer.verify(tokens[0])
    (v1,) = mint("--issuer-url", cli_issuer.url, "--version", "1", "--remove", "nbf")
    claims = cli_issuer.verify(v1, issuer=f"https://sts.windows.net/{TENANT}/")
    assert claims["ver"] == "1.0" and "nbf" not in claims


def test_other_keys_are_minted_by_the_issuer(cli_issuer):
    (token,) = mint("--issuer-url", cli_issuer.url, "--key", "unpublished", "--remove-header", "typ")
    assert "typ" not in jwt.get_unverified_header(token)
    with pytest.raises(jwt.InvalidTokenError):
        cli_issuer.verify(token)


def test_cli_clients_get_tokens(cli_issuer):
    response = requests.post(f"{cli_issuer.url}/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": "cli-client", "client_secret": "cli-secret",
        "scope": "api://aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/.default"}, timeout=5)
    assert response.status_code == 200, response.text
    assert cli_issuer.verify(response.json()["access_token"])["roles"] == ["Calculator.Add", "Calculator.Subtract"]


def test_seeded_issuer_and_minter_agree_without_talking():
    issuer = IssuerProcess("--seed", "demo")
    try:
        (token,) = mint("--issuer-url", issuer.url, "--seed", "demo", "--tenant", TENANT)
        issuer.verify(token)
    finally:
        issuer.stop()
