//! `--json`: one JSON object on stdout in the schema etrn(8) documents,
//! with each server's outcome and each client's reply; the same exit
//! status as without it.

use crate::support::json::{assert_etrn_schema, json_like_text};
use crate::support::*;
use crate::*;

/// `etrn ARGS` against `server` with and without `--json`: the same
/// status; the document, checked against the schema.
fn json_run(server: &TestServer, args: &[&str]) -> serde_json::Value {
    let text = etrn_to(server, args);
    let document = json_like_text(&etrn_to(server, &[&["--json"], args].concat()), &text);
    assert_etrn_schema(&document);
    document
}

#[test]
fn json_gives_each_clients_reply() {
    let server = etrn_server(&[
        ("ETRN a.test", "250 Queuing started"),
        ("ETRN #q", "253 OK, 4 pending messages for node q started"),
        ("ETRN b.test", "459 4.7.1 <b.test>: not allowed"),
    ]);
    let document = json_run(&server, &["127.0.0.1", "a.test", "#q", "b.test"]);
    assert_eq!(document["exit_status"], 1, "{document}");
    let only = &document["servers"][0];
    assert_eq!(only["server"], "127.0.0.1");
    assert_eq!(only["outcome"], "asked");
    assert_eq!(only["exit_status"], 1);
    let clients = &only["clients"];
    assert_eq!(clients[0]["argument"], "a.test");
    assert_eq!(clients[0]["result"], "accepted");
    assert_eq!(clients[0]["reply"]["code"], 250);
    assert_eq!(clients[1]["result"], "accepted");
    assert_eq!(clients[1]["pending"], 4, "{document}");
    assert_eq!(clients[2]["result"], "refused");
    assert_eq!(clients[2]["reply"]["text"], "4.7.1 <b.test>: not allowed");
}

#[test]
fn json_says_why_no_etrn_was_sent() {
    let no_etrn = smtp_server("220 mx.test", &[("EHLO", "250 mx.test")]);
    let document = json_run(&no_etrn, &["127.0.0.1", "a.test"]);
    assert_eq!(
        document["servers"][0]["outcome"], "not_supported",
        "{document}"
    );
    assert!(document["servers"][0]["reason"].is_string(), "{document}");

    let refusing = greeting_server("554 go away");
    let document = json_run(&refusing, &["127.0.0.1", "a.test"]);
    let only = &document["servers"][0];
    assert_eq!(only["outcome"], "unreachable", "{document}");
    assert_eq!(only["failure"]["phase"], "greeting", "{document}");
    assert_eq!(only["failure"]["reply"]["code"], 554, "{document}");
    assert_eq!(document["exit_status"], 3);
}

#[test]
fn json_and_verbose_do_not_mix() {
    let run = etrn(&["--json", "-v", "127.0.0.1", "a.test"]);
    assert_eq!(run.status, Some(2), "{run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");
}
