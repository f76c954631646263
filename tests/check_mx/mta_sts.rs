//! MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) of `check_mx DOMAIN`: the
//! TXT records from the scripted DNS server, the policy from a scripted
//! HTTPS host on port 443 of its own loopback address, named
//! `mta-sts.d.test` in the zone. The MX hosts `mx1.d.test` and
//! `mx2.d.test` are one STARTTLS server on 127.0.0.1 whose certificate
//! names both. Each row is run twice, as plugin text and as `--json`
//! (root needed: elsewhere every row says SKIPPED).

use serde_json::{Value, json};
use support::dns::*;
use support::https::{Https, HttpsServer};
use support::json::json_document;
use support::prometheus::Exposition;

use super::dns::{DOMAIN, check_mx_via};
use super::json::assert_schema;
use super::*;

/// The `_mta-sts` TXT record the rows publish.
const STS_TXT: &str = "v=STSv1; id=20240101";
/// The TLS-RPT record of the TLS-RPT row.
const TLS_RPT_TXT: &str = "v=TLSRPTv1; rua=mailto:tls@d.test";
/// A host a redirect points to: it must never be contacted.
const ELSEWHERE: &str = "elsewhere.d.test";
/// The MX hosts, both on the STARTTLS server.
const MX: [&str; 2] = ["mx1.d.test", "mx2.d.test"];

/// A policy in `mode` covering `patterns`.
fn policy(mode: &str, patterns: &[&str]) -> String {
    let mx: String = patterns.iter().map(|p| format!("mx: {p}\r\n")).collect();
    format!("version: STSv1\r\nmode: {mode}\r\n{mx}max_age: 86400\r\n")
}

fn enforce_all() -> Https {
    Https::policy(&policy("enforce", &["mx1.d.test", "*.d.test"]))
}

/// One case.
struct Row {
    name: &'static str,
    /// What the policy host answers.
    policy: Https,
    /// Its certificate (for mta-sts.d.test).
    policy_leaf: Leaf,
    /// The TXT records of the zone: (name, text).
    txt: Vec<(&'static str, &'static str)>,
    /// Options before DOMAIN (after `--port P -t T --helo --ca-file`).
    args: &'static [&'static str],
    timeout: &'static str,
    status: i32,
    summary: &'static str,
    /// Lines the text output must have.
    lines: &'static [&'static str],
    /// (JSON pointer, value) the `--json` report must have.
    json: Vec<(&'static str, Value)>,
    /// Whether the policy host must have been asked.
    fetched: bool,
    /// With any: a `--prometheus` run too, whose samples (name, labels)
    /// must have these values.
    metrics: Vec<(&'static str, Labels, f64)>,
}

/// A sample's labels, as `Exposition::value` takes them.
type Labels = Vec<(&'static str, &'static str)>;

fn row(name: &'static str, policy: Https, status: i32, summary: &'static str) -> Row {
    Row {
        name,
        policy,
        policy_leaf: Leaf::Valid,
        txt: vec![("_mta-sts.d.test", STS_TXT)],
        args: &[],
        timeout: "3",
        status,
        summary,
        lines: &[],
        json: Vec::new(),
        fetched: true,
        metrics: Vec::new(),
    }
}

/// The zone: MX 10 mx1.d.test, MX 20 mx2.d.test (both 127.0.0.1), the
/// policy host, the redirect target and the row's TXT records.
fn zone(row: &Row, policy_ip: &str, elsewhere_ip: &str) -> Zone {
    let mut zone = Zone::new()
        .mx_at(DOMAIN, 10, MX[0], "127.0.0.1")
        .mx_at(DOMAIN, 20, MX[1], "127.0.0.1")
        .a("mta-sts.d.test", policy_ip)
        .a(ELSEWHERE, elsewhere_ip);
    for (name, text) in &row.txt {
        zone = zone.txt(name, &[text]);
    }
    zone
}

/// Plays every row; returns early, SKIPPED, without root powers.
fn check_rows(rows: Vec<Row>) {
    for row in rows {
        eprintln!("row: {}", row.name);
        let dir = TempDir::new("check-mx-mta-sts");
        let mx_pki = Pki::with_names(&MX, Leaf::Valid);
        let policy_pki = Pki::with_leaf("mta-sts.d.test", row.policy_leaf);
        let ca = dir.file("ca.pem", &format!("{}{}", mx_pki.ca_pem, policy_pki.ca_pem));
        let ca = ca.display().to_string();
        let mx = TestServer::starttls(StartTls::Handshake(mx_pki));
        let Some(host) = HttpsServer::start_or_skip(policy_pki.clone(), row.policy.clone()) else {
            return;
        };
        let Some(elsewhere) = HttpsServer::start_or_skip(policy_pki, enforce_all()) else {
            return;
        };
        let Some(dns) = DnsServer::start_or_skip(zone(&row, &host.ip(), &elsewhere.ip())) else {
            return;
        };
        let port = mx.port().to_string();
        let run = |output: &[&str]| {
            let args = [&["--ca-file", &ca], row.args, output, &[DOMAIN]].concat();
            check_mx_via(&dns, QUICK_RESOLVER, &port, row.timeout, &args)
        };
        let Some(text) = run(&[]) else {
            return;
        };
        let output = assert_plugin(&text, row.status, row.summary);
        for line in row.lines {
            assert!(text.stdout.lines().any(|l| l == *line), "{line}: {text:#?}");
        }
        let Some(json_run) = run(&["--json"]) else {
            return;
        };
        let report = json_document(&json_run);
        assert_schema(&report);
        assert_eq!(json_run.status, Some(row.status), "{json_run:#?}");
        assert_eq!(report["exit_status"], row.status, "{report}");
        for (pointer, value) in &row.json {
            assert_eq!(report.pointer(pointer), Some(value), "{pointer}: {report}");
        }
        let mut runs = 2;
        if !row.metrics.is_empty() {
            runs += 1;
            let Some(run) = run(&["--prometheus"]) else {
                return;
            };
            assert_eq!(run.status, Some(row.status), "{run:#?}");
            let exposition =
                Exposition::parse(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"));
            for (name, labels, value) in &row.metrics {
                assert_eq!(
                    exposition.value(name, labels),
                    Some(*value),
                    "{name} {labels:?}: {run:#?}"
                );
            }
            let not_after = exposition.value("check_mx_mta_sts_policy_cert_not_after", &[]);
            assert!(not_after.is_some_and(|t| t > 1.0e9), "{run:#?}");
        }
        let asked = dns.asked_lines();
        if row.args.contains(&"--no-mta-sts") {
            assert!(!asked.iter().any(|q| q.contains("_mta-sts")), "{asked:?}");
        } else {
            assert!(
                asked.iter().any(|q| q.ends_with("TXT _mta-sts.d.test")),
                "{asked:?}"
            );
            assert!(
                output.metric("mx1.d.test[127.0.0.1] tls").is_some(),
                "{text:#?}"
            );
        }
        // A connection a run when fetched; none otherwise.
        let wanted = if row.fetched { runs } else { 0 };
        assert_eq!(host.connections(), wanted, "{:?}", host.log());
        // A redirect is never followed, not even looked up.
        assert_eq!(elsewhere.connections(), 0, "{:?}", elsewhere.log());
        assert!(!asked.iter().any(|q| q.contains(ELSEWHERE)), "{asked:?}");
        if row.policy_leaf == Leaf::Valid
            && row.fetched
            && matches!(row.policy, Https::Answer { .. })
        {
            assert!(
                host.log()
                    .iter()
                    .any(|l| l.ends_with(" GET /.well-known/mta-sts.txt HTTP/1.1")),
                "{:?}",
                host.log()
            );
        }
    }
}

#[test]
fn mta_sts_policies_are_fetched_and_judged() {
    let uncovered_json = |mode: &str| {
        vec![
            ("/mta_sts/mode", json!(mode)),
            ("/mta_sts/mx", json!(["mx1.d.test"])),
            ("/mta_sts/uncovered", json!(["mx2.d.test"])),
        ]
    };
    let oversized = {
        let mut body = policy("enforce", &["*.d.test"]);
        while body.len() <= 65_536 {
            body.push_str("x-padding: 0123456789abcdef0123456789abcdef\r\n");
        }
        // No Content-Length: the body runs to the end of the connection,
        // so the cap on what is read is what stops it.
        Https::Answer {
            status: "200 OK",
            headers: vec![("Content-Type", "text/plain".to_owned())],
            body: body.into_bytes(),
        }
    };
    check_rows(vec![
        Row {
            json: vec![
                ("/status", json!("OK")),
                ("/mta_sts/txt", json!(STS_TXT)),
                ("/mta_sts/id", json!("20240101")),
                (
                    "/mta_sts/policy_url",
                    json!("https://mta-sts.d.test/.well-known/mta-sts.txt"),
                ),
                ("/mta_sts/version", json!("STSv1")),
                ("/mta_sts/mode", json!("enforce")),
                ("/mta_sts/mx", json!(["mx1.d.test", "*.d.test"])),
                ("/mta_sts/max_age", json!(86400)),
                ("/mta_sts/uncovered", json!([])),
                ("/mta_sts/policy_host/verified", json!(true)),
                ("/mta_sts/policy_host/days_left", json!(365)),
                ("/mta_sts/error", Value::Null),
                ("/tls_rpt", Value::Null),
            ],
            lines: &[],
            ..row(
                "enforce, every MX host covered",
                enforce_all(),
                0,
                "2 of 2 MX hosts of d.test up, 2 addresses, 2 with TLS",
            )
        },
        Row {
            json: uncovered_json("enforce"),
            metrics: vec![
                (
                    "check_mx_mta_sts_covered",
                    vec![
                        ("mx", "mx1.d.test"),
                        ("preference", "10"),
                        ("address", "127.0.0.1"),
                        ("family", "ipv4"),
                    ],
                    1.0,
                ),
                (
                    "check_mx_mta_sts_covered",
                    vec![
                        ("mx", "mx2.d.test"),
                        ("preference", "20"),
                        ("address", "127.0.0.1"),
                        ("family", "ipv4"),
                    ],
                    0.0,
                ),
                ("check_mx_mta_sts_mode_info", vec![("mode", "enforce")], 1.0),
                ("check_mx_mta_sts_max_age_seconds", vec![], 86400.0),
                ("check_mx_status", vec![], 2.0),
            ],
            ..row(
                "enforce, the backup MX not covered",
                Https::policy(&policy("enforce", &["mx1.d.test"])),
                2,
                "MTA-STS policy (enforce) does not cover mx2.d.test",
            )
        },
        Row {
            json: uncovered_json("testing"),
            ..row(
                "testing, the backup MX not covered",
                Https::policy(&policy("testing", &["mx1.d.test"])),
                1,
                "MTA-STS policy (testing) does not cover mx2.d.test",
            )
        },
        Row {
            json: vec![
                ("/mta_sts/mode", Value::Null),
                (
                    "/mta_sts/error",
                    json!("mta-sts.d.test: HTTP 404 Not Found"),
                ),
                ("/mta_sts/policy_host/verified", json!(true)),
            ],
            ..row(
                "no policy: 404",
                Https::status("404 Not Found", vec![]),
                1,
                "MTA-STS policy unavailable: mta-sts.d.test: HTTP 404 Not Found",
            )
        },
        row(
            "a bad policy: its line named",
            Https::policy("version: STSv1\nmode: enforce\nmx mx1.d.test\nmax_age: 86400\n"),
            1,
            "MTA-STS policy unavailable: policy line 3: \"mx mx1.d.test\" is not \"key: value\"",
        ),
        row(
            "a redirect is refused",
            Https::status(
                "301 Moved Permanently",
                vec![(
                    "Location",
                    format!("https://{ELSEWHERE}/.well-known/mta-sts.txt"),
                )],
            ),
            1,
            "MTA-STS policy unavailable: mta-sts.d.test: HTTP 301 Moved Permanently redirects to \"https://elsewhere.d.test/.well-known/mta-sts.txt\", not followed",
        ),
        row(
            "a policy over 64 KiB",
            oversized,
            1,
            "MTA-STS policy unavailable: mta-sts.d.test: policy larger than 65536 bytes",
        ),
        row(
            "not text/plain",
            Https::Answer {
                status: "200 OK",
                headers: vec![("Content-Type", "text/html".to_owned())],
                body: policy("enforce", &["*.d.test"]).into_bytes(),
            },
            1,
            "MTA-STS policy unavailable: mta-sts.d.test: Content-Type \"text/html\", not text/plain",
        ),
        Row {
            policy_leaf: Leaf::ExpiresInDays(5),
            json: vec![
                ("/mta_sts/mode", json!("enforce")),
                ("/mta_sts/policy_host/days_left", json!(5)),
                (
                    "/mta_sts/policy_host/certificate/subject",
                    json!("CN=mta-sts.d.test"),
                ),
            ],
            ..row(
                "the policy host's certificate expires in 5 days",
                enforce_all(),
                2,
                "MTA-STS policy host certificate expires in 5 days",
            )
        },
        Row {
            policy_leaf: Leaf::SelfSigned,
            json: vec![
                ("/mta_sts/mode", Value::Null),
                ("/mta_sts/policy_host/verified", json!(false)),
                ("/mta_sts/policy_host/days_left", json!(365)),
            ],
            ..row(
                "the policy host's certificate does not verify",
                enforce_all(),
                1,
                "MTA-STS policy unavailable: mta-sts.d.test: certificate not verified",
            )
        },
        Row {
            txt: vec![
                ("_mta-sts.d.test", STS_TXT),
                ("_smtp._tls.d.test", TLS_RPT_TXT),
            ],
            lines: &["TLS-RPT: v=TLSRPTv1; rua=mailto:tls@d.test (reports to mailto:tls@d.test)"],
            json: vec![
                ("/tls_rpt/record", json!(TLS_RPT_TXT)),
                ("/tls_rpt/rua", json!(["mailto:tls@d.test"])),
            ],
            ..row(
                "a TLS-RPT record is reported",
                enforce_all(),
                0,
                "2 of 2 MX hosts of d.test up",
            )
        },
        Row {
            txt: vec![],
            fetched: false,
            lines: &["MTA-STS: OK - no policy published (no _mta-sts TXT record)"],
            json: vec![
                ("/mta_sts/txt", Value::Null),
                ("/mta_sts/status", json!("OK")),
            ],
            ..row(
                "no TXT record: nothing fetched, fine",
                enforce_all(),
                0,
                "2 of 2 MX hosts of d.test up",
            )
        },
        Row {
            args: &["--no-mta-sts"],
            fetched: false,
            json: vec![("/mta_sts", Value::Null), ("/tls_rpt", Value::Null)],
            ..row(
                "--no-mta-sts: no _mta-sts query",
                Https::status("404 Not Found", vec![]),
                0,
                "2 of 2 MX hosts of d.test up",
            )
        },
    ]);
}

#[test]
fn a_silent_policy_host_ends_by_the_timeout() {
    let started = std::time::Instant::now();
    check_rows(vec![Row {
        timeout: "2",
        json: vec![("/mta_sts/error", json!("timed out"))],
        ..row(
            "silent policy host",
            Https::Silent,
            2,
            "MTA-STS policy unavailable: timed out",
        )
    }]);
    // Two runs of -t 2, and a margin for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
