"""What the upstream sees once a subscription key was accepted (default names): the
key gone from the header and from the query (every other byte of the target
intact), the subscription name in `x-apim-subscription-name`, client copies of it
removed, on public and JWT paths too; and the key counters."""

from __future__ import annotations

import pytest
from filter_config import filter_config
from jwt_support import METRIC_PREFIX, Metrics
from subscription_support import (
    CONTOSO,
    CONTOSO_PRIMARY,
    CONTOSO_SECONDARY,
    DEFAULT_NAME_HEADER,
    FABRIKAM,
    FABRIKAM_KEY,
    LONGEST,
    UNKNOWN_KEY,
    assert_invalid,
    assert_missing,
    assert_two_keys,
    forwarded,
    key_entries,
)

HEADER = "Ocp-Apim-Subscription-Key"
K = CONTOSO_PRIMARY


@pytest.fixture(scope="module")
def envoy(module_envoy_factory, module_issuer):
    config = filter_config(
        module_issuer,
        subscription_keys={"keys": key_entries()},
        rules=[{"path_prefix": "/public", "require": "none"},
               {"path_prefix": "/sub", "require": "subscription_key"}],
    )
    return module_envoy_factory(config)


@pytest.mark.parametrize(("target", "upstream"), [
    pytest.param(f"/sub?subscription-key={K}", "/sub", id="only-the-key"),
    pytest.param(f"/sub/?subscription-key={K}&", "/sub/", id="key-and-empty"),
    pytest.param(f"/sub?&subscription-key={K}", "/sub", id="empty-and-key"),
    pytest.param(f"/sub?a=1&subscription-key={K}&b=2", "/sub?a=1&b=2", id="middle"),
    pytest.param(f"/sub?b=2&a=1&subscription-key={K}", "/sub?b=2&a=1", id="last-order-kept"),
    pytest.param(f"/sub?subscription-key={K}&b=2&a=1", "/sub?b=2&a=1", id="first-order-kept"),
    pytest.param(f"/sub?subscription-key={K}&a&&b", "/sub?a&&b", id="empty-parameters-after"),
    pytest.param(f"/sub?a&&b&subscription-key={K}", "/sub?a&&b", id="empty-parameters-before"),
    pytest.param(f"/sub?a&&subscription-key={K}&&b", "/sub?a&&&b", id="empty-parameters-around"),
    pytest.param(f"/sub?%73ubscription-key={K}&x=%73", "/sub?x=%73", id="encoded-name"),
    pytest.param(f"/sub?x=?&y=a?b&subscription-key={K}", "/sub?x=?&y=a?b", id="question-marks"),
    pytest.param(f"/sub?a=1;b=2&subscription-key={K}&c=%3B", "/sub?a=1;b=2&c=%3B", id="semicolons"),
    pytest.param(
        f"/sub/a%20b/c?z=%2F%3f&e=&f&g=caf%C3%A9&h=a+b&subscription-key={K}&i=%zz&subscription-key2=v"
        "&Subscription-Key=v&j=subscription-key&k==&%00=1",
        "/sub/a%20b/c?z=%2F%3f&e=&f&g=caf%C3%A9&h=a+b&i=%zz&subscription-key2=v"
        "&Subscription-Key=v&j=subscription-key&k==&%00=1",
        id="everything-else-byte-for-byte"),
])
def test_query_key_is_removed_and_every_other_byte_kept(envoy, target, upstream):
    forwarded(envoy.get(target), path=upstream, name=CONTOSO)


def test_encoded_separators_inside_the_key_do_not_split_the_query(envoy):
    response = envoy.get("/sub?b=%26&subscription-key=Fab+r1k%26am%3DK%25ey~!&am=K")
    forwarded(response, path="/sub?b=%26&am=K", name=FABRIKAM)


def test_header_key_leaves_the_target_untouched(envoy):
    target = "/sub/x?b=2&a=%2F&&c&subscription-key2=1"
    forwarded(envoy.get(target, {HEADER: K}), path=target, name=CONTOSO)


def test_other_headers_and_authorization_pass_unchanged(envoy):
    response = envoy.request("GET", "/sub", [("Authorization", "Basic dXNlcjpwYXNz"), (HEADER, K),
                                             ("X-Trace", "1"), ("X-Trace", "2"), ("X-Bytes", b"caf\xe9")])
    seen = forwarded(response, path="/sub", name=CONTOSO)
    assert seen.header_values("authorization") == ["Basic dXNlcjpwYXNz"]
    assert seen.header_values("x-trace") == ["1", "2"]
    assert seen.header_bytes("x-bytes") == b"caf\xe9"


@pytest.mark.parametrize(("key", "name"), [(CONTOSO_SECONDARY, CONTOSO), (FABRIKAM_KEY, FABRIKAM)])
def test_client_copies_of_the_name_header_are_replaced(envoy, key, name):
    spoofed = [("X-Apim-Subscription-Name", "admin"), (HEADER, key), (DEFAULT_NAME_HEADER, "other")]
    forwarded(envoy.request("GET", "/sub", spoofed), path="/sub", name=name)


def test_public_path_removes_key_and_name_headers_and_sets_no_name(envoy):
    response = envoy.request("GET", f"/public/health?subscription-key={K}&a=1&subscription-key=x",
                             [(HEADER, UNKNOWN_KEY), ("X-Apim-Subscription-Name", "admin")])
    forwarded(response, path="/public/health?a=1", name=None)


def test_public_path_without_any_key_is_untouched(envoy):
    forwarded(envoy.get("/public?a=1&&b="), path="/public?a=1&&b=", name=None)


def test_jwt_path_removes_the_key_and_sets_no_name(envoy, module_issuer):
    """A key is no credential where the rule asks for a JWT, but it never goes upstream."""
    token = module_issuer.tokens.v2()
    response = envoy.request("GET", f"/api?subscription-key={K}&q=1",
                             [(HEADER, K), ("X-Apim-Subscription-Name", "admin"),
                              ("Authorization", f"Bearer {token}")])
    seen = forwarded(response, path="/api?q=1", name=None)
    assert seen.header_values("authorization") == [f"Bearer {token}"]


def test_a_key_does_not_open_a_jwt_path(envoy):
    response = envoy.get("/api", {HEADER: K})
    assert response.status == 401
    assert response.header_values("www-authenticate") == ["Bearer"]


# --- metrics -------------------------------------------------------------------------

def test_every_subscription_counter_exists_from_the_start(envoy):
    names = {name for name in envoy.stats(f"{METRIC_PREFIX}subscription.")}
    assert names == {f"{METRIC_PREFIX}subscription.{n}.allowed" for n in ("contoso-app", "fabrikam_prod", LONGEST)}
    for reason in ("subscription_missing", "subscription_invalid"):
        assert f"{METRIC_PREFIX}denied.{reason}" in envoy.stats(f"{METRIC_PREFIX}denied.")


def test_allowed_keys_are_counted_per_subscription_name(envoy):
    metrics = Metrics(envoy)
    for response in (envoy.get("/sub", {HEADER: K}),
                     envoy.get(f"/sub?subscription-key={CONTOSO_SECONDARY}"),
                     envoy.get("/sub", {HEADER: CONTOSO_SECONDARY}),
                     envoy.get("/sub", {HEADER: FABRIKAM_KEY})):
        assert response.status == 200, response
    metrics.expect({"allowed": 4, "allowed.subscription_key": 4,
                    "subscription.contoso-app.allowed": 3, "subscription.fabrikam_prod.allowed": 1})


def test_denied_keys_are_counted_by_reason(envoy):
    metrics = Metrics(envoy)
    assert_missing(envoy.get("/sub"))
    assert_missing(envoy.get("/sub?subscription-key2=x"))
    assert_invalid(envoy.get("/sub", {HEADER: UNKNOWN_KEY}))
    assert_invalid(envoy.get("/sub?subscription-key=%2574est-primary-key-0001"))
    assert_invalid(envoy.get("/sub", {HEADER: ""}))
    assert_two_keys(envoy.request("GET", "/sub", [(HEADER, K), (HEADER, K)]))
    metrics.expect({"denied": 6, "denied.subscription_missing": 2, "denied.subscription_invalid": 3,
                    "denied.invalid_request": 1})


def test_keys_on_public_paths_count_as_public(envoy):
    metrics = Metrics(envoy)
    assert envoy.get("/public", {HEADER: K}).status == 200
    metrics.expect({"allowed": 1, "allowed.public": 1})
