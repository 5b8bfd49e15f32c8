#!/usr/bin/env python3
"""Generates the fuzz fixtures and seed corpora (run once; the output is
checked in). Needs python3 with `cryptography`.

    python3 fuzz/gen_fixtures.py        # from the repository root

Fresh RSA keys are generated in memory and the private halves are thrown
away when this script ends: only the public JWKS and the tokens signed here
are written. The fuzzer therefore cannot mint a new valid token; any token
`authorize` accepts must be one of the tokens listed in
fixtures/tokens.json (the invariant the `token` target asserts).

Re-running replaces the keys, so every fixture and seed that holds a
token or key changes together; commit them together.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")
CORPUS = os.path.join(HERE, "corpus")

NOW = 1_800_000_000
TENANT = "7f3c1a2b-4d5e-4f60-8a9b-0c1d2e3f4a5b"
TENANT2 = "0a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c2d"
APP = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
AUDIENCE = "api://fuzz-api"
CLIENT = "c11e7000-0000-4000-8000-000000000001"
AUTHORITY = "https://login.microsoftonline.com"
V1 = "https://sts.windows.net"
SUB_KEYS = {  # plaintext -> subscription name (public on purpose: seeds)
    "fuzz-key-primary": "contoso",
    "fuzz-key-secondary": "contoso",
    "Fuzz~Key.3_other": "fabrikam",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n: int) -> str:
    return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def new_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


K1, K2, K3 = new_key(), new_key(3072), new_key()  # K3: attacker's, not in the JWKS


def jwk(key, kid, issuer=True):
    pub = key.public_key().public_numbers()
    j = {"kty": "RSA", "use": "sig", "kid": kid, "x5t": kid, "n": uint(pub.n), "e": uint(pub.e)}
    if issuer:
        j["issuer"] = AUTHORITY + "/{tenantid}/v2.0"
    return j


JWKS = {"keys": [jwk(K1, "fuzz-key-1"), jwk(K2, "fuzz-key-2", issuer=False)]}


def rs256(key, text: bytes) -> bytes:
    return key.sign(text, padding.PKCS1v15(), hashes.SHA256())


def sign_raw(header: str, claims: str, key=K1) -> str:
    text = b64(header.encode()) + "." + b64(claims.encode())
    return text + "." + b64(rs256(key, text.encode()))


def hdr(kid="fuzz-key-1", **extra):
    h = {"typ": "JWT", "alg": "RS256", "kid": kid}
    h.update(extra)
    return h


def v2(**over):
    c = {
        "aud": AUDIENCE, "iss": f"{AUTHORITY}/{TENANT}/v2.0", "iat": NOW - 60,
        "nbf": NOW - 60, "exp": NOW + 3600, "azp": CLIENT, "azpacr": "1",
        "name": "Fuzz Tester", "oid": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
        "roles": ["Fuzz.Admin"], "scp": "fuzz.read fuzz.write",
        "sub": "fuzz-subject", "tid": TENANT, "uti": "fuzz", "ver": "2.0",
    }
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def v1(**over):
    c = v2(aud=APP, iss=f"{V1}/{TENANT}/", ver="1.0", appid=CLIENT, azp=None, azpacr=None)
    c.update({k: v for k, v in over.items() if v is not None})
    return c


def sign(claims, header=None, key=K1):
    return sign_raw(json.dumps(header or hdr()), json.dumps(claims), key)


# name -> (token, expected outcome under config-single, under config-multi).
# "ok" = accepted by parse + check_claims + verify; otherwise the TokenError.
TOKENS = {}


def add(name, token, single, multi=None):
    TOKENS[name] = (token, single, single if multi is None else multi)


add("v2", sign(v2()), "ok")
add("v1", sign(v1()), "ok")
add("v2-key2-aud-array", sign(v2(aud=["x", AUDIENCE]), hdr("fuzz-key-2"), K2), "ok")
add("v2-divide", sign(v2(scp="fuzz.read fuzz.divide")), "ok")
add("v2-root-role", sign(v2(roles=["Fuzz.Root", "Fuzz.Admin"]), hdr("fuzz-key-2"), K2), "ok")
add("v2-jku-x5u-ignored", sign(v2(), hdr(jku="https://evil.example/jwks", x5u="https://evil.example/x5u")), "ok")
# No tid: check_claims lets it pass single-tenant, but the issuer template
# of the key then has no tenant to fill in, so verify refuses it (fail closed).
add("v2-no-tid", sign(v2(tid=None)), "Issuer", "Tenant")
add("v2-other-tenant", sign(v2(tid=TENANT2, iss=f"{AUTHORITY}/{TENANT2}/v2.0")), "Tenant", "ok")
add("v2-other-client", sign(v2(azp="someone-else")), "ClientApplication", "ok")
add("v2-float-exp", sign(v2(exp=NOW + 10.5)), "ok")
add("v2-big-claim", sign(v2(blob="x" * 9000)), "ok")
# Signed by a key of the set, yet not acceptable.
add("expired", sign(v2(exp=NOW - 400)), "Expired")
add("not-yet-valid", sign(v2(nbf=NOW + 400)), "NotYetValid")
add("no-exp", sign(v2(exp=None)), "MissingExpiry")
add("wrong-aud", sign(v2(aud="api://other")), "Audience")
add("aud-empty-array", sign(v2(aud=[])), "Audience")
add("iss-trailing-slash", sign(v2(iss=f"{AUTHORITY}/{TENANT}/v2.0/")), "Issuer")
add("iss-wrong-case", sign(v2(iss=f"{AUTHORITY}/{TENANT}/V2.0")), "Issuer")
add("tid-iss-mismatch", sign(v2(tid=TENANT2)), "Tenant", "Issuer")
add("exp-string", sign(v2(exp=str(NOW + 3600))), "Malformed")
add("exp-huge", sign(v2(exp=1e300)), "Malformed")
add("dup-aud", sign_raw(json.dumps(hdr()), json.dumps(v2())[:-1] + ', "aud": "api://other"}'), "Malformed")
add("kid1-signed-by-key2", sign(v2(), hdr("fuzz-key-1"), K2), "BadSignature")
add("unknown-kid", sign(v2(), hdr("fuzz-key-9"), K3), "UnknownKey")
add("embedded-jwk", sign(v2(), hdr(jwk=jwk(K3, "fuzz-key-1")), K3), "BadSignature")
add("crit", sign(v2(), hdr(crit=["exp"])), "CriticalHeader")
add("graph-nonce", sign(v2(), hdr(nonce="abc")), "GraphToken")
add("missing-kid", sign_raw(json.dumps({"alg": "RS256", "typ": "JWT"}), json.dumps(v2())), "MissingKeyId")

# Never signed by a key of the set at all.
_h = lambda h: b64(json.dumps(h).encode())
_c = b64(json.dumps(v2()).encode())
UNSIGNED = {
    "alg-none": f"{_h({'alg': 'none', 'kid': 'fuzz-key-1'})}.{_c}.",
    "alg-None": f"{_h({'alg': 'None', 'kid': 'fuzz-key-1'})}.{_c}.",
}
_hs_in = f"{_h({'alg': 'HS256', 'kid': 'fuzz-key-1'})}.{_c}"
_hs_key = json.dumps(JWKS["keys"][0]).encode()  # "HS256 with the RSA public key"
UNSIGNED["hs256-public-key"] = _hs_in + "." + b64(hmac.new(_hs_key, _hs_in.encode(), hashlib.sha256).digest())
_v2 = TOKENS["v2"][0]
_head, _body, _sig = _v2.split(".")
UNSIGNED.update({
    "truncated-sig-4": f"{_head}.{_body}.{_sig[:-4]}",
    "truncated-sig-6": f"{_head}.{_body}.{_sig[:-6]}",
    "no-sig": f"{_head}.{_body}.",
    "two-parts": f"{_head}.{_body}",
    "jwe-5-parts": f"{_head}.{_body}.{_sig}.AAAA.BBBB",
    "padded": f"{_head}=.{_body}.{_sig}",
    "std-base64-chars": f"{_head}.{_body}.{_sig[:10]}+/{_sig[12:]}",
    "claims-array": f"{_head}.{b64(b'[1,2]')}.{_sig}",
    "deep-nesting": f"{_head}.{b64(b'[' * 600)}.{_sig}",
    "huge": f"{_head}.{b64(json.dumps(v2(blob='y' * 20000)).encode())}.{_sig}",
})

# ---------------------------------------------------------------- configs

def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()


CONFIG_SINGLE = {
    "entra": {
        "tenant_id": TENANT,
        "audiences": [AUDIENCE, APP],
        "client_application_ids": [CLIENT],
        "required_claims": [{"name": "ver", "match": "any", "values": ["1.0", "2.0"]}],
        "clock_skew_seconds": 300,
        "signature_backend": "rust",
    },
    "subscription_keys": {
        "header": "Ocp-Apim-Subscription-Key",
        "query": "subscription-key",
        "keys": [{"name": n, "sha256": sha(k)} for k, n in SUB_KEYS.items()],
        "realm": "fuzz \"realm\"",
    },
    "mcp": {
        "resource": "https://mcp.fuzz.example/mcp",
        "resource_metadata_url": "https://mcp.fuzz.example/.well-known/oauth-protected-resource/mcp",
        "scopes_supported": [f"{AUDIENCE}/fuzz.read"],
        "resource_name": "Fuzz MCP",
    },
    "rules": [
        {"path_prefix": "/health", "require": "none"},
        {"path_prefix": "/admin", "require": "jwt", "required_roles": ["Fuzz.Root"]},
        {"path_prefix": "/mcp", "require": "jwt", "mcp_tools": ["divide"], "required_scopes": ["fuzz.divide"]},
        {"path_prefix": "/mcp", "require": "jwt", "mcp_methods": ["tools/list"]},
        {"path_prefix": "/mcp", "require": "jwt", "required_scopes": ["fuzz.read"]},
        {"path_prefix": "/keyed", "require": "subscription_key"},
        {"path_prefix": "/both", "require": "jwt_and_subscription_key"},
        {"path_prefix": "/either", "require": "jwt_or_subscription_key"},
    ],
    "claims_to_headers": {"oid": "x-entra-oid", "azp": "x-entra-client-id",
                          "name": "x-entra-name", "roles": "x-entra-roles"},
}

CONFIG_MULTI = {
    "entra": {
        "tenant_id": TENANT,
        "allowed_tenants": [TENANT, TENANT2],
        "audiences": [AUDIENCE, APP],
        "token_cache_size": 4,
    },
    "subscription_keys": {
        "header": "x-api-key",
        "query": None,
        "keys": [{"name": "contoso", "sha256": sha("fuzz-key-primary")}],
    },
    "rules": [
        {"path_prefix": "/public/", "require": "none"},
        {"path_prefix": "/either", "require": "jwt_or_subscription_key", "required_scopes": ["fuzz.read"]},
    ],
    "claims_to_headers": {"tid": "x-entra-tid"},
}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def main():
    for d in (FIX, CORPUS):
        shutil.rmtree(d, ignore_errors=True)
    write(f"{FIX}/jwks.json", json.dumps(JWKS, indent=1) + "\n")
    write(f"{FIX}/config-single.json", json.dumps(CONFIG_SINGLE, indent=1) + "\n")
    write(f"{FIX}/config-multi.json", json.dumps(CONFIG_MULTI, indent=1) + "\n")
    write(f"{FIX}/tokens.json", json.dumps(
        [{"name": n, "token": t, "single": s, "multi": m} for n, (t, s, m) in TOKENS.items()],
        indent=1) + "\n")
    write(f"{FIX}/subscription-keys.json", json.dumps(SUB_KEYS, indent=1) + "\n")

    # token: bare tokens (no newline: token-only mode) and whole requests.
    for name, (tok, _, _) in TOKENS.items():
        write(f"{CORPUS}/token/{name}.jwt", tok)
    for name, tok in UNSIGNED.items():
        write(f"{CORPUS}/token/{name}.jwt", tok)
    v2t, v1t, divide = TOKENS["v2"][0], TOKENS["v1"][0], TOKENS["v2-divide"][0]
    call = lambda tool: json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                    "params": {"name": tool, "arguments": {"a": 1, "b": 2}}})
    requests = {
        "get-mcp": f"GET /mcp\nauthorization: Bearer {v2t}\n",
        "get-mcp-v1-lowercase-scheme": f"GET /mcp?x=1\nauthorization: bearer   {v1t}\t\n",
        "post-divide-body": f"POST /mcp\nauthorization: Bearer {divide}\ncontent-type: application/json\n\n{call('divide')}",
        "post-divide-lacks-scope": f"POST /mcp\nauthorization: Bearer {v2t}\nmcp-method: tools/call\nmcp-name: divide\n\n{call('divide')}",
        "post-header-mismatch": f"POST /mcp\nauthorization: Bearer {divide}\nmcp-name: add\n\n{call('divide')}",
        "post-tools-list": f"POST /mcp/\nauthorization: Bearer {v2t}\n\n" + '{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
        "two-authorization": f"GET /mcp\nauthorization: Bearer {v2t}\nauthorization: Bearer {v1t}\n",
        "two-credentials": f"GET /mcp\nauthorization: Bearer {v2t}, Bearer {v1t}\n",
        "basic": "GET /mcp\nauthorization: Basic dXNlcjpwYXNz\n",
        "no-credentials": "DELETE /mcp\naccept: */*\n",
        "keyed-header": "GET /keyed/a?b=c\nocp-apim-subscription-key: fuzz-key-primary\nx-apim-subscription-name: forged\n",
        "keyed-query": "GET /keyed?a=1&subscription-key=fuzz-key-secondary&z=%20+\n",
        "keyed-query-encoded": "GET /keyed?subscription%2Dkey=Fuzz%7EKey.3_other\n",
        "keyed-query-twice": "GET /keyed?subscription-key=fuzz-key-primary&subscription-key=x\n",
        "keyed-double-encoded": "GET /keyed?subscription-key=%2566uzz-key-primary\n",
        "keyed-empty": "GET /keyed\nocp-apim-subscription-key: \n",
        "keyed-non-ascii": "GET /keyed\nocp-apim-subscription-key: fuzz-k\xc3\xa9y\n",
        "both": f"GET /both\nauthorization: Bearer {v2t}\nocp-apim-subscription-key: Fuzz~Key.3_other\n",
        "either-key": "GET /either\nocp-apim-subscription-key: fuzz-key-primary\n",
        "either-jwt": f"GET /either\nauthorization: Bearer {v1t}\n",
        "either-neither": "GET /either\n",
        "admin-no-role": f"GET /admin\nauthorization: Bearer {v2t}\n",
        "admin-root": f"GET /admin/x\nauthorization: Bearer {TOKENS['v2-root-role'][0]}\n",
        "ambiguous-path": f"GET /health/../mcp\nauthorization: Bearer {v2t}\n",
        "encoded-dots": "GET /health/%2e%2e/admin\n",
        "public": "GET /health/live\nx-entra-oid: forged\n",
        "preflight": "OPTIONS /mcp\naccess-control-request-method: POST\norigin: https://x.example\n",
        "metadata": "GET /.well-known/oauth-protected-resource/mcp\n",
        "metadata-root-head": "HEAD /.well-known/oauth-protected-resource?x\n",
        "other-tenant": f"GET /either\nauthorization: Bearer {TOKENS['v2-other-tenant'][0]}\nx-api-key: fuzz-key-primary\n",
    }
    for name, text in requests.items():
        write(f"{CORPUS}/token/req-{name}.http", text.encode())
    write(f"{CORPUS}/token/req-nul-and-non-utf8.http",
          b"GET /mcp\nauthorization: Bearer " + v2t.encode()[:40] + b"\x00\xff" + v2t.encode()[42:] + b"\n")

    # config
    write(f"{CORPUS}/config/single.json", json.dumps(CONFIG_SINGLE))
    write(f"{CORPUS}/config/multi.json", json.dumps(CONFIG_MULTI))
    contract = {
        "entra": {"tenant_id": "11111111-2222-3333-4444-555555555555",
                  "authority": "https://login.microsoftonline.com/", "cluster": "entra",
                  "audiences": ["api://calc", "00000000-0000-0000-0000-000000000001"],
                  "client_application_ids": ["c1"],
                  "required_claims": [{"name": "roles", "match": "any", "values": ["Calculator.Add"]},
                                      {"name": "scp", "match": "all", "values": ["a", "b"], "separator": " "}],
                  "clock_skew_seconds": 60, "jwks_hosts": ["keys.example:8443"],
                  "jwks_refresh_seconds": 3600, "fetch_timeout_ms": 5000, "key_wait_ms": 5000,
                  "max_token_bytes": 16384, "kid_miss_refetch_seconds": 10, "token_cache_size": 1024,
                  "v1_issuer_authority": "https://sts.windows.net"},
        "subscription_keys": {"header": "Ocp-Apim-Subscription-Key", "query": "subscription-key",
                              "keys": [{"name": "contoso", "sha256": sha("test")}],
                              "name_header": "x-apim-subscription-name", "realm": "apim"},
        "mcp": {"resource": "https://mcp.contoso.com/mcp",
                "resource_metadata_url": "https://mcp.contoso.com/.well-known/oauth-protected-resource/mcp",
                "scopes_supported": ["api://calc/calculator.add"], "resource_name": "Calculator MCP",
                "resource_documentation": "https://docs.contoso.com/mcp", "max_body_bytes": 65536},
        "rules": [{"path_prefix": "/health/", "require": "none"},
                  {"path_prefix": "/mcp", "require": "jwt", "required_scopes": ["calculator.add"],
                   "mcp_tools": ["add"]},
                  {"path_prefix": "/keyed", "require": "subscription_key"}],
        "claims_to_headers": {"oid": "X-Entra-Oid", "tid": "x-entra-tid"},
    }
    write(f"{CORPUS}/config/contract.json", json.dumps(contract, indent=1))
    write(f"{CORPUS}/config/minimal.json",
          '{"entra":{"tenant_id":"11111111-2222-3333-4444-555555555555","audiences":["a"]}}')
    write(f"{CORPUS}/config/multi-organizations.json",
          '{"entra":{"allowed_tenants":["11111111-2222-3333-4444-555555555555"],"audiences":["a"]}}')
    write(f"{CORPUS}/config/bad-unknown-key.json",
          '{"entra":{"tenant_id":"11111111-2222-3333-4444-555555555555","audiences":["a"],"audience":"x"}}')
    write(f"{CORPUS}/config/bad-rule.json",
          '{"entra":{"tenant_id":"11111111-2222-3333-4444-555555555555","audiences":["a"]},'
          '"rules":[{"path_prefix":"mcp","require":"subscription_key","required_scopes":["a\\"b"]}]}')
    write(f"{CORPUS}/config/trailing.json",
          '{"entra":{"tenant_id":"11111111-2222-3333-4444-555555555555","audiences":["a"]}} x')

    # jwks: Entra-like key sets and discovery documents.
    write(f"{CORPUS}/jwks/fixture-jwks.json", json.dumps(JWKS))
    k = JWKS["keys"][0]
    mixed = {"keys": [k,
                      dict(k, kid="enc", use="enc"), {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
                      dict(k, kid="e3", e="Aw"), dict(k, kid="small", n="AQAB"), dict(k, kid="ps", alg="PS256"),
                      dict(k, kid=None), dict(k), {"kty": 5}, dict(k, kid="padded", n=k["n"] + "==", e="AQAB="),
                      dict(k, kid="x" * 300), dict(k, kid="zero-lead", n="AAAA" + k["n"])]}
    write(f"{CORPUS}/jwks/mixed-jwks.json", json.dumps(mixed))
    entra_like = {"keys": [dict(jwk(K2, "Hk3mVk8qKh3kYxNfQ5E-ExampleKid"), x5c=["MIIC" + "A" * 64], cloud_instance_name="microsoftonline.com")]}
    write(f"{CORPUS}/jwks/entra-like-jwks.json", json.dumps(entra_like))
    disco = {
        "token_endpoint": f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token",
        "jwks_uri": f"{AUTHORITY}/{TENANT}/discovery/v2.0/keys",
        "issuer": f"{AUTHORITY}/{TENANT}/v2.0",
        "response_types_supported": ["code", "id_token"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com",
    }
    write(f"{CORPUS}/jwks/discovery-v2.json", json.dumps(disco))
    write(f"{CORPUS}/jwks/discovery-v1.json", json.dumps(dict(
        disco, issuer=f"{V1}/{TENANT}/", jwks_uri=f"{AUTHORITY}/common/discovery/keys?appid={APP}")))
    write(f"{CORPUS}/jwks/discovery-multi.json", json.dumps(dict(
        disco, issuer=f"{AUTHORITY}/{{tenantid}}/v2.0", jwks_uri=f"{AUTHORITY}/organizations/discovery/v2.0/keys")))
    write(f"{CORPUS}/jwks/discovery-foreign-host.json", json.dumps(dict(disco, jwks_uri="https://evil.example/keys")))
    write(f"{CORPUS}/jwks/discovery-configured-host.json", json.dumps(dict(disco, jwks_uri="HTTPS://Keys.Example:8443/k")))
    write(f"{CORPUS}/jwks/discovery-bad-uri.json", json.dumps(dict(disco, jwks_uri="https://user@login.microsoftonline.com/a b")))
    write(f"{CORPUS}/jwks/html.json", "<html><body>503 Service Unavailable</body></html>")
    write(f"{CORPUS}/jwks/truncated.json", json.dumps(JWKS)[:300])
    write(f"{CORPUS}/jwks/shared-status.json", '{"generation":3,"fetched_at":1800000000000,"attempted_at":1800000000000,"failures":2,"lease_until":0}')
    write(f"{CORPUS}/jwks/shared-keys.json", json.dumps({"generation": 1, "fetched_at": NOW * 1000, "jwks": json.dumps(JWKS)}))

    # headers: the request format of the token target (path line, headers),
    # plus x-fuzz-param / x-fuzz-rule lines read by the target itself.
    hcases = {
        "bearer-basic": "GET /p\nauthorization: Bearer abc\n",
        "bearer-ows": "GET /p\nAuthorization: \t BEARER   a.b.c \t\n",
        "bearer-two": "GET /p\nauthorization: Bearer a\nauthorization: Basic b\n",
        "bearer-comma": "GET /p\nauthorization: Bearer a,Bearer b\n",
        "bearer-empty": "GET /p\nauthorization: Bearer\n",
        "key-header-wins": "GET /p?subscription-key=q\nocp-apim-subscription-key: h\n",
        "key-two-headers": "GET /p\nocp-apim-subscription-key: a\nOcp-Apim-Subscription-Key: b\n",
        "key-query-encoded": "GET /a%2Fb/c?x=%2F&y=caf%C3%A9&subscription%2Dkey=fuzz%2Dkey-primary&z=d+e&w&v=\n",
        "key-query-repeated": "GET /p?b=2&subscription-key=k&a=1&%73ubscription-key=j&c\n",
        "key-query-empties": "GET /p?&&subscription-key=k&&\n",
        "key-query-malformed-escapes": "GET /p?%zz=1&subscription-key=%zz%4&%\n",
        "key-long": "GET /p?subscription-key=" + "%41" * 257 + "\n",
        "other-param": "GET /p?api-key=1&subscription-key=2&api%2Dkey=3\nx-fuzz-param: api-key\n",
        "rules-dots": "GET /public/%2e%2e/secret?x=/..\nx-fuzz-rule: /public none\nx-fuzz-rule: / jwt\n",
        "rules-backslash": "GET /public\\..\\admin\nx-fuzz-rule: /admin jwt\nx-fuzz-rule: /public/ none\n",
        "rules-double-slash": "GET //public//a/./b\nx-fuzz-rule: /public none\n",
        "rules-mcp": "POST /mcp/x\nx-fuzz-rule: /mcp jwt tools/call add\nx-fuzz-call: tools/call add\n",
        "path-fragment": "GET /a#/../b?c\n",
    }
    for name, text in hcases.items():
        write(f"{CORPUS}/headers/{name}.http", text)

    # mcp_body: optional header block, blank line, body.
    bodies = {
        "tools-call": call("add"),
        "tools-list": '{"jsonrpc":"2.0","id":3,"method":"tools/list"}',
        "resources-read": '{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///x"}}',
        "response": '{"jsonrpc":"2.0","id":3,"result":{}}',
        "batch": "[" + call("add") + "]",
        "dup-method": '{"method":"tools/list","method":"tools/call"}',
        "dup-name": '{"method":"tools/call","params":{"name":"a","name":"b"}}',
        "method-number": '{"method":5}',
        "name-and-uri": '{"method":"tools/call","params":{"name":7,"uri":"u"}}',
        "deep": '{"method":"tools/call","params":{"arguments":' + "[" * 200 + "]" * 200 + "}}",
        "unicode": '{"method":"tools/call","params":{"name":"t\\u00f6\\u00f6l"}}',
    }
    for name, body in bodies.items():
        write(f"{CORPUS}/mcp_body/{name}.json", body)
    with_headers = {
        "headers-agree": ("mcp-method: tools/call\nmcp-name: add", call("add")),
        "headers-lie": ("mcp-method: tools/list\nmcp-name: delete_everything", call("add")),
        "header-base64": ("mcp-name: =?base64?dMO2w7Zs?=", bodies["unicode"]),
        "header-bad-base64": ("mcp-name: =?base64?!!?=", bodies["unicode"]),
        "header-spaces": ("mcp-method:  tools/call  ", call("x")),
    }
    for name, (h, body) in with_headers.items():
        write(f"{CORPUS}/mcp_body/{name}.http", f"{h}\n\n{body}")
    write(f"{CORPUS}/mcp_body/header-non-utf8.http", b"mcp-name: \xff\xfe\n\n" + call("add").encode())


if __name__ == "__main__":
    main()
