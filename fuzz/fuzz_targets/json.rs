//! The filter's own JSON reader and writer (`entra_guard::json`) against
//! serde_json on arbitrary bytes.
//!
//! Both must accept the same documents and read them the same, except where
//! ours differs on purpose: a repeated key is an error (serde_json keeps the
//! last), and a number beyond f64 keeps its text (serde_json refuses it).
//! `Reader::skip` must accept all that `parse` accepts and refuse only what
//! both refuse (it looks for neither repeated keys nor depth), and every
//! string read must be written back byte for byte as serde_json writes it.

#![no_main]

use entra_guard::json::{self, push_string, JsonError, Reader, Value};
use entra_guard_fuzz::same_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ours = json::parse(data);
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    match (&ours, &theirs) {
        (Ok(v), Ok(j)) => assert!(same_json(v, j), "read differently: {v:?} / {j}"),
        (Ok(_), Err(e)) => assert!(
            e.to_string().starts_with("number out of range"),
            "accepted what serde_json refuses: {e}"
        ),
        (Err(JsonError::DuplicateKey(_)), Ok(_)) => {}
        (Err(e), Ok(j)) => panic!("refused ({e}) what serde_json reads: {j}"),
        (Err(_), Err(_)) => {}
    }
    let mut reader = Reader::new(data);
    let skipped = reader.skip().and_then(|()| reader.end());
    match skipped {
        // Syntax is syntax: what skip refuses, nobody reads.
        Err(e) => assert!(ours.is_err() && theirs.is_err(), "skip refused ({e}): {ours:?}"),
        Ok(()) => assert!(
            matches!(ours, Ok(_) | Err(JsonError::DuplicateKey(_) | JsonError::TooDeep)),
            "skip accepted, parse: {ours:?}"
        ),
    }
    if let Ok(value) = &ours {
        each_string(value, &mut |s| {
            let mut written = String::new();
            push_string(&mut written, s);
            assert_eq!(Some(written), serde_json::to_string(s).ok());
        });
    }
});

fn each_string(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| each_string(v, f)),
        Value::Object(members) => members.iter().for_each(|(k, v)| {
            f(k);
            each_string(v, f);
        }),
        _ => {}
    }
}
