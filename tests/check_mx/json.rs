//! `--json`: one JSON object on stdout, in the schema check_mx(1)
//! documents, with the exit status of the plugin text.

use serde_json::Value;

use super::*;
use support::json::{Type, assert_keys};

/// Checks `report` against the documented schema, all the way down.
fn assert_schema(report: &Value) {
    use Type::*;
    assert_keys(
        report,
        &[
            ("status", Str, false),
            ("exit_status", Num, false),
            ("summary", Str, false),
            ("domain", Str, true),
            ("source", Str, false),
            ("port", Num, false),
            ("error", Str, true),
            ("mx_up", Num, false),
            ("mx_down", Num, false),
            ("hosts", Array, false),
        ],
    );
    let problem = [("status", Str, false), ("text", Str, false)];
    for host in report["hosts"].as_array().into_iter().flatten() {
        assert_keys(
            host,
            &[
                ("name", Str, false),
                ("preference", Num, true),
                ("up", Bool, false),
                ("status", Str, false),
                ("lookup_error", Str, true),
                ("problems", Array, false),
                ("addresses", Array, false),
            ],
        );
        for address in host["addresses"].as_array().into_iter().flatten() {
            assert_keys(
                address,
                &[
                    ("address", Str, false),
                    ("status", Str, false),
                    ("up", Bool, false),
                    ("reached", Str, false),
                    ("error", Str, true),
                    ("timed_out", Bool, false),
                    ("greeting", Str, true),
                    ("times", Object, false),
                    ("tls", Object, false),
                    ("certificate", Object, true),
                    ("problems", Array, false),
                ],
            );
            let times = [
                ("connect", Num, true),
                ("greeting", Num, true),
                ("tls", Num, true),
            ];
            assert_keys(&address["times"], &times);
            assert_keys(
                &address["tls"],
                &[
                    ("state", Str, false),
                    ("version", Str, true),
                    ("reply", Str, true),
                    ("error", Str, true),
                    ("verified", Bool, true),
                    ("verification_error", Str, true),
                ],
            );
            if !address["certificate"].is_null() {
                assert_keys(
                    &address["certificate"],
                    &[
                        ("subject", Str, false),
                        ("issuer", Str, false),
                        ("not_after", Str, false),
                        ("days_left", Num, true),
                    ],
                );
            }
            for p in address["problems"].as_array().into_iter().flatten() {
                assert_keys(p, &problem);
            }
        }
    }
}

/// Runs with and without `--json`: one JSON line in the schema, the same
/// status.
fn json_run(args: &[&str]) -> Value {
    let text = check_mx(args);
    let json = check_mx(&[args, &["--json"]].concat());
    assert_eq!(json.status, text.status, "{json:#?}");
    assert_eq!(json.stdout.lines().count(), 1, "one line: {json:#?}");
    let report: Value = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|error| panic!("not JSON: {error}: {json:#?}"));
    assert_schema(&report);
    assert_eq!(report["exit_status"], json.status.unwrap_or(-1), "{report}");
    report
}

#[test]
fn json_holds_the_facts_in_the_documented_schema() {
    let pki = Pki::with_leaf("127.0.0.1", Leaf::ExpiresInDays(40));
    let tls_server = TestServer::starttls(StartTls::Handshake(pki.clone()));
    let dir = TempDir::new("check-mx-json");
    let ca = ca_file(&dir, &pki);
    let port = tls_server.port().to_string();
    // Nothing listens on 127.0.0.9 at that port: the second host is down.
    let args = [
        "--port",
        &port,
        "-t",
        TIMEOUT,
        "--ca-file",
        &ca,
        "-H",
        "127.0.0.1",
        "-H",
        "127.0.0.9",
    ];
    let report = json_run(&args);
    assert_eq!(report["status"], "WARNING", "{report}");
    assert_eq!(report["source"], "command_line");
    assert_eq!(report["mx_up"], 1);
    let up = &report["hosts"][0]["addresses"][0];
    assert_eq!(up["reached"], "quit", "{report}");
    assert_eq!(up["greeting"], "220 tls.test ESMTP", "{report}");
    assert_eq!(up["tls"]["state"], "established", "{report}");
    assert_eq!(up["tls"]["verified"], true, "{report}");
    assert_eq!(up["certificate"]["days_left"], 40, "{report}");
    assert_eq!(up["certificate"]["subject"], "CN=127.0.0.1", "{report}");
    let down = &report["hosts"][1]["addresses"][0];
    assert_eq!(down["reached"], "connect", "{report}");
    assert_eq!(down["up"], false, "{report}");
    assert_eq!(down["tls"]["state"], "not_reached", "{report}");
}

#[test]
fn json_says_why_nothing_was_checked() {
    let report = json_run(&[
        "-H",
        "127.0.0.1",
        "--port",
        &refused_addr().port().to_string(),
    ]);
    assert_eq!(report["status"], "CRITICAL", "{report}");
    assert_eq!(
        report["hosts"][0]["addresses"][0]["error"],
        "Connection refused (os error 111)"
    );
}
