"""A filter configuration grown to a large deployment's size (issue #17).

`large_config(base)` returns a copy of `base` (a valid entra-guard configuration
dict) with, by default, 10,000 subscriptions of two keys each (20,000 digests),
1,000 rules and 200 allowed tenants. The generated parts never change what a
request that `base` answers gets:

- every generated rule's `path_prefix` starts with `/large-config-`, a segment no
  benchmark or test path uses, and the generated rules come FIRST: a request
  reaches `base`'s rules (or none, as with `base`) only at the end of the list,
  the worst case for a linear scan;
- `base`'s own subscription keys (if any) come last, after the generated ones;
- `allowed_tenants` ends with `base`'s tenant and `tenant_id` stays, so discovery
  and the issuer the tokens carry are `base`'s.

Every generated key's plaintext is `subscription_key(i, "primary" | "secondary")`
and its subscription's name `subscription_name(i)`. Standard library only.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

GENERATED_PREFIX = "/large-config-"
REQUIRES = ("none", "jwt", "subscription_key", "jwt_or_subscription_key", "jwt_and_subscription_key")


def subscription_name(i: int) -> str:
    return f"large-sub-{i}"


def subscription_key(i: int, which: str = "primary") -> str:
    """The plaintext of generated key `i` (`which` is "primary" or "secondary")."""
    if which not in ("primary", "secondary"):
        raise ValueError(f"which must be 'primary' or 'secondary', not {which!r}")
    return f"key-{i}-{which}"


def tenant_guid(i: int) -> str:
    return f"{i:08x}-0000-4000-8000-1a2c0e5f0000"


def generated_rule(i: int) -> dict[str, Any]:
    """Rule `i`: one to three segments under its own first segment, a mix of
    requirements, and every fourth one limited to MCP methods and tools."""
    depth = 1 + i % 3
    prefix = GENERATED_PREFIX + str(i) + "".join(f"/s{d}" for d in range(1, depth))
    rule: dict[str, Any] = {"path_prefix": prefix, "require": REQUIRES[i % len(REQUIRES)]}
    if i % 4 == 3:
        rule["mcp_methods"] = ["tools/call"]
        rule["mcp_tools"] = [f"tool{i}"]
    return rule


def large_config(base: dict, *, subscriptions: int = 10_000, rules: int = 1_000,
                 tenants: int = 200) -> dict:
    """A copy of `base` grown to `subscriptions` (two keys each), `rules` (base's
    included, at the end) and `tenants` allowed tenants (base's last)."""
    config = copy.deepcopy(base)
    entra = config["entra"]

    base_rules = list(config.get("rules") or [])
    config["rules"] = [generated_rule(i) for i in range(max(0, rules - len(base_rules)))] + base_rules

    block = config.setdefault("subscription_keys", {})
    base_keys = list(block.get("keys") or [])
    block["keys"] = [
        {"name": subscription_name(i), "sha256": hashlib.sha256(subscription_key(i, which).encode()).hexdigest()}
        for i in range(subscriptions)
        for which in ("primary", "secondary")
    ] + base_keys

    home = entra.get("tenant_id")
    listed = [t for t in entra.get("allowed_tenants") or [] if t != home]
    if home:
        listed.append(home)
    taken = {t.lower() for t in listed}
    extra: list[str] = []
    i = 0
    while len(extra) + len(listed) < tenants:
        guid = tenant_guid(i)
        i += 1
        if guid not in taken:
            extra.append(guid)
    if extra or listed:
        entra["allowed_tenants"] = extra + listed
    return config


if __name__ == "__main__":  # a quick look: sizes of a grown minimal configuration
    import json
    import sys

    sample = {"entra": {"tenant_id": "11111111-2222-3333-4444-555555555555",
                        "audiences": ["api://sample"]}}
    grown = large_config(sample)
    json.dump({k: len(v) for k, v in (("rules", grown["rules"]),
                                        ("keys", grown["subscription_keys"]["keys"]),
                                        ("tenants", grown["entra"]["allowed_tenants"]))},
              sys.stdout)
    print()
