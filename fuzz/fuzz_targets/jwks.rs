//! JWKS and discovery documents from the network, the shared-data records
//! workers exchange, and the key refresh policy.
//!
//! The same input is read as: a JWKS (`parse_jwks`), a discovery document
//! (`parse_discovery`), the `SharedStatus` / `SharedKeys` records, the
//! host's `verify_signature` reply (`decode_host_result`), and,
//! through `arbitrary`, a refresh-policy scenario (status, clock, kid miss).

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use entra_guard::keys::{
    parse_discovery, parse_jwks, FetchReason, RefreshPolicy, RefreshState, SharedKeys,
    SharedStatus, MAX_DOCUMENT_BYTES,
};
use entra_guard::signature::{decode_host_result, RustVerifier, SignatureVerifier};
use entra_guard::url::parse_absolute;
use entra_guard_fuzz::{fixtures, value_stricter, JWKS_JSON};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sha2::Digest;
use std::sync::OnceLock;

const HOSTS: &[&str] = &["login.microsoftonline.com", "keys.example:8443"];

fuzz_target!(|data: &[u8]| {
    check_jwks(data);
    check_discovery(data);
    let status = SharedStatus::decode(Some(data));
    assert_eq!(SharedStatus::decode(Some(&status.encode())), status);
    if let Some(k) = SharedKeys::decode(data) {
        assert_eq!(SharedKeys::decode(&k.encode()), Some(k.clone()));
        check_jwks(k.jwks.as_bytes());
    }
    // The host's verify_signature reply (protobuf) is read by hand too.
    if decode_host_result(data) {
        assert!(data.len() >= 2);
    }
    if let Ok(s) = Scenario::arbitrary(&mut Unstructured::new(data)) {
        s.check();
    }
});

/// A fixture token's signing input and signature, and the key that made it.
fn signed() -> &'static (Vec<u8>, Vec<u8>, Vec<u8>) {
    static SIGNED: OnceLock<(Vec<u8>, Vec<u8>, Vec<u8>)> = OnceLock::new();
    SIGNED.get_or_init(|| {
        use base64::Engine;
        let fx = fixtures();
        let t = &fx.tokens.iter().find(|t| t.name == "v2").unwrap().token;
        let (input, sig) = t.rsplit_once('.').unwrap();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .unwrap();
        let n = fx.keys.find("fuzz-key-1").unwrap().modulus();
        (input.as_bytes().to_vec(), sig, n)
    })
}

fn check_jwks(body: &[u8]) {
    let Ok(parsed) = parse_jwks(body) else { return };
    assert!(body.len() <= MAX_DOCUMENT_BYTES);
    assert!(!parsed.keys.is_empty() && parsed.keys.len() <= 64);
    match serde_json::from_slice::<Value>(body) {
        Ok(doc) => {
            let listed = doc["keys"].as_array().expect("keys array").len();
            assert_eq!(parsed.keys.len() + parsed.skipped.len(), listed.min(64));
        }
        Err(e) => assert!(value_stricter(&e), "accepted JWKS is not JSON: {e}"),
    }
    for line in &parsed.skipped {
        assert!(
            line.bytes().all(|b| (b' '..0x7f).contains(&b)),
            "log line {line:?}"
        );
    }
    let (input, sig, fixture_n) = signed();
    for (i, k) in parsed.keys.iter().enumerate() {
        assert!(!k.kid.is_empty() && k.kid.len() <= 256);
        assert!(
            parsed.keys[..i].iter().all(|o| o.kid != k.kid),
            "duplicate kid"
        );
        let n = k.modulus();
        let bits = n.len() * 8 - n[0].leading_zeros() as usize;
        assert!(matches!(bits, 2048 | 3072 | 4096), "{bits}-bit key");
        check_spki(&k.spki_der, &n);
        // Key confusion: only the fixture modulus verifies a fixture signature.
        let verified = i < 4 && RustVerifier.verify_rs256(k, input, sig);
        if verified {
            assert_eq!(&n, fixture_n, "foreign key verified a fixture token");
        }
        // The in-VM verifier (jwt-compact's StrongAlg RS256) against the rsa
        // crate called directly, on whatever key the input made.
        if i < 4 {
            if let Ok(reference) = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(&n),
                rsa::BigUint::from(65_537u32),
            ) {
                let digest = sha2::Sha256::digest(input);
                let scheme = rsa::Pkcs1v15Sign::new::<sha2::Sha256>();
                assert_eq!(verified, reference.verify(scheme, &digest, sig).is_ok());
            }
        }
    }
    // The fixture set itself parses to the same keys every time.
    debug_assert!(parse_jwks(JWKS_JSON.as_bytes()).is_ok());
}

/// DER SubjectPublicKeyInfo: lengths consistent, modulus as a positive INTEGER.
fn check_spki(der: &[u8], n: &[u8]) {
    fn tlv(b: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = b[0];
        let (len, head) = match b[1] {
            l if l < 0x80 => (l as usize, 2),
            l => {
                let k = (l & 0x7f) as usize;
                assert!((1..=4).contains(&k));
                (
                    b[2..2 + k].iter().fold(0usize, |a, x| a << 8 | *x as usize),
                    2 + k,
                )
            }
        };
        (tag, &b[head..head + len], &b[head + len..])
    }
    let (t, spki, rest) = tlv(der);
    assert!(t == 0x30 && rest.is_empty());
    let (t, _alg, rest) = tlv(spki);
    assert_eq!(t, 0x30);
    let (t, bits, rest) = tlv(rest);
    assert!(t == 0x03 && rest.is_empty() && bits[0] == 0);
    let (t, rsa, rest) = tlv(&bits[1..]);
    assert!(t == 0x30 && rest.is_empty());
    let (t, modulus, rest) = tlv(rsa);
    assert_eq!(t, 0x02);
    let digits = if modulus[0] == 0 {
        &modulus[1..]
    } else {
        modulus
    };
    assert!(
        modulus[0] != 0 || modulus[1] & 0x80 != 0,
        "non-minimal INTEGER"
    );
    assert_eq!(digits, n);
    let (t, e, rest) = tlv(rest);
    assert!(t == 0x02 && e == [1, 0, 1] && rest.is_empty());
}

/// The issuers a discovery document is checked against: one tenant's (the
/// corpus's) and the multi-tenant template.
const ISSUERS: &[&str] = &[
    "https://login.microsoftonline.com/7f3c1a2b-4d5e-4f60-8a9b-0c1d2e3f4a5b/v2.0",
    "https://login.microsoftonline.com/{tenantid}/v2.0",
];

fn check_discovery(body: &[u8]) {
    for issuer in ISSUERS {
        check_discovery_for(body, issuer);
    }
}

fn check_discovery_for(body: &[u8], issuer: &str) {
    let hosts: Vec<String> = HOSTS.iter().map(|h| h.to_string()).collect();
    let Ok(d) = parse_discovery(body, issuer, &hosts) else {
        return;
    };
    // Keys come only from the configured tenant's document.
    assert_eq!(d.issuer, issuer);
    // No SSRF: only configured hosts; the path is safe as a `:path`.
    assert!(hosts.contains(&d.jwks_host), "{}", d.jwks_host);
    assert!(d.jwks_path.starts_with('/'), "{}", d.jwks_path);
    assert!(
        d.jwks_path
            .bytes()
            .all(|b| b > b' ' && b != 0x7f && b != b'#'),
        "{:?}",
        d.jwks_path
    );
    let doc: Value = match serde_json::from_slice(body) {
        Ok(doc) => doc,
        Err(e) if value_stricter(&e) => return,
        Err(e) => panic!("accepted discovery is not JSON: {e}"),
    };
    let uri = doc["jwks_uri"].as_str().expect("jwks_uri");
    let u = parse_absolute(uri).expect("jwks_uri parses");
    assert_eq!(u.authority.to_ascii_lowercase(), d.jwks_host);
    assert_eq!(doc["issuer"].as_str(), Some(d.issuer.as_str()));
}

/// A worker's view: the shared record, its clock and whether a token just
/// named an unknown kid. Times stay below 2^60 ms (the host clock's range
/// for the next few million years); policies stay within what config allows.
#[derive(Debug)]
struct Scenario {
    policy: RefreshPolicy,
    status: SharedStatus,
    now: u64,
    kid_miss: bool,
    jitter: u64,
    later: u64,
}

impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        const T: u64 = 1 << 60;
        let near = |u: &mut Unstructured<'a>, base: u64| -> arbitrary::Result<u64> {
            Ok(match u.int_in_range(0..=3)? {
                0 => 0,
                1 => u.int_in_range(0..=T)?,
                _ => base.saturating_sub(200_000) + u.int_in_range(0..=400_000)?,
            })
        };
        // Host time is never 0 (0 means "never fetched" in the record).
        let now = u.int_in_range(1..=T)?;
        Ok(Scenario {
            policy: RefreshPolicy {
                interval_ms: u.int_in_range(60u64..=86_400)? * 1000,
                kid_miss_cooldown_ms: u.int_in_range(1u64..=3600)? * 1000,
                fetch_timeout_ms: u.int_in_range(100u64..=60_000)?,
            },
            status: SharedStatus {
                generation: u.int_in_range(0..=T)?,
                fetched_at: near(u, now)?,
                attempted_at: near(u, now)?,
                failures: u32::arbitrary(u)?,
                lease_until: near(u, now)?,
            },
            now,
            kid_miss: bool::arbitrary(u)?,
            jitter: u64::arbitrary(u)?,
            later: u.int_in_range(0..=200_000)?,
        })
    }
}

impl Scenario {
    fn check(&self) {
        let (p, s, now) = (&self.policy, &self.status, self.now);
        let plan = p.plan(s, now, self.kid_miss, self.jitter);
        assert_eq!(
            plan == RefreshState::InFlight,
            s.lease_until > now,
            "{plan:?}"
        );
        let backoff = entra_guard::keys::RefreshPolicy::retry_after_seconds(s, now);
        assert!((1..=30).contains(&backoff));
        // What a kid-miss waiter is told agrees with what plan() does.
        let allowed_at = p.kid_miss_allowed_at(s);
        assert!(allowed_at >= s.attempted_at);
        if self.kid_miss && s.fetched_at != 0 && s.lease_until <= now && now >= allowed_at {
            assert!(
                matches!(plan, RefreshState::Fetch { .. }),
                "{plan:?} at {now} >= {allowed_at}"
            );
        }
        if let RefreshState::Fetch {
            reason: FetchReason::KidMiss,
            ..
        } = plan
        {
            assert!(now >= allowed_at, "kid-miss fetch before {allowed_at}");
        }
        if let RefreshState::Fetch { reason, lease } = &plan {
            assert_eq!(lease.attempted_at, now);
            assert_eq!(lease.lease_until, now + p.lease_ms());
            assert_eq!(
                (lease.generation, lease.fetched_at, lease.failures),
                (s.generation, s.fetched_at, s.failures)
            );
            if s.failures > 0 {
                // Backoff: 1 s doubling up to 30 s after each failure.
                let wait = (1000u64 << (s.failures - 1).min(16)).min(30_000);
                assert!(now >= s.attempted_at.saturating_add(wait), "no backoff");
            }
            match reason {
                FetchReason::Initial => assert!(s.fetched_at == 0 && s.failures == 0),
                FetchReason::Retry => assert!(s.fetched_at == 0 && s.failures > 0),
                FetchReason::Periodic => {
                    assert!(s.fetched_at != 0);
                    assert!(now >= s.fetched_at + p.interval_ms - p.interval_ms / 10);
                }
                FetchReason::KidMiss => {
                    // Unknown kids cannot make fetches faster than the cooldown.
                    assert!(s.fetched_at != 0 && self.kid_miss);
                    assert!(now >= s.attempted_at.saturating_add(p.kid_miss_cooldown_ms));
                }
            }
            // Whoever holds the lease is alone until it ends.
            let during = now + self.later % p.lease_ms();
            assert_eq!(
                p.plan(lease, during, true, self.jitter),
                RefreshState::InFlight
            );
            let ok = RefreshPolicy::succeeded(lease, now + self.later, true);
            assert_eq!(
                (ok.generation, ok.failures, ok.lease_until),
                (s.generation + 1, 0, 0)
            );
            let after = ok.fetched_at + 1;
            assert_eq!(
                p.plan(&ok, after.max(ok.fetched_at), false, self.jitter),
                RefreshState::Idle
            );
            let bad = RefreshPolicy::failed(lease);
            assert_eq!(bad.failures, s.failures.saturating_add(1));
            assert_eq!(bad.lease_until, 0);
        } else if s.fetched_at == 0 && s.lease_until <= now {
            // Never fetched and nothing in flight: only the backoff can hold it.
            assert!(s.failures > 0, "{plan:?} with no keys and no backoff");
        }
    }
}
