//! `--json` output checks: a run's stdout is one JSON object on one line,
//! and an object has exactly the keys a manual page's schema lists, each
//! of its JSON type (smtpdcheck(1) and etrn(8) here; check_mx(1) in its
//! tests).

use serde_json::Value;

use super::run::Run;

/// JSON types, as the schema names them.
#[derive(Clone, Copy, Debug)]
pub enum Type {
    Str,
    Num,
    Bool,
    Array,
    Object,
}

fn is(value: &Value, kind: Type) -> bool {
    match kind {
        Type::Str => value.is_string(),
        Type::Num => value.is_number(),
        Type::Bool => value.is_boolean(),
        Type::Array => value.is_array(),
        Type::Object => value.is_object(),
    }
}

/// `object` has exactly these keys, each of its type (or null when the
/// key's flag says it may be).
pub fn assert_keys(object: &Value, keys: &[(&str, Type, bool)]) {
    let map = object
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {object}"));
    let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
    let mut wanted: Vec<&str> = keys.iter().map(|(k, _, _)| *k).collect();
    names.sort_unstable();
    wanted.sort_unstable();
    assert_eq!(names, wanted, "{object}");
    for (key, kind, nullable) in keys {
        let value = &map[*key];
        let ok = is(value, *kind) || (*nullable && value.is_null());
        assert!(ok, "{key} should be {kind:?}: {object}");
    }
}

/// The run's stdout as one JSON object on one line; its `exit_status`
/// is the run's exit status.
pub fn json_document(run: &Run) -> Value {
    assert_eq!(run.stdout.lines().count(), 1, "one line: {run:#?}");
    let document: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not JSON: {error}: {run:#?}"));
    assert!(document.is_object(), "{document}");
    assert_eq!(
        document["exit_status"],
        run.status.unwrap_or(-1),
        "{document}"
    );
    document
}

/// Checks `document` against smtpdcheck(1)'s schema, all the way down.
pub fn assert_smtpdcheck_schema(document: &Value) {
    use Type::*;
    assert_keys(
        document,
        &[
            ("exit_status", Num, false),
            ("available", Str, true),
            ("mx", Object, true),
            ("servers", Array, false),
        ],
    );
    if !document["mx"].is_null() {
        assert_keys(
            &document["mx"],
            &[("domain", Str, false), ("null_mx", Bool, false)],
        );
    }
    for server in document["servers"].as_array().into_iter().flatten() {
        assert_keys(
            server,
            &[
                ("name", Str, false),
                ("prio", Num, true),
                ("outcome", Str, false),
                ("address", Str, true),
                ("cached", Bool, false),
                ("ms", Num, true),
                ("failure", Object, true),
            ],
        );
        let outcomes = ["up", "down", "lookup_failed", "skipped", "not_needed"];
        assert!(outcomes.iter().any(|o| server["outcome"] == *o), "{server}");
        if !server["failure"].is_null() {
            assert_failure_schema(&server["failure"]);
        }
    }
}

/// A failed step, as every applet's JSON gives it.
pub fn assert_failure_schema(failure: &Value) {
    use Type::*;
    assert_keys(
        failure,
        &[
            ("address", Str, true),
            ("phase", Str, false),
            ("reply", Object, true),
            ("message", Str, false),
        ],
    );
    if !failure["reply"].is_null() {
        assert_keys(
            &failure["reply"],
            &[("code", Num, false), ("text", Str, false)],
        );
    }
}

/// Checks `document` against etrn(8)'s schema, all the way down.
pub fn assert_etrn_schema(document: &Value) {
    use Type::*;
    assert_keys(
        document,
        &[("exit_status", Num, false), ("servers", Array, false)],
    );
    for server in document["servers"].as_array().into_iter().flatten() {
        assert_keys(
            server,
            &[
                ("server", Str, false),
                ("outcome", Str, false),
                ("exit_status", Num, false),
                ("reason", Str, true),
                ("failure", Object, true),
                ("clients", Array, false),
            ],
        );
        let outcomes = [
            "asked",
            "not_supported",
            "unreachable",
            "hello_refused",
            "auth_failed",
        ];
        assert!(outcomes.iter().any(|o| server["outcome"] == *o), "{server}");
        if !server["failure"].is_null() {
            assert_failure_schema(&server["failure"]);
        }
        for client in server["clients"].as_array().into_iter().flatten() {
            assert_keys(
                client,
                &[
                    ("argument", Str, false),
                    ("result", Str, false),
                    ("pending", Num, true),
                    ("reply", Object, false),
                ],
            );
            let results = ["accepted", "refused", "failed"];
            assert!(results.iter().any(|r| client["result"] == *r), "{client}");
            assert_keys(
                &client["reply"],
                &[("code", Num, false), ("text", Str, false)],
            );
        }
    }
}
