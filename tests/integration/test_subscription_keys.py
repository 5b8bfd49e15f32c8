"""Subscription keys in real Envoy (`require: subscription_key`, default names):
where a key is read from, which wins, how query values are decoded, and the APIM
answers for missing, unknown, malformed and duplicated keys."""

from __future__ import annotations

import pytest
from filter_config import filter_config
from subscription_support import (
    CONTOSO,
    CONTOSO_PRIMARY,
    CONTOSO_SECONDARY,
    FABRIKAM,
    FABRIKAM_KEY,
    LONGEST,
    LONGEST_KEY,
    UNKNOWN_KEY,
    assert_invalid,
    assert_missing,
    assert_two_keys,
    encode_all,
    forwarded,
    key_entries,
)

HEADER = "Ocp-Apim-Subscription-Key"


@pytest.fixture(scope="module")
def envoy(module_envoy_factory, module_issuer):
    config = filter_config(
        module_issuer,
        subscription_keys={"keys": key_entries()},
        rules=[{"path_prefix": "/sub", "require": "subscription_key"}],
    )
    return module_envoy_factory(config)


def key_header(value: str | bytes, name: str = HEADER) -> list[tuple[str, str | bytes]]:
    return [(name, value)]


# --- accepted ------------------------------------------------------------------------

@pytest.mark.parametrize("name", [HEADER, HEADER.lower(), HEADER.upper(), "oCP-aPIM-sUBSCRIPTION-kEY"])
def test_header_key_is_accepted_whatever_the_name_case(envoy, name):
    response = envoy.get("/sub/orders?x=1", key_header(CONTOSO_PRIMARY, name))
    forwarded(response, path="/sub/orders?x=1", name=CONTOSO)


@pytest.mark.parametrize(("key", "name"), [
    pytest.param(CONTOSO_PRIMARY, CONTOSO, id="primary"),
    pytest.param(CONTOSO_SECONDARY, CONTOSO, id="secondary-same-name"),
    pytest.param(FABRIKAM_KEY, FABRIKAM, id="punctuation"),
    pytest.param(LONGEST_KEY, LONGEST, id="256-chars"),
])
def test_every_configured_key_is_accepted_in_the_header(envoy, key, name):
    forwarded(envoy.get("/sub", key_header(key)), path="/sub", name=name)


def test_optional_whitespace_around_the_header_value_is_not_part_of_the_key(envoy):
    response = envoy.get("/sub", key_header(f" \t{CONTOSO_PRIMARY} \t"))
    forwarded(response, path="/sub", name=CONTOSO)


@pytest.mark.parametrize(("query", "name"), [
    pytest.param(f"subscription-key={CONTOSO_PRIMARY}", CONTOSO, id="plain"),
    pytest.param(f"subscription-key={CONTOSO_SECONDARY}", CONTOSO, id="secondary"),
    pytest.param("subscription-key=%74est-primary-key-0001", CONTOSO, id="one-escape"),
    pytest.param("subscription-key=%74%65%73%74-primary-key-0001", CONTOSO, id="lowercase-escapes"),
    pytest.param(f"subscription-key={encode_all(CONTOSO_PRIMARY)}", CONTOSO, id="every-byte"),
    pytest.param(f"subscription%2Dkey={CONTOSO_PRIMARY}", CONTOSO, id="encoded-name"),
    pytest.param("subscription-key=Fab+r1k%26am%3DK%25ey~!", FABRIKAM, id="plus-is-not-space"),
    pytest.param("subscription-key=Fab%2Br1k%26am%3DK%25ey%7E%21", FABRIKAM, id="plus-encoded"),
    pytest.param(f"subscription-key={encode_all(LONGEST_KEY)}", LONGEST, id="256-chars-every-byte"),
])
def test_query_key_is_accepted_and_removed(envoy, query, name):
    forwarded(envoy.get(f"/sub/items?{query}"), path="/sub/items", name=name)


# --- precedence ----------------------------------------------------------------------

def test_header_wins_over_a_query_key_and_both_are_removed(envoy):
    response = envoy.get(f"/sub?subscription-key={FABRIKAM_KEY.replace('&', '%26')}&a=1",
                         key_header(CONTOSO_PRIMARY))
    forwarded(response, path="/sub?a=1", name=CONTOSO)


def test_with_a_header_key_every_query_occurrence_is_removed(envoy):
    """Two query keys are not ambiguous when the header decides; neither goes upstream."""
    target = f"/sub?subscription-key={UNKNOWN_KEY}&a=1&subscription%2dkey=x&b&subscription-key"
    forwarded(envoy.get(target, key_header(CONTOSO_SECONDARY)), path="/sub?a=1&b", name=CONTOSO)


@pytest.mark.parametrize("header_value", [UNKNOWN_KEY, ""], ids=["unknown", "empty"])
def test_an_invalid_header_key_is_not_rescued_by_a_valid_query_key(envoy, header_value):
    assert_invalid(envoy.get(f"/sub?subscription-key={CONTOSO_PRIMARY}", key_header(header_value)))


# --- missing and invalid -------------------------------------------------------------

@pytest.mark.parametrize(("target", "headers"), [
    pytest.param("/sub", [], id="nothing"),
    pytest.param("/sub/x?a=1", [], id="other-parameters"),
    pytest.param(f"/sub?subscription-key2={CONTOSO_PRIMARY}", [], id="longer-name"),
    pytest.param(f"/sub?Subscription-Key={CONTOSO_PRIMARY}", [], id="parameter-name-case"),
    pytest.param(f"/sub?subscription%252Dkey={CONTOSO_PRIMARY}", [], id="name-encoded-twice"),
    pytest.param("/sub?a=subscription-key", [], id="name-as-value"),
    pytest.param(f"/sub/subscription-key={CONTOSO_PRIMARY}", [], id="in-the-path"),
    pytest.param("/sub", [("X-Ocp-Apim-Subscription-Key", CONTOSO_PRIMARY)], id="other-header"),
    pytest.param("/sub", [("Authorization", f"Bearer {CONTOSO_PRIMARY}")], id="as-bearer"),
])
def test_missing_key_gets_apims_401(envoy, target, headers):
    assert_missing(envoy.get(target, headers))


@pytest.mark.parametrize("key", [
    pytest.param(UNKNOWN_KEY, id="unknown"),
    pytest.param(CONTOSO_PRIMARY.upper(), id="case-changed"),
    pytest.param(CONTOSO_PRIMARY + "x", id="suffix"),
    pytest.param(CONTOSO_PRIMARY[:-1], id="prefix"),
    pytest.param(LONGEST_KEY + "L", id="257-chars"),
    pytest.param(f"{CONTOSO_PRIMARY},{CONTOSO_SECONDARY}", id="two-in-one-header"),
])
def test_unknown_header_key_gets_the_invalid_key_401(envoy, key):
    assert_invalid(envoy.get("/sub", key_header(key)))


@pytest.mark.parametrize("query", [
    pytest.param(f"subscription-key={UNKNOWN_KEY}", id="unknown"),
    pytest.param("subscription-key=%2574est-primary-key-0001", id="encoded-twice"),
    pytest.param(f"subscription-key={encode_all(encode_all(CONTOSO_PRIMARY))}", id="every-byte-twice"),
    pytest.param("subscription-key=Fab%20r1k%26am%3DK%25ey~!", id="space-for-plus"),
    pytest.param("subscription-key=Fab+r1k&am=K%ey~!", id="unencoded-ampersand"),
    pytest.param(f"subscription-key={CONTOSO_PRIMARY}%00", id="nul"),
    pytest.param(f"subscription-key={encode_all(LONGEST_KEY + 'L')}", id="257-chars-every-byte"),
])
def test_unknown_query_key_gets_the_invalid_key_401(envoy, query):
    assert_invalid(envoy.get(f"/sub?{query}"))


# Raw bytes on the wire (http_client sends them untouched).
MALFORMED_HEADERS = [
    pytest.param(b"", id="empty"),
    pytest.param(b"A" * 10240, id="10KB"),
    pytest.param(CONTOSO_PRIMARY.encode() * 500, id="key-repeated-10KB"),
    pytest.param("caf\u00e9-cl\u00e9".encode(), id="utf8-non-ascii"),
    pytest.param(b"\xff\xfe\x80key", id="not-utf8"),
    pytest.param(CONTOSO_PRIMARY.encode() + b"\xff", id="valid-key-plus-byte"),
    pytest.param(b"test primary-key-0001", id="inner-space"),
    pytest.param(b"\t", id="only-whitespace"),
]
MALFORMED_QUERIES = [
    pytest.param(b"subscription-key=", id="empty"),
    pytest.param(b"subscription-key", id="no-equals"),
    pytest.param(b"subscription-key=" + b"A" * 10240, id="10KB"),
    pytest.param(b"subscription-key=" + b"%41" * 3500, id="10KB-escapes"),
    pytest.param(b"subscription-key=%FF%FE%80", id="escaped-not-utf8"),
    pytest.param(b"subscription-key=caf%C3%A9", id="escaped-utf8"),
    pytest.param(b"subscription-key=%zz%4", id="broken-escapes"),
    pytest.param(b"subscription-key=test%20primary-key-0001", id="escaped-space"),
]


@pytest.mark.parametrize("value", MALFORMED_HEADERS)
def test_malformed_header_key_is_invalid_and_envoy_keeps_serving(envoy, value):
    assert_invalid(envoy.request("GET", "/sub", key_header(value)))
    assert envoy.running
    forwarded(envoy.get("/sub", key_header(CONTOSO_PRIMARY)), path="/sub", name=CONTOSO)


@pytest.mark.parametrize("query", MALFORMED_QUERIES)
def test_malformed_query_key_is_invalid_and_envoy_keeps_serving(envoy, query):
    assert_invalid(envoy.request("GET", b"/sub?" + query))
    assert envoy.running
    forwarded(envoy.get(f"/sub?subscription-key={CONTOSO_PRIMARY}"), path="/sub", name=CONTOSO)


@pytest.mark.parametrize(("target", "value"), [
    pytest.param(b"/sub?subscription-key=caf\xc3\xa9", None, id="query-utf8"),
    pytest.param(b"/sub?subscription-key=\xff\xfe", None, id="query-not-utf8"),
    pytest.param(b"/sub?a=\xff&subscription-key=" + CONTOSO_PRIMARY.encode(), None, id="query-valid-key"),
    pytest.param(b"/sub?subscription-key=test primary", None, id="query-space"),
    pytest.param(b"/sub", b"test-primary\x01key-0001", id="header-control"),
    pytest.param(b"/sub", b"\x7f", id="header-del"),
])
def test_bytes_envoy_refuses_never_reach_the_filter_or_the_upstream(envoy, target, value):
    """Raw non-ASCII in the request target and controls in a header value are
    refused by Envoy's HTTP/1 codec (400) before any filter runs; Envoy keeps serving."""
    response = envoy.request("GET", target, [] if value is None else key_header(value))
    assert (response.status, response.body) == (400, b"Bad Request"), response
    assert response.header_values("www-authenticate") == []
    assert envoy.running
    forwarded(envoy.get("/sub", key_header(CONTOSO_PRIMARY)), path="/sub", name=CONTOSO)


# --- more than one key ---------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    pytest.param([(HEADER, CONTOSO_PRIMARY), (HEADER, CONTOSO_PRIMARY)], id="same-twice"),
    pytest.param([(HEADER, CONTOSO_PRIMARY), (HEADER.lower(), CONTOSO_SECONDARY)], id="two-valid"),
    pytest.param([(HEADER, ""), (HEADER, CONTOSO_PRIMARY)], id="empty-and-valid"),
    pytest.param([(HEADER, UNKNOWN_KEY), ("X-Other", "1"), (HEADER, CONTOSO_PRIMARY)], id="apart"),
])
def test_two_key_headers_get_400(envoy, headers):
    assert_two_keys(envoy.request("GET", f"/sub?subscription-key={CONTOSO_PRIMARY}", headers))


@pytest.mark.parametrize("query", [
    pytest.param(f"subscription-key={CONTOSO_PRIMARY}&subscription-key={CONTOSO_PRIMARY}", id="same-twice"),
    pytest.param(f"subscription-key={CONTOSO_PRIMARY}&a=1&subscription%2Dkey={CONTOSO_SECONDARY}", id="encoded"),
    pytest.param(f"subscription-key&subscription-key={CONTOSO_PRIMARY}", id="empty-and-valid"),
])
def test_query_parameter_twice_gets_400(envoy, query):
    assert_two_keys(envoy.get(f"/sub?{query}"))


def test_apim_401_carries_the_cors_headers_the_readme_promises(envoy):
    for response in (envoy.get("/sub"), envoy.get("/sub", key_header(UNKNOWN_KEY))):
        assert response.header_values("access-control-allow-origin") == ["*"]
        assert response.header_values("access-control-expose-headers") == ["WWW-Authenticate"]
