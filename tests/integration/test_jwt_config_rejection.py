"""An invalid filter configuration stops Envoy at startup with one log line that
names the key and the reason; the filter never runs half-configured."""

from __future__ import annotations

import pytest
from filter_config import filter_config

REFUSAL = "entra-guard: invalid configuration: "


@pytest.mark.parametrize(("change", "reason"), [
    pytest.param(lambda c: c.update(rules=[{"path_prefix": "/api", "require": "jwtt"}]),
                 'rules[0].require: unknown value "jwtt" (expected none, jwt, subscription_key, '
                 'jwt_and_subscription_key or jwt_or_subscription_key)', id="unknown-require"),
    pytest.param(lambda c: c["entra"].update(audiences=[]), "entra.audiences: must not be empty",
                 id="empty-audiences"),
    pytest.param(lambda c: c["entra"].update(clock_skew=300),
                 "entra.clock_skew: unknown key (expected one of: tenant_id,", id="misspelt-key"),
])
def test_invalid_configuration_is_refused_naming_the_key(envoy_factory, issuer, wasm_path, change, reason):
    config = filter_config(issuer)
    change(config)
    rejection = envoy_factory(config, expect_rejection=True)
    assert rejection.exited and rejection.returncode != 0, rejection.log[-2000:]
    refusals = [line.split(REFUSAL, 1)[1] for line in rejection.log.splitlines() if REFUSAL in line]
    assert len(refusals) == 1, refusals
    if reason.endswith(","):  # serde's list of the known keys follows
        assert refusals[0].startswith(reason), refusals[0]
    else:
        assert refusals[0] == reason
    assert "configured: authority" not in rejection.log
