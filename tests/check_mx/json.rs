//! `--json`: one JSON object on stdout, in the schema check_mx(1)
//! documents, with the exit status of the plugin text.

use std::net::Ipv4Addr;

use serde_json::Value;

use super::*;
use support::json::{assert_keys, json_like_text, members};

/// check_mx(1)'s report, one of its `hosts`, one of a host's `addresses`
/// and the objects in an address, and one of its `problems`.
const REPORT: &str = "status:str exit_status:num summary:str domain:str? source:str \
                      port:num error:str? mx_up:num mx_down:num hosts:array \
                      mta_sts:object? tls_rpt:object?";
const HOST: &str = "name:str preference:num? up:bool status:str lookup_error:str? \
                    problems:array notes:array dane:object? addresses:array";
const ADDRESS: &str = "address:str status:str up:bool reached:str error:str? timed_out:bool \
                       greeting:str? times:object tls:object certificate:object? problems:array \
                       dane:object?";
const TIMES: &str = "connect:num? greeting:num? tls:num?";
const TLS: &str = "state:str version:str? reply:str? error:str? verified:bool? \
                   verification_error:str?";
const CERTIFICATE: &str = "subject:str issuer:str not_after:str days_left:num?";
const PROBLEM: &str = "status:str text:str";
/// A host's `dane`, one of its `records`, and an address's `dane`.
const HOST_DANE: &str = "tlsa_name:str validated:bool mx_validated:bool? records:array error:str?";
const TLSA: &str = "usage:num selector:num matching_type:num data:str usable:bool";
const ADDRESS_DANE: &str = "matched:bool matched_records:array trust:str? error:str?";
/// The report's `mta_sts`, its `policy_host`, and its `tls_rpt`.
const MTA_STS: &str = "status:str txt:str? id:str? policy_url:str? version:str? mode:str? \
                       mx:array max_age:num? uncovered:array policy_host:object? error:str? \
                       problems:array";
const POLICY_HOST: &str =
    "address:str certificate:object? days_left:num? verified:bool verification_error:str?";
const TLS_RPT: &str = "record:str? rua:array error:str?";

/// Checks `report` against the documented schema, all the way down.
pub(super) fn assert_schema(report: &Value) {
    assert_keys(report, REPORT);
    let sts = &report["mta_sts"];
    if !sts.is_null() {
        assert_keys(sts, MTA_STS);
        let host = &sts["policy_host"];
        if !host.is_null() {
            assert_keys(host, POLICY_HOST);
            if !host["certificate"].is_null() {
                assert_keys(&host["certificate"], CERTIFICATE);
            }
        }
        for problem in members(&sts["problems"]) {
            assert_keys(problem, PROBLEM);
        }
    }
    if !report["tls_rpt"].is_null() {
        assert_keys(&report["tls_rpt"], TLS_RPT);
    }
    for host in members(&report["hosts"]) {
        assert_keys(host, HOST);
        if !host["dane"].is_null() {
            assert_keys(&host["dane"], HOST_DANE);
            for record in members(&host["dane"]["records"]) {
                assert_keys(record, TLSA);
            }
        }
        for address in members(&host["addresses"]) {
            assert_keys(address, ADDRESS);
            assert_keys(&address["times"], TIMES);
            assert_keys(&address["tls"], TLS);
            if !address["certificate"].is_null() {
                assert_keys(&address["certificate"], CERTIFICATE);
            }
            if !address["dane"].is_null() {
                assert_keys(&address["dane"], ADDRESS_DANE);
            }
            for problem in members(&address["problems"]) {
                assert_keys(problem, PROBLEM);
            }
        }
    }
}

/// Runs with and without `--json`: one JSON line in the schema, the same
/// status.
fn json_run(args: &[&str]) -> Value {
    let text = check_mx(args);
    let report = json_like_text(&check_mx(&[args, &["--json"]].concat()), &text);
    assert_schema(&report);
    report
}

#[test]
fn json_holds_the_facts_in_the_documented_schema() {
    let dir = TempDir::new("check-mx-json");
    let (tls_server, ca) = tls_server("127.0.0.1", Leaf::ExpiresInDays(40), &dir);
    let port = tls_server.port();
    // 127.0.0.9 refuses that port: the second host is down.
    let _down = HeldPort::hold(Ipv4Addr::new(127, 0, 0, 9), port).expect("hold 127.0.0.9");
    let port = port.to_string();
    let options = ["--port", &port, "-t", TIMEOUT, "--ca-file", &ca];
    let hosts = ["-H", "127.0.0.1", "-H", "127.0.0.9"];
    let report = json_run(&[&options[..], &hosts[..]].concat());
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
