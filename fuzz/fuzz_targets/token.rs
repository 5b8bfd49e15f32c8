//! Token validation and the whole `authorize` decision with fixed
//! configurations, key set and clock.
//!
//! Input without a newline: a bare token. It is validated under both
//! fixture configurations (parse + check_claims + verify) and sent as
//! `Authorization: Bearer <input>` to a few routes.
//! Input with a newline: a whole request in the seed format (see
//! `entra_guard_fuzz::parse_request`), decided under both configurations.
//!
//! Asserted: nothing but a fixture token, verbatim, is ever accepted (the
//! fuzzer has no private key); responses are well formed and header-safe;
//! a warm token cache answers like a cold one; no keys means no JWT allow.

#![no_main]

use entra_guard_fuzz::*;
use libfuzzer_sys::fuzz_target;

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/mcp"),
    ("POST", "/either?subscription-key=nope"),
    ("GET", "/both?subscription-key=fuzz-key-primary"),
    ("DELETE", "/admin/x"),
];

fuzz_target!(|data: &[u8]| {
    let fx = fixtures();
    if !data.contains(&b'\n') {
        for which in [Which::Single, Which::Multi] {
            if validate(data, fx.config(which), &fx.keys).is_ok() {
                assert!(
                    fx.is_valid_token(which, data),
                    "validated a non-fixture token under {which:?}"
                );
            }
        }
        let mut value = b"Bearer ".to_vec();
        value.extend_from_slice(data);
        for which in [Which::Single, Which::Multi] {
            let mut gateway = Gateway::new(fx, which, true);
            for (method, path) in ROUTES {
                let req = Req {
                    method: method.to_string(),
                    path: path.to_string(),
                    headers: vec![("authorization".to_string(), value.clone())],
                    body: None,
                };
                check_request_with(fx, which, &req, &mut gateway);
            }
        }
    } else {
        let req = parse_request(data);
        for which in [Which::Single, Which::Multi] {
            check_request(fx, which, &req);
        }
    }
});
