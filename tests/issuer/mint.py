"""Print Entra-shaped tokens from a running issuer simulator.

    python tests/issuer/mint.py --issuer-url http://127.0.0.1:9000
    python tests/issuer/mint.py --issuer-url URL --claim roles='["Calculator.Add"]' --remove nbf
    python tests/issuer/mint.py --issuer-url URL --count 10000 --out tokens.txt   # benchmarks

Signing-key tokens are signed here with the key the issuer hands out on
`/_admin/signing-key` (fast: thousands a second, each with its own `uti`). Tokens
signed by another key (`--key retired|unpublished|<kid>`) are minted by the
issuer through `/_admin/mint`. With `--seed` the keys are derived locally from the
seed the issuer was started with, and the issuer is not contacted at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the package, not this file
    sys.path[0] = str(Path(__file__).resolve().parents[1])
    __package__ = "issuer"  # noqa: A001

from .constants import DEFAULT_TENANT
from .keys import SIGNING, KeyPair, KeyRing, key_pool
from .tokens import REMOVE, TokenMinter


def _value(text: str):
    """A claim value: JSON when it parses (numbers, arrays, true), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: list[str], option: str) -> dict:
    result = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{option} needs NAME=VALUE, got {item!r}")
        result[name] = _value(value)
    return result


def _admin(issuer_url: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{issuer_url.rstrip('/')}/_admin/{path}", data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.load(response)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issuer-url", required=True, help="the simulator's base URL (the authority)")
    parser.add_argument("--tenant", help="tenant id (default: the issuer's first tenant)")
    parser.add_argument("--version", type=int, choices=(1, 2), default=2, help="token version")
    parser.add_argument("--key", default=SIGNING, help="signing (default), retired, unpublished or a kid")
    parser.add_argument("--seed", help="derive keys from the issuer's --seed instead of asking it")
    parser.add_argument("--aud", help="audience (default: the default API app id)")
    parser.add_argument("--client-id", help="azp (v2) / appid (v1)")
    parser.add_argument("--roles", help="comma-separated app roles")
    parser.add_argument("--scp", help="space-separated delegated scopes")
    parser.add_argument("--lifetime", type=int, help="seconds until exp (negative: already expired)")
    parser.add_argument("--claim", action="append", default=[], metavar="NAME=VALUE",
                        help="set a claim; VALUE is JSON if it parses (repeatable)")
    parser.add_argument("--remove", action="append", default=[], metavar="NAME", help="drop a claim")
    parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                        help="set a header field (repeatable)")
    parser.add_argument("--remove-header", action="append", default=[], metavar="NAME")
    parser.add_argument("--count", type=int, default=1, help="how many distinct tokens")
    parser.add_argument("--out", type=Path, help="write tokens here, one a line (default: stdout)")
    return parser.parse_args(argv)


def claim_overrides(args: argparse.Namespace) -> dict:
    claims = _pairs(args.claim, "--claim")
    client_claim = "azp" if args.version == 2 else "appid"
    for name, value in (("aud", args.aud), (client_claim, args.client_id), ("scp", args.scp)):
        if value is not None:
            claims[name] = value
    if args.roles is not None:
        claims["roles"] = [role for role in args.roles.split(",") if role]
    claims.update({name: REMOVE for name in args.remove})
    return claims


def header_overrides(args: argparse.Namespace) -> dict:
    header = _pairs(args.header, "--header")
    header.update({name: REMOVE for name in args.remove_header})
    return header


def mint(args: argparse.Namespace) -> list[str]:
    claims, header = claim_overrides(args), header_overrides(args)
    if args.seed is None and args.key != SIGNING:
        return [_mint_remotely(args, claims, header) for _ in range(args.count)]
    if args.seed is not None:
        keys: KeyRing | KeyPair = KeyRing(key_pool(args.seed))
        tenant = args.tenant or DEFAULT_TENANT
    else:
        info = _admin(args.issuer_url, "signing-key")
        keys, tenant = KeyPair.from_pem(info["pem"]), args.tenant or info["tenant"]
    minter = TokenMinter(args.issuer_url, tenant, keys)
    one = {"key": args.key, "header": header, "claims": claims}
    if args.lifetime is not None:
        one["lifetime"] = args.lifetime
    if args.count == 1:
        return [(minter.v2 if args.version == 2 else minter.v1)(**one)]
    return minter.mint_many(args.count, version=args.version, **one)


def _mint_remotely(args: argparse.Namespace, claims: dict, header: dict) -> str:
    def split(overrides: dict) -> tuple[dict, list[str]]:
        return ({k: v for k, v in overrides.items() if v is not REMOVE},
                [k for k, v in overrides.items() if v is REMOVE])

    claim_values, removed = split(claims)
    header_values, removed_header = split(header)
    if args.lifetime is not None:
        raise SystemExit("--lifetime with --key other than signing: set --claim exp=... instead")
    body = {"version": args.version, "tenant": args.tenant, "key": args.key, "claims": claim_values,
            "remove": removed, "header": header_values, "remove_header": removed_header}
    return _admin(args.issuer_url, "mint", body)["token"]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    tokens = mint(args)
    text = "\n".join(tokens) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
