//! `filter_state`: off unless listed, `"all"`, and every wrong form refused
//! by key.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn with_state(state: Value) -> Value {
    json!({"entra": {"tenant_id": TID, "audiences": ["api://gw"]}, "filter_state": state})
}

#[test]
fn nothing_is_set_unless_listed() {
    let minimal = json!({"entra": {"tenant_id": TID, "audiences": ["api://gw"]}});
    assert!(parse_value(&minimal).unwrap().filter_state.is_empty());
    assert!(parse_value(&with_state(json!([])))
        .unwrap()
        .filter_state
        .is_empty());
    let some = parse_value(&with_state(json!(["oid", "rule"])))
        .unwrap()
        .filter_state;
    assert!(some.contains(StateEntry::Oid) && some.contains(StateEntry::Rule));
    assert!(!some.contains(StateEntry::Outcome));
    let all = parse_value(&with_state(json!("all"))).unwrap().filter_state;
    assert!(StateEntry::ALL.iter().all(|e| all.contains(*e)));
}

#[test]
fn wrong_names_are_refused_by_key() {
    let e = parse_value(&with_state(json!(["oid", "upn"]))).unwrap_err();
    assert_eq!(e.key, "filter_state[1]");
    assert!(e.reason.contains("unknown name \"upn\""), "{e}");
    let e = parse_value(&with_state(json!(["tid", "tid"]))).unwrap_err();
    assert_eq!(e.key, "filter_state[1]");
    let e = parse_value(&with_state(json!("everything"))).unwrap_err();
    assert_eq!(e.key, "filter_state");
    assert!(parse_value(&with_state(json!(7))).is_err());
}
