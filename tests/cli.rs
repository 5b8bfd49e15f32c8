//! The operator commands, run as the real binary.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const TEST_DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entra-guard"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn entra-guard");
    // A refused key may exit before reading it all; a broken pipe is fine.
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    child.wait_with_output().expect("wait for entra-guard")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_config(file: &str, json: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(file);
    std::fs::write(&path, json).expect("write config");
    path
}

fn config(extra_key: &str, sha256: &str) -> String {
    format!(
        r#"{{
  "entra": {{
    "tenant_id": "11111111-2222-3333-4444-555555555555",
    "audiences": ["api://calc", "00000000-0000-0000-0000-000000000001"]{extra_key}
  }},
  "subscription_keys": {{
    "keys": [
      {{"name": "contoso", "sha256": "{sha256}"}},
      {{"name": "contoso", "sha256": "{TEST_DIGEST}"}}
    ]
  }},
  "mcp": {{
    "resource": "https://mcp.contoso.com/mcp",
    "resource_metadata_url": "https://mcp.contoso.com/.well-known/oauth-protected-resource/mcp"
  }},
  "rules": [
    {{"path_prefix": "/health", "require": "none"}},
    {{"path_prefix": "/mcp", "require": "jwt_or_subscription_key"}},
    {{"path_prefix": "/api", "require": "subscription_key"}}
  ]
}}"#
    )
}

#[test]
fn hash_key_prints_the_digest_only() {
    for input in [&b"test"[..], b"test\n", b"test\r\n"] {
        let out = run(&["hash-key"], input);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), format!("{TEST_DIGEST}\n"));
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn hash_key_strips_one_newline_only() {
    let out = run(&["hash-key"], b"test\n\n");
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["hash-key"], b"test\r");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn hash_key_with_a_name_prints_the_config_entry() {
    let out = run(&["hash-key", "--name", "contoso \"app\""], b"test\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{{\"name\":\"contoso \\\"app\\\"\",\"sha256\":\"{TEST_DIGEST}\"}}\n")
    );
}

#[test]
fn hash_key_refuses_unusable_keys() {
    let long = "k".repeat(257);
    let cases: &[(&[u8], &str)] = &[
        (b"", "empty"),
        (b"\n", "empty"),
        (b"a b", "visible ASCII"),
        (b"a\tb", "visible ASCII"),
        ("caf\u{e9}".as_bytes(), "visible ASCII"),
        (&[0xff, 0xfe], "visible ASCII"),
        (long.as_bytes(), "longer than 256"),
    ];
    for (input, message) in cases {
        let out = run(&["hash-key"], input);
        assert_eq!(out.status.code(), Some(1), "{input:?}");
        assert!(out.stdout.is_empty(), "{input:?}");
        assert!(
            text(&out.stderr).contains(message),
            "{input:?}: {}",
            text(&out.stderr)
        );
    }
    let max = format!("{}\r\n", "k".repeat(256));
    assert!(run(&["hash-key"], max.as_bytes()).status.success());
    let out = run(&["hash-key", "--name", ""], b"test");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn check_accepts_a_valid_config() {
    let path = write_config("cli-ok.json", &config("", TEST_DIGEST));
    let out = run(&["check", path.to_str().expect("utf-8 path")], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "ok: tenants=11111111-2222-3333-4444-555555555555, audiences=2, rules=3, \
         subscription_keys=2, mcp=on\n"
    );
}

#[test]
fn check_lists_the_protected_resources() {
    let resource = |name: &str, app: &str| {
        format!(
            r#"{{"path_prefix": "/{name}", "audiences": ["{app}", "https://gw.contoso.com/{name}/mcp"],
               "mcp": {{"resource": "https://gw.contoso.com/{name}/mcp",
                        "resource_metadata_url": "https://gw.contoso.com/.well-known/oauth-protected-resource/{name}/mcp",
                        "scopes_supported": ["https://gw.contoso.com/{name}/mcp/read"]}},
               "rules": [{{"path_prefix": "/{name}/mcp", "require": "jwt", "required_scopes": ["read"]}}]}}"#
        )
    };
    let mut json = format!(
        r#"{{"entra": {{"tenant_id": "11111111-2222-3333-4444-555555555555",
                       "audiences": ["00000000-0000-0000-0000-000000000001"]}},
            "rules": [{{"path_prefix": "/weather/health", "require": "none"}}],
            "protected_resources": [{}, {}]}}"#,
        resource("weather", "00000000-0000-0000-0000-00000000000a"),
        resource("crm", "00000000-0000-0000-0000-00000000000b")
    );
    // A metadata URL elsewhere than the RFC 9728 one: both paths are listed.
    json = json.replace("/.well-known/oauth-protected-resource/crm/mcp", "/crm/prm");
    let path = write_config("cli-resources.json", &json);
    let out = run(&["check", path.to_str().expect("utf-8 path")], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let wk = "/.well-known/oauth-protected-resource";
    assert_eq!(
        text(&out.stdout),
        format!(
            "ok: tenants=11111111-2222-3333-4444-555555555555, audiences=1, rules=1, \
             subscription_keys=0, mcp=off\n  \
             resource /weather: https://gw.contoso.com/weather/mcp (audiences=2, rules=1, \
             metadata={wk}/weather/mcp)\n  \
             resource /crm: https://gw.contoso.com/crm/mcp (audiences=2, rules=1, \
             metadata=/crm/prm {wk}/crm/mcp)\n"
        )
    );
    // The top-level rule under a resource's prefix never applies: warned.
    assert!(
        text(&out.stderr).contains(
            "warning: rules[0].path_prefix: covers paths under protected_resources[0].path_prefix"
        ),
        "{}",
        text(&out.stderr)
    );
    let overlapping = json.replace("\"/crm", "\"/Weather/crm");
    let path = write_config("cli-overlap.json", &overlapping);
    let out = run(&["check", path.to_str().expect("utf-8 path")], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("protected_resources[1].path_prefix: overlaps"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn check_names_an_unknown_key() {
    let path = write_config(
        "cli-unknown.json",
        &config(r#", "audience": "x""#, TEST_DIGEST),
    );
    let out = run(&["check", path.to_str().expect("utf-8 path")], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("entra") && err.contains("audience"), "{err}");
    assert!(err.contains("unknown key"), "{err}");
}

#[test]
fn check_names_a_bad_digest() {
    let path = write_config("cli-bad-sha.json", &config("", "not-a-digest"));
    let out = run(&["check", path.to_str().expect("utf-8 path")], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("subscription_keys.keys[0].sha256"), "{err}");
}

#[test]
fn check_reports_a_missing_file() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-no-such-file.json");
    let out = run(&["check", path.to_str().expect("utf-8 path")], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("cannot read"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn usage() {
    let out = run(&["--help"], b"");
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("hash-key") && text(&out.stdout).contains("check"));
    for args in [
        &[][..],
        &["check"],
        &["frobnicate"],
        &["hash-key", "--name"],
        &["check", "a", "b"],
    ] {
        let out = run(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(text(&out.stderr).contains("usage"));
    }
}

#[cfg(unix)]
#[test]
fn non_utf8_arguments_are_a_usage_error() {
    use std::os::unix::ffi::OsStrExt;
    let arg = std::ffi::OsStr::from_bytes(b"\xff.json");
    let out = Command::new(env!("CARGO_BIN_EXE_entra-guard"))
        .arg("check")
        .arg(arg)
        .output()
        .expect("run entra-guard");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("usage"));
}

#[test]
fn check_warns_about_what_entra_refuses_and_still_succeeds() {
    let json = r#"{
  "entra": {"tenant_id": "11111111-2222-3333-4444-555555555555", "audiences": ["api://calc"]},
  "mcp": {
    "resource": "https://mcp.contoso.com/mcp/",
    "resource_metadata_url": "https://other.contoso.com/.well-known/oauth-protected-resource/mcp",
    "scopes_supported": ["calculator.add", "https://elsewhere.example/calculator.sub"]
  },
  "rules": [{"path_prefix": "/mcp", "require": "jwt", "required_scopes": ["offline_access"]}]
}"#;
    let path = write_config("cli-warn.json", json);
    let out = run(&["check", path.to_str().expect("utf-8 path")], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("ok: "));
    let err = text(&out.stderr);
    for needle in [
        "warning: mcp.resource: ends with /",
        "fix: use https://mcp.contoso.com/mcp here",
        "warning: mcp.scopes_supported[0]: calculator.add is a short scope",
        "fix: write it fully qualified: https://mcp.contoso.com/mcp/calculator.add",
        "warning: mcp.scopes_supported[1]: https://elsewhere.example/calculator.sub is not under mcp.resource",
        "warning: rules[0].required_scopes[0]: offline_access is never in an access token's scp",
        "warning: entra.audiences: no audience is a GUID",
        "warning: mcp.resource_metadata_url: is not on mcp.resource's origin",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(err
        .lines()
        .all(|l| l.starts_with("entra-guard: warning: ") || l.starts_with("  fix: ")));
}

#[test]
fn check_is_quiet_about_the_recommended_setup() {
    let json = r#"{
  "entra": {"tenant_id": "11111111-2222-3333-4444-555555555555",
            "audiences": ["00000000-0000-0000-0000-000000000001", "https://mcp.contoso.com/mcp"]},
  "mcp": {
    "resource": "https://mcp.contoso.com/mcp",
    "resource_metadata_url": "https://mcp.contoso.com/.well-known/oauth-protected-resource/mcp",
    "scopes_supported": ["https://mcp.contoso.com/mcp/calculator.add"],
    "authorization_server": {"issuer": "https://mcp.contoso.com",
                             "client_id": "00000000-0000-0000-0000-000000000002",
                             "redirect_uris": ["http://127.0.0.1/callback", "https://vscode.dev/redirect"]}
  },
  "rules": [{"path_prefix": "/mcp", "require": "jwt", "required_scopes": ["calculator.add"]}]
}"#;
    let path = write_config("cli-quiet.json", json);
    let out = run(&["check", path.to_str().expect("utf-8 path")], b"");
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "");
}
