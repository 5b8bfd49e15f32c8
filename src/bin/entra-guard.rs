//! Host-side helper for operators: hash a subscription key without ever
//! writing it to a file, and validate a filter configuration offline with
//! the very parser the filter runs.

use entra_guard::config::{self, Config, Tenancy};
use entra_guard::subscription::{is_acceptable_key, key_digest_hex, MAX_KEY_BYTES};
use std::io::{Read, Write};
use std::process::ExitCode;

const USAGE: &str = "\
usage:
  entra-guard hash-key [--name NAME]   read a subscription key on stdin, print its SHA-256
                                       (with --name: the JSON entry for subscription_keys.keys)
  entra-guard check <config.json>      validate a filter configuration; warn (on stderr,
                                       exit status 0) about settings Entra or strict MCP
                                       clients refuse, each with its fix; list the
                                       protected_resources
  entra-guard --help
";

/// Larger than `config::parse` accepts, so an oversized file gets the
/// parser's own message while reading stays bounded.
const MAX_CONFIG_READ: u64 = config::MAX_CONFIG_BYTES as u64 + 1;

fn main() -> ExitCode {
    // `env::args` panics on an argument that is not UTF-8.
    let args: Option<Vec<String>> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string().ok())
        .collect();
    let Some(args) = args else {
        return emit(&mut std::io::stderr(), USAGE, ExitCode::from(2));
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["--help" | "-h" | "help"] => {
            return emit(&mut std::io::stdout(), USAGE, ExitCode::SUCCESS)
        }
        ["hash-key"] => hash_key(None),
        ["hash-key", "--name", name] => hash_key(Some(name)),
        ["check", path] if !path.starts_with('-') => check(path),
        _ => return emit(&mut std::io::stderr(), USAGE, ExitCode::from(2)),
    };
    match result {
        Ok(line) => emit(
            &mut std::io::stdout(),
            &format!("{line}\n"),
            ExitCode::SUCCESS,
        ),
        Err(message) => emit(
            &mut std::io::stderr(),
            &format!("entra-guard: {message}\n"),
            ExitCode::FAILURE,
        ),
    }
}

/// Writes without `print!`, which panics when the reader has gone away; a
/// lost success line turns into a failure exit instead.
fn emit(out: &mut dyn Write, text: &str, code: ExitCode) -> ExitCode {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => code,
        Err(_) => ExitCode::FAILURE,
    }
}

fn hash_key(name: Option<&str>) -> Result<String, String> {
    if let Some(name) = name {
        if name.is_empty() || name.bytes().any(|b| !(b' '..0x7f).contains(&b)) {
            return Err("--name must be non-empty printable ASCII".into());
        }
    }
    // Reading a little past the limit tells "too long" from "exactly 256 + CRLF".
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_KEY_BYTES as u64 + 3)
        .read_to_end(&mut input)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    let key = strip_one_newline(&input);
    if key.is_empty() {
        return Err("empty key on stdin".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!("key longer than {MAX_KEY_BYTES} bytes"));
    }
    if !is_acceptable_key(key) {
        return Err("key must be visible ASCII (no spaces or control characters)".into());
    }
    let digest = key_digest_hex(key);
    match name {
        Some(name) => key_entry(name, &digest),
        None => Ok(digest),
    }
}

/// `{"name":...,"sha256":...}`: an entry of `subscription.keys`.
fn key_entry(name: &str, sha256: &str) -> Result<String, String> {
    #[derive(serde::Serialize)]
    struct KeyEntry<'a> {
        name: &'a str,
        sha256: &'a str,
    }
    serde_json::to_string(&KeyEntry { name, sha256 }).map_err(|e| e.to_string())
}

/// What `echo` or a here-string adds; anything else is part of the key.
fn strip_one_newline(input: &[u8]) -> &[u8] {
    input
        .strip_suffix(b"\r\n")
        .or_else(|| input.strip_suffix(b"\n"))
        .unwrap_or(input)
}

fn check(path: &str) -> Result<String, String> {
    let mut json = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONFIG_READ).read_to_end(&mut json))
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    let cfg = config::parse(&json).map_err(|e| format!("{path}: {e}"))?;
    let warnings: String = config::advice(&cfg)
        .iter()
        .map(|w| {
            format!(
                "entra-guard: warning: {}: {}\n  fix: {}\n",
                w.key, w.problem, w.fix
            )
        })
        .collect();
    // Warnings are advice: a lost one must not turn a valid file into a failure.
    let _ = std::io::stderr().write_all(warnings.as_bytes());
    Ok(summary(&cfg))
}

fn summary(cfg: &Config) -> String {
    let tenants = match &cfg.entra.tenancy {
        Tenancy::Single(t) => t.clone(),
        // A one-line summary: a long allowlist by its size.
        Tenancy::Allowed(list) if list.len() > 3 => format!("{} allowed", list.len()),
        Tenancy::Allowed(list) => list.join(","),
    };
    let keys = cfg.subscription.as_ref().map_or(0, |s| s.keys.len());
    let mcp = if cfg.mcp.is_some() { "on" } else { "off" };
    let mut out = format!(
        "ok: tenants={tenants}, audiences={}, rules={}, subscription_keys={keys}, mcp={mcp}",
        cfg.entra.audiences.len(),
        cfg.rules.len()
    );
    // One line per protected resource: where it starts, what it is, where
    // its metadata is served.
    for r in &cfg.protected_resources {
        let mut metadata = r.mcp.resource_metadata_path.clone();
        if r.well_known_path != metadata {
            metadata = format!("{metadata} {}", r.well_known_path);
        }
        out.push_str(&format!(
            "\n  resource {}: {} (audiences={}, rules={}, metadata={metadata})",
            r.path_prefix,
            r.mcp.resource,
            r.audiences.len(),
            r.rules.len(),
        ));
    }
    out
}
