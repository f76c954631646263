//! DANE (RFC 7672): `check_mx d.test` whose MX host mx1.d.test is the
//! STARTTLS test server on 127.0.0.1, with TLSA records at
//! `_PORT._tcp.mx1.d.test` made of the test's own certificates, served
//! by the scripted DNS server (the AD bit for "signed" names) through a
//! resolv.conf with `options trust-ad`. Each row is run as text and as
//! `--json`. Root is needed for the DNS server's port 53 and the mount
//! namespace: elsewhere every row says SKIPPED.

use serde_json::Value;
use support::dns::*;
use support::json::{json_like_text, members};
use support::prometheus::Exposition;

use super::dns::{DOMAIN, check_mx_via, up};
use super::json::assert_schema;
use super::*;

/// The MX host every row checks.
const MX: &str = "mx1.d.test";

/// A TLSA record: usage, selector, matching type, data.
type Record = (u8, u8, u8, Vec<u8>);

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// `3 1 1` of the server's key: DANE-EE, SPKI, SHA-256.
fn ee_spki(pki: &Pki) -> Vec<Record> {
    vec![(3, 1, 1, sha256(&pki.der.leaf_spki))]
}

/// `2 0 1` of the CA that signed the server's certificate.
fn ta_cert(pki: &Pki) -> Vec<Record> {
    vec![(2, 0, 1, sha256(&pki.der.ca))]
}

/// A `3 1 1` record of some other key.
fn other_key(_: &Pki) -> Vec<Record> {
    vec![(3, 1, 1, sha256(b"another key"))]
}

/// The server's key and a next key: a rollover pair.
fn rollover_pair(pki: &Pki) -> Vec<Record> {
    [ee_spki(pki), other_key(pki)].concat()
}

/// Only the PKIX usages, unusable for SMTP.
fn pkix_only(pki: &Pki) -> Vec<Record> {
    vec![
        (0, 0, 1, sha256(&pki.der.ca)),
        (1, 0, 1, sha256(&pki.der.leaf)),
    ]
}

fn no_records(_: &Pki) -> Vec<Record> {
    Vec::new()
}

/// One case.
struct Row {
    name: &'static str,
    leaf: Leaf,
    /// The server offers STARTTLS (else it only greets and answers EHLO).
    starttls: bool,
    records: fn(&Pki) -> Vec<Record>,
    /// The MX and TLSA answers carry the AD bit.
    signed: bool,
    /// How the DNS server answers the TLSA query.
    tlsa: Behaviour,
    /// `--ca-file` with the test CA.
    ca_file: bool,
    args: &'static [&'static str],
    status: i32,
    /// The summary's start; `{tlsa}` stands for the TLSA name.
    summary: &'static str,
    /// A line of the text output that must contain this.
    detail: &'static str,
    /// The `tlsa_records` metric (`None`: unknown; absent with
    /// `--no-dane`).
    tlsa_records: Option<f64>,
    /// Checks of the JSON report's one host.
    json: fn(&Value),
}

const fn row(
    name: &'static str,
    records: fn(&Pki) -> Vec<Record>,
    status: i32,
    summary: &'static str,
) -> Row {
    Row {
        name,
        leaf: Leaf::Valid,
        starttls: true,
        records,
        signed: true,
        tlsa: Behaviour::Records,
        ca_file: true,
        args: &[],
        status,
        summary,
        detail: "",
        tlsa_records: Some(1.0),
        json: |_| {},
    }
}

/// The resolver options of every row: quick, and the AD bit kept.
const TRUST_AD: &str = "options timeout:1 attempts:1 trust-ad";

fn check_rows(rows: Vec<Row>) {
    for row in rows {
        eprintln!("row: {}", row.name);
        let dir = TempDir::new("check-mx-dane");
        let pki = Pki::with_leaf(MX, row.leaf);
        let ca = ca_file(&dir, &pki);
        let server = if row.starttls {
            TestServer::starttls(StartTls::Handshake(pki.clone()))
        } else {
            script_server(up())
        };
        let port = server.port().to_string();
        let tlsa_name = format!("_{port}._tcp.{MX}");
        let mut zone = Zone::new().mx_at(DOMAIN, 10, MX, "127.0.0.1");
        let records = (row.records)(&pki);
        // glibc's res_query hands no message on for NODATA: no AD bit.
        let answered = row.signed && row.tlsa == Behaviour::Records && !records.is_empty();
        for (usage, selector, matching, data) in records {
            zone = zone.tlsa(&tlsa_name, usage, selector, matching, &data);
        }
        if row.signed {
            zone = zone.signed(DOMAIN).signed(&tlsa_name);
        }
        zone = zone.behave(&tlsa_name, row.tlsa);
        let Some(dns) = DnsServer::start_or_skip(zone) else {
            return;
        };
        let trust: &[&str] = if row.ca_file {
            &["--ca-file", &ca]
        } else {
            &[]
        };
        let options = [trust, row.args].concat();
        let run = |output: &[&str]| {
            let args = [&options[..], output, &[DOMAIN]].concat();
            check_mx_via(&dns, TRUST_AD, &port, "4", &args)
        };
        let Some(text) = run(&[]) else {
            return;
        };
        let summary = row.summary.replace("{tlsa}", &tlsa_name);
        let output = assert_plugin(&text, row.status, &summary);
        let label = format!("{MX} tlsa_records");
        if row.args.contains(&"--no-dane") {
            assert!(
                output.perfdata.iter().all(|m| m.label != label),
                "{text:#?}"
            );
        } else {
            assert_eq!(output.metric(&label), row.tlsa_records, "{text:#?}");
        }
        assert!(
            text.stdout.lines().skip(1).any(|l| l.contains(row.detail)),
            "no line with {:?}: {text:#?}",
            row.detail
        );
        let Some(json) = run(&["--json"]) else {
            return;
        };
        let report = json_like_text(&json, &text);
        assert_schema(&report);
        let host = &report["hosts"][0];
        if row.args.contains(&"--no-dane") {
            assert!(host["dane"].is_null(), "{report}");
        } else {
            assert_eq!(host["dane"]["tlsa_name"], tlsa_name.as_str(), "{report}");
            assert_eq!(host["dane"]["validated"], answered, "{report}");
            assert_eq!(host["dane"]["mx_validated"], row.signed, "{report}");
        }
        (row.json)(host);
        let Some(prometheus) = run(&["--prometheus"]) else {
            return;
        };
        assert_eq!(prometheus.status, text.status, "{prometheus:#?}");
        assert_dane_series(&prometheus, host, row.tlsa_records);
        let asked_tlsa = dns
            .asked_lines()
            .iter()
            .any(|q| q.ends_with(&format!("TLSA {tlsa_name}")));
        assert_eq!(
            asked_tlsa,
            !row.args.contains(&"--no-dane"),
            "{:?}",
            dns.asked_lines()
        );
    }
}

/// The `--prometheus` run's DANE series say what the JSON `host` says:
/// `check_mx_tlsa_records` and `check_mx_tlsa_validated` where the
/// lookup answered, `check_mx_dane_matched` where there was something
/// to match.
fn assert_dane_series(run: &Run, host: &Value, tlsa_records: Option<f64>) {
    let metrics = Exposition::parse(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"));
    let mx = [("mx", MX), ("preference", "10")];
    assert_eq!(
        metrics.value("check_mx_tlsa_records", &mx),
        tlsa_records,
        "{run:#?}"
    );
    let validated = host["dane"]["validated"].as_bool().map(f64::from);
    let validated = tlsa_records.and(validated);
    assert_eq!(
        metrics.value("check_mx_tlsa_validated", &mx),
        validated,
        "{run:#?}"
    );
    let address = [("mx", MX), ("address", "127.0.0.1"), ("family", "ipv4")];
    let matched = host["addresses"][0]["dane"]["matched"]
        .as_bool()
        .map(f64::from);
    assert_eq!(
        metrics.value("check_mx_dane_matched", &address),
        matched,
        "{run:#?}"
    );
}

#[test]
fn tlsa_records_are_matched_and_judged() {
    check_rows(vec![
        Row {
            detail: "trusted by DANE-EE (3 1 1)",
            json: |host| {
                let address = &host["addresses"][0]["dane"];
                assert_eq!(address["matched"], true, "{host}");
                assert_eq!(address["trust"], "dane-ee", "{host}");
                let matched = address["matched_records"][0].as_str().unwrap_or_default();
                assert!(matched.starts_with("3 1 1 "), "{host}");
                assert_eq!(host["dane"]["records"][0]["usable"], true, "{host}");
                // One record and no next key: the rollover note.
                assert_eq!(host["notes"].as_array().map(Vec::len), Some(1), "{host}");
            },
            ..row(
                "DANE-EE 3 1 1 matching, a single record: OK and a note",
                ee_spki,
                0,
                "1 of 1 MX host of d.test up",
            )
        },
        Row {
            detail: "note - one usable TLSA record (3 1 1) and no second one",
            ..row(
                "the single record's note is a line of its own",
                ee_spki,
                0,
                "1 of 1 MX host of d.test up",
            )
        },
        Row {
            detail: "trusted by DANE-TA (2 0 1)",
            json: |host| {
                let address = &host["addresses"][0]["dane"];
                assert_eq!(address["trust"], "dane-ta", "{host}");
            },
            ..row(
                "DANE-TA 2 0 1 against the chain's CA",
                ta_cert,
                0,
                "1 of 1 MX host of d.test up",
            )
        },
        Row {
            tlsa_records: Some(2.0),
            json: |host| {
                assert_eq!(host["addresses"][0]["dane"]["matched"], true, "{host}");
                assert_eq!(host["notes"], Value::Array(vec![]), "{host}");
            },
            ..row(
                "a rollover pair, one matching: OK, no note",
                rollover_pair,
                0,
                "1 of 1 MX host of d.test up",
            )
        },
        Row {
            json: |host| {
                let address = &host["addresses"][0]["dane"];
                assert_eq!(address["matched"], false, "{host}");
                assert!(address["error"].is_string(), "{host}");
                assert_eq!(host["addresses"][0]["status"], "CRITICAL", "{host}");
            },
            ..row(
                "a mismatch: CRITICAL naming host and address",
                other_key,
                2,
                "mx1.d.test[127.0.0.1] DANE: no TLSA record matches the certificate chain",
            )
        },
        Row {
            signed: false,
            json: |host| assert!(host["addresses"][0]["dane"].is_null(), "{host}"),
            ..row(
                "records not validated (zone not signed): WARNING",
                ee_spki,
                1,
                "mx1.d.test TLSA records at {tlsa} not validated: DNSSEC did not validate",
            )
        },
        Row {
            tlsa_records: Some(2.0),
            json: |host| {
                for record in members(&host["dane"]["records"]) {
                    assert_eq!(record["usable"], false, "{host}");
                }
            },
            ..row(
                "usages 0 and 1 only: WARNING",
                pkix_only,
                1,
                "mx1.d.test TLSA records at {tlsa} all unusable for SMTP (usage 0, 1)",
            )
        },
        Row {
            leaf: Leaf::SelfSigned,
            ca_file: false,
            detail: "certificate not verified; trusted by DANE-EE (3 1 1)",
            json: |host| assert_eq!(host["addresses"][0]["tls"]["verified"], false, "{host}"),
            ..row(
                "3 1 1 of a self-signed certificate PKIX refuses: OK, trusted by DANE-EE",
                ee_spki,
                0,
                "1 of 1 MX host of d.test up",
            )
        },
        Row {
            starttls: false,
            ..row(
                "no STARTTLS under validated TLSA: CRITICAL",
                other_key,
                2,
                "mx1.d.test[127.0.0.1] offers no STARTTLS but has TLSA records",
            )
        },
        Row {
            tlsa: Behaviour::ServFail,
            tlsa_records: None,
            json: |host| assert!(host["dane"]["error"].is_string(), "{host}"),
            ..row(
                "TLSA SERVFAIL: CRITICAL naming host and TLSA name",
                ee_spki,
                2,
                "mx1.d.test {tlsa}: TLSA lookup: no answer",
            )
        },
        Row {
            args: &["--no-dane"],
            tlsa_records: None,
            ..row(
                "--no-dane: no TLSA query, a mismatch unseen",
                other_key,
                0,
                "1 of 1 MX host of d.test up",
            )
        },
        Row {
            args: &["--require-dane"],
            tlsa_records: Some(0.0),
            ..row(
                "--require-dane without TLSA: CRITICAL",
                no_records,
                2,
                "mx1.d.test has no TLSA records at {tlsa} (--require-dane)",
            )
        },
    ]);
}

/// Backup-MX parity: mx1.d.test (MX 10) has a matching, validated TLSA
/// record and mx2.d.test (MX 20), the same server under another name,
/// has none. DANE senders that reach the backup get unauthenticated TLS:
/// WARNING, the backup named in the summary; the primary is fine.
#[test]
fn a_backup_mx_without_the_primarys_dane_is_named() {
    const BACKUP: &str = "mx2.d.test";
    let dir = TempDir::new("check-mx-dane-parity");
    let pki = Pki::with_names(&[MX, BACKUP], Leaf::Valid);
    let ca = ca_file(&dir, &pki);
    let server = TestServer::starttls(StartTls::Handshake(pki.clone()));
    let port = server.port().to_string();
    let tlsa_name = format!("_{port}._tcp.{MX}");
    let zone = Zone::new()
        .mx_at(DOMAIN, 10, MX, "127.0.0.1")
        .mx_at(DOMAIN, 20, BACKUP, "127.0.0.1")
        .tlsa(&tlsa_name, 3, 1, 1, &sha256(&pki.der.leaf_spki))
        .signed(DOMAIN)
        .signed(&tlsa_name);
    let Some(dns) = DnsServer::start_or_skip(zone) else {
        return;
    };
    let args = ["--ca-file", &ca, "--no-mta-sts", "--json", DOMAIN];
    let Some(run) = check_mx_via(&dns, TRUST_AD, &port, "4", &args) else {
        return;
    };
    assert_eq!(run.status, Some(1), "{run:#?}");
    let report: Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    assert_schema(&report);
    let summary = report["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with(
            "mx2.d.test backup MX without TLSA records while mx1.d.test (MX 10) has DANE"
        ),
        "{report}"
    );
    assert_eq!(report["hosts"][0]["status"], "OK", "{report}");
    assert_eq!(report["hosts"][1]["status"], "WARNING", "{report}");
    assert_eq!(
        report["hosts"][0]["addresses"][0]["dane"]["trust"], "dane-ee",
        "{report}"
    );
}
