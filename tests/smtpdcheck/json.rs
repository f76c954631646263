//! `--json`: one JSON object on stdout in the schema smtpdcheck(1)
//! documents, instead of the server's name; the same exit status.

use support::json::{assert_smtpdcheck_schema, json_document};

use crate::support;
use crate::support::*;
use crate::*;

#[test]
fn json_gives_the_answer_and_each_server_instead_of_the_name() {
    // Two servers on one port: 127.0.0.1 greets 554, 127.0.0.3 greets 220.
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.1", vec![script::line("554 no service")]),
        ("127.0.0.3", vec![script::line("220 up")]),
    ]) else {
        return;
    };
    let args = ["--timeout", "2", "10:127.0.0.1", "20:127.0.0.3"];
    let text = check_at(&servers[0], &args);
    assert_eq!(text.status, Some(1), "{text:#?}");
    let run = check_at(&servers[0], &[&args[..], &["--json"]].concat());
    assert_eq!(run.status, text.status, "{run:#?}");
    let document = json_document(&run);
    assert_smtpdcheck_schema(&document);
    assert_eq!(document["available"], "127.0.0.3", "{document}");
    assert!(document["mx"].is_null(), "{document}");
    let [first, second] = [&document["servers"][0], &document["servers"][1]];
    assert_eq!(first["name"], "127.0.0.1");
    assert_eq!(first["prio"], 10);
    assert_eq!(first["outcome"], "down", "{document}");
    assert_eq!(first["failure"]["phase"], "greeting", "{document}");
    assert_eq!(first["failure"]["reply"]["code"], 554, "{document}");
    assert_eq!(second["outcome"], "up", "{document}");
    let second_address = servers[1].addr().to_string();
    assert_eq!(second["address"], second_address, "{document}");
    assert_eq!(second["cached"], false);
    assert!(run.stderr.is_empty(), "{run:#?}");
}

#[test]
fn json_says_none_is_available() {
    let refused = refused_addr().port().to_string();
    let run = check(&["--port", &refused, "--timeout", "1", "--json", "127.0.0.1"]);
    assert_eq!(run.status, Some(0), "{run:#?}");
    let document = json_document(&run);
    assert_smtpdcheck_schema(&document);
    assert!(document["available"].is_null(), "{document}");
    assert_eq!(
        document["servers"][0]["failure"]["phase"], "connect",
        "{document}"
    );
    assert!(document["servers"][0]["prio"].is_null(), "{document}");
}

#[test]
fn json_cannot_go_with_the_policy_service() {
    let run = check(&["--json", "--postfix-policy"]);
    assert_eq!(run.status, Some(2), "{run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");
}
