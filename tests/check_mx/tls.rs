//! Certificates: made here by rcgen for the STARTTLS test server, checked
//! by `check_mx -H 127.0.0.1 --ca-file CA` (the test CA) unless a row
//! says otherwise.

use super::*;

/// One certificate case.
struct Row {
    name: &'static str,
    /// The name in the server certificate.
    san: &'static str,
    leaf: Leaf,
    /// Options after `--port P -t T -H 127.0.0.1 --ca-file CA`.
    args: &'static [&'static str],
    /// Trust the system store instead of the test CA.
    system_store: bool,
    status: i32,
    summary: &'static str,
    /// Whole days left in the `cert_days` metric.
    days: f64,
}

const fn row(name: &'static str, san: &'static str, leaf: Leaf, status: i32) -> Row {
    Row {
        name,
        san,
        leaf,
        args: &[],
        system_store: false,
        status,
        summary: "",
        days: 365.0,
    }
}

fn check_rows(rows: Vec<Row>) {
    for row in rows {
        eprintln!("row: {}", row.name);
        let dir = TempDir::new("check-mx-ca");
        let (server, ca) = tls_server(row.san, row.leaf, &dir);
        let trust: Vec<&str> = if row.system_store {
            vec![]
        } else {
            vec!["--ca-file", &ca]
        };
        let run = check_local(&server, &[&trust[..], row.args].concat());
        let output = assert_plugin(&run, row.status, row.summary);
        assert_eq!(
            output.metric("127.0.0.1 cert_days"),
            Some(row.days),
            "{run:#?}"
        );
        assert!(output.metric("127.0.0.1 tls").is_some(), "{run:#?}");
        assert_eq!(output.details.len(), 1, "{run:#?}");
        // The dialogue went all the way, over TLS after the handshake.
        assert!(server.wait_received("QUIT", IDLE), "{:?}", server.log());
        assert!(
            server.log().iter().any(|l| l.ends_with("*TLS-OK")),
            "{:?}",
            server.log()
        );
    }
}

#[test]
fn certificates_are_verified_and_their_expiry_judged() {
    check_rows(vec![
        Row {
            summary: "1 of 1 MX host up, 1 address, 1 with TLS, first certificate expiry in 365 days",
            ..row("valid", "127.0.0.1", Leaf::Valid, 0)
        },
        Row {
            args: &["--cert-warn", "30", "--cert-crit", "3"],
            summary: "127.0.0.1 certificate expires in 5 days",
            days: 5.0,
            ..row(
                "expiring in 5 days, crit 3: WARNING",
                "127.0.0.1",
                Leaf::ExpiresInDays(5),
                1,
            )
        },
        Row {
            args: &["--cert-warn", "30", "--cert-crit", "7"],
            summary: "127.0.0.1 certificate expires in 5 days",
            days: 5.0,
            ..row(
                "expiring in 5 days, crit 7: CRITICAL",
                "127.0.0.1",
                Leaf::ExpiresInDays(5),
                2,
            )
        },
        Row {
            summary: "127.0.0.1 certificate expired 2 days ago; 127.0.0.1 certificate not verified",
            days: -2.0,
            ..row("expired", "127.0.0.1", Leaf::ExpiresInDays(-2), 2)
        },
        Row {
            summary: "127.0.0.1 certificate not verified: invalid peer certificate: certificate not valid for name",
            ..row("wrong name", "wrong.test", Leaf::Valid, 1)
        },
        Row {
            args: &["--require-tls"],
            summary: "127.0.0.1 certificate not verified",
            ..row(
                "wrong name with --require-tls",
                "wrong.test",
                Leaf::Valid,
                2,
            )
        },
        Row {
            summary: "127.0.0.1 certificate not verified: invalid peer certificate: UnknownIssuer",
            ..row("self-signed", "127.0.0.1", Leaf::SelfSigned, 1)
        },
        Row {
            system_store: true,
            summary: "127.0.0.1 certificate not verified",
            ..row(
                "the test CA is not in the system store",
                "127.0.0.1",
                Leaf::Valid,
                1,
            )
        },
    ]);
}

/// The done-when case of issue 14, word for word.
#[test]
fn a_certificate_expiring_in_5_days_warns_at_crit_3_and_is_critical_at_crit_7() {
    let dir = TempDir::new("check-mx-done-when");
    let (server, ca) = tls_server("127.0.0.1", Leaf::ExpiresInDays(5), &dir);
    for (crit, status, word) in [("3", 1, "MX WARNING"), ("7", 2, "MX CRITICAL")] {
        let options = ["--ca-file", &ca, "--cert-warn", "30", "--cert-crit", crit];
        let run = check_local(&server, &options);
        assert!(run.stdout.starts_with(word), "{run:#?}");
        assert_eq!(run.status, Some(status), "{run:#?}");
        plugin(&run);
    }
}

#[test]
fn a_broken_handshake_warns_and_a_stalled_one_times_out() {
    // (behaviour after the 220 to STARTTLS, options, status, summary)
    let rows: [(StartTls, &[&str], i32, &str); 3] = [
        (
            StartTls::Garbage,
            &["-t", "5"],
            1,
            "127.0.0.1 TLS failed: TLS handshake: ",
        ),
        (
            StartTls::Garbage,
            &["-t", "5", "--require-tls"],
            2,
            "127.0.0.1 TLS failed",
        ),
        (
            StartTls::Stall,
            &["-t", "1"],
            2,
            "127.0.0.1 timed out at STARTTLS",
        ),
    ];
    for (behaviour, args, status, summary) in rows {
        eprintln!("row: {args:?} {summary}");
        let server = TestServer::starttls(behaviour);
        let run = check_local(&server, args);
        let output = assert_plugin(&run, status, summary);
        assert_eq!(output.metric("127.0.0.1 tls"), None, "{run:#?}");
        assert_within(&run, Duration::from_secs(7));
    }
}
