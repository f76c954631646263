//! `--json` output checks: a run's stdout is one JSON object on one line,
//! and an object has exactly the keys a manual page's schema lists, each
//! of its JSON type (smtpdcheck(1) and etrn(8) here; check_mx(1) in its
//! tests).

use serde_json::Value;

use super::run::Run;

/// Whether `value` is of the JSON type `kind`, as a schema here names it
/// (`str`, `num`, `bool`, `array`, `object`).
fn is(value: &Value, kind: &str) -> bool {
    match kind {
        "str" => value.is_string(),
        "num" => value.is_number(),
        "bool" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => panic!("no JSON type {kind:?} in a schema"),
    }
}

/// `object` has exactly the keys of `schema`, each of its type. `schema`
/// lists `KEY:TYPE` words, TYPE as [`is`] names them, with a `?` after it
/// when the value may be null: `"code:num text:str? data:object"`.
pub fn assert_keys(object: &Value, schema: &str) {
    let map = object
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {object}"));
    let keys: Vec<(&str, &str)> = schema
        .split_whitespace()
        .map(|word| word.split_once(':').expect("KEY:TYPE in a schema"))
        .collect();
    let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
    let mut wanted: Vec<&str> = keys.iter().map(|(key, _)| *key).collect();
    names.sort_unstable();
    wanted.sort_unstable();
    assert_eq!(names, wanted, "{object}");
    for (key, kind) in keys {
        let value = &map[key];
        let ok = match kind.strip_suffix('?') {
            Some(kind) => value.is_null() || is(value, kind),
            None => is(value, kind),
        };
        assert!(ok, "{key} should be {kind}: {object}");
    }
}

/// Asserts that `value` is one of `words`.
fn assert_one_of(value: &Value, words: &[&str], object: &Value) {
    assert!(words.iter().any(|w| value == *w), "{object}");
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

/// The document of a `--json` run that ends as the same run without
/// `--json` (`text`) does.
pub fn json_like_text(json: &Run, text: &Run) -> Value {
    assert_eq!(json.status, text.status, "{json:#?}");
    json_document(json)
}

/// smtpdcheck(1)'s document, its `mx`, one of its `servers`.
const SMTPDCHECK: &str = "exit_status:num available:str? mx:object? servers:array";
const SMTPDCHECK_MX: &str = "domain:str null_mx:bool";
const SMTPDCHECK_SERVER: &str =
    "name:str prio:num? outcome:str address:str? cached:bool ms:num? failure:object?";
const SMTPDCHECK_OUTCOMES: [&str; 5] = ["up", "down", "lookup_failed", "skipped", "not_needed"];

/// A failed step, as every applet's JSON gives it, and its reply.
const FAILURE: &str = "address:str? phase:str reply:object? message:str";
const REPLY: &str = "code:num text:str";

/// etrn(8)'s document, one of its `servers`, one of a server's `clients`.
const ETRN: &str = "exit_status:num servers:array";
const ETRN_SERVER: &str =
    "server:str outcome:str exit_status:num reason:str? failure:object? clients:array";
const ETRN_OUTCOMES: [&str; 5] = [
    "asked",
    "not_supported",
    "unreachable",
    "hello_refused",
    "auth_failed",
];
const ETRN_CLIENT: &str = "argument:str result:str pending:num? reply:object";
const ETRN_RESULTS: [&str; 3] = ["accepted", "refused", "failed"];

/// The members of the array `list` (none when it is not an array).
pub fn members(list: &Value) -> impl Iterator<Item = &Value> {
    list.as_array().into_iter().flatten()
}

/// Checks `document` against smtpdcheck(1)'s schema, all the way down.
pub fn assert_smtpdcheck_schema(document: &Value) {
    assert_keys(document, SMTPDCHECK);
    if !document["mx"].is_null() {
        assert_keys(&document["mx"], SMTPDCHECK_MX);
    }
    for server in members(&document["servers"]) {
        assert_keys(server, SMTPDCHECK_SERVER);
        assert_one_of(&server["outcome"], &SMTPDCHECK_OUTCOMES, server);
        assert_failure_schema(&server["failure"]);
    }
}

/// A failed step (or null), as every applet's JSON gives it.
pub fn assert_failure_schema(failure: &Value) {
    if failure.is_null() {
        return;
    }
    assert_keys(failure, FAILURE);
    if !failure["reply"].is_null() {
        assert_keys(&failure["reply"], REPLY);
    }
}

/// Checks `document` against etrn(8)'s schema, all the way down.
pub fn assert_etrn_schema(document: &Value) {
    assert_keys(document, ETRN);
    for server in members(&document["servers"]) {
        assert_keys(server, ETRN_SERVER);
        assert_one_of(&server["outcome"], &ETRN_OUTCOMES, server);
        assert_failure_schema(&server["failure"]);
        for client in members(&server["clients"]) {
            assert_keys(client, ETRN_CLIENT);
            assert_one_of(&client["result"], &ETRN_RESULTS, client);
            assert_keys(&client["reply"], REPLY);
        }
    }
}
