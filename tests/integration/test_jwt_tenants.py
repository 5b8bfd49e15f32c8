"""Multi-tenant apps (`allowed_tenants`): keys from the `organizations` discovery
document (issuer template `{tenantid}`), tokens of allowed tenants accepted with
their own issuer, every other tenant refused."""

from __future__ import annotations

import pytest
from filter_config import filter_config
from issuer import REMOVE, Issuer
from jwt_support import ISSUER, TENANT, assert_invalid_token, bearer, echoed

TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b"
TENANT_C = "cccccccc-0000-4000-8000-00000000000c"  # known to the issuer, not allowed by the filter


@pytest.fixture(scope="module")
def module_issuer():
    with Issuer(tenants=[TENANT_A, TENANT_B, TENANT_C]) as issuer:
        yield issuer


@pytest.fixture(scope="module")
def envoy(module_envoy_factory, module_issuer):
    config = filter_config(
        module_issuer,
        entra={"tenant_id": None, "allowed_tenants": [TENANT_A, TENANT_B.upper()]},
        claims_to_headers={"tid": "x-entra-tid"},
    )
    return module_envoy_factory(config)


@pytest.fixture
def issuer(module_issuer):
    return module_issuer


@pytest.mark.parametrize("tenant", [TENANT_A, TENANT_B])
@pytest.mark.parametrize("version", [1, 2])
def test_allowed_tenants_are_accepted(envoy, issuer, tenant, version):
    minter = issuer.minter(tenant)
    token = minter.v1() if version == 1 else minter.v2()
    assert echoed(envoy.get("/", bearer(token))).header_values("x-entra-tid") == [tenant]


def test_keys_come_from_the_organizations_document(envoy, issuer):
    assert envoy.get("/", bearer(issuer.minter(TENANT_A).v2())).status == 200
    assert issuer.counters()["paths"] == {
        "/organizations/v2.0/.well-known/openid-configuration": 1,
        "/organizations/discovery/v2.0/keys": 1,
    }


@pytest.mark.parametrize(("make", "expected"), [
    pytest.param(lambda i: i.minter(TENANT_C).v2(), TENANT, id="other-tenant-v2"),
    pytest.param(lambda i: i.minter(TENANT_C).v1(), TENANT, id="other-tenant-v1"),
    pytest.param(lambda i: i.minter(TENANT_A).v2(tid=REMOVE), TENANT, id="no-tid"),
    pytest.param(lambda i: i.minter(TENANT_A).v2(tid=TENANT_A.upper(), iss=i.issuer_v2(TENANT_A.upper())), TENANT,
                 id="tid-upper-case"),
    pytest.param(lambda i: i.minter(TENANT_B).v2(iss=i.issuer_v2(TENANT_A)), ISSUER, id="tid-and-issuer-disagree"),
    pytest.param(lambda i: i.minter(TENANT_A).v2(iss=i.issuer_v2(TENANT_A.upper())), ISSUER,
                 id="issuer-tenant-upper-case"),
    pytest.param(lambda i: i.minter(TENANT_A).v2(iss=f"{i.base_url}/organizations/v2.0"), ISSUER,
                 id="issuer-is-the-alias"),
    pytest.param(lambda i: i.minter(TENANT_A).v2(iss=i.issuer_v2("{tenantid}")), ISSUER,
                 id="issuer-is-the-template"),
    pytest.param(lambda i: i.minter(TENANT_A).v1(iss=i.issuer_v1(TENANT_B)), ISSUER, id="v1-issuer-of-other-tenant"),
])
def test_other_tenants_are_refused(envoy, issuer, make, expected):
    assert_invalid_token(envoy.get("/", bearer(make(issuer))), expected[0])
