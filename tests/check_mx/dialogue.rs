//! The dialogue: greetings slow, multi-line or refused, STARTTLS not
//! offered or refused, servers that close, stay silent or are not there;
//! several hosts on one port; an IPv6-only host.

use super::*;

/// The EHLO reply of a server without STARTTLS.
const EHLO_PLAIN: &str = "250-mx.test\n250 8BITMIME";
/// The EHLO reply of a server that offers STARTTLS.
const EHLO_STARTTLS: &str = "250-mx.test\n250 STARTTLS";

/// A server that greets and answers EHLO with `ehlo` (QUIT: 221).
fn greets(ehlo: &'static str) -> Vec<Step> {
    vec![line("220 mx.test ESMTP"), serve(&[("EHLO", ehlo)])]
}

/// One case: a server on 127.0.0.1 playing `script`, checked with `args`.
struct Row {
    name: &'static str,
    script: Vec<Step>,
    args: &'static [&'static str],
    status: i32,
    summary: &'static str,
    /// Metrics that must have a value (not `U`).
    measured: &'static [&'static str],
    /// Metrics that must be `U`.
    unknown: &'static [&'static str],
}

fn check_rows(rows: Vec<Row>) {
    for row in rows {
        eprintln!("row: {}", row.name);
        let server = script_server(row.script);
        let run = check_local(&server, row.args);
        let output = assert_plugin(&run, row.status, row.summary);
        for label in row.measured {
            assert!(output.metric(label).is_some(), "{label}: {run:#?}");
        }
        for label in row.unknown {
            assert_eq!(output.metric(label), None, "{label}: {run:#?}");
        }
        let up = output.metric("mx_up").zip(output.metric("mx_down"));
        assert_eq!(up.map(|(up, down)| up + down), Some(1.0), "{run:#?}");
        assert_eq!(output.details.len(), 1, "one line per address: {run:#?}");
        assert_within(&run, Duration::from_secs(7));
    }
}

const CONNECT: &str = "127.0.0.1 connect";
const GREETING: &str = "127.0.0.1 greeting";
const TLS: &str = "127.0.0.1 tls";
const DAYS: &str = "127.0.0.1 cert_days";

#[test]
fn greetings_and_starttls() {
    check_rows(vec![
        Row {
            name: "no STARTTLS offered: OK",
            script: greets(EHLO_PLAIN),
            args: &[],
            status: 0,
            summary: "1 of 1 MX host up, 1 address, 0 with TLS",
            measured: &[CONNECT, GREETING],
            unknown: &[TLS, DAYS],
        },
        Row {
            name: "no STARTTLS offered, --require-tls: CRITICAL",
            script: greets(EHLO_PLAIN),
            args: &["--require-tls"],
            status: 2,
            summary: "127.0.0.1 offers no STARTTLS",
            measured: &[CONNECT, GREETING],
            unknown: &[TLS, DAYS],
        },
        Row {
            name: "STARTTLS refused with 454: WARNING",
            script: vec![
                line("220 mx.test ESMTP"),
                serve(&[
                    ("EHLO", EHLO_STARTTLS),
                    ("STARTTLS", "454 4.7.0 TLS not available"),
                ]),
            ],
            args: &[],
            status: 1,
            summary: "127.0.0.1 refused STARTTLS: 454 4.7.0 TLS not available",
            measured: &[CONNECT, GREETING],
            unknown: &[TLS, DAYS],
        },
        Row {
            name: "a multi-line greeting written one byte at a time, above -w",
            script: vec![
                Step::Drip {
                    bytes: b"220-mx.test ESMTP\r\n220 slow but ready\r\n".to_vec(),
                    every: Duration::from_millis(15),
                },
                serve(&[("EHLO", EHLO_PLAIN)]),
            ],
            args: &["-w", "0.3", "-c", "4"],
            status: 1,
            summary: "127.0.0.1 greeting took 0.",
            measured: &[CONNECT, GREETING],
            unknown: &[TLS],
        },
        Row {
            name: "a greeting refused with 554: CRITICAL",
            script: vec![line("554 mx.test go away"), Step::Close],
            args: &[],
            status: 2,
            summary: "127.0.0.1 down at greeting: 554 mx.test go away",
            measured: &[CONNECT],
            unknown: &[GREETING, TLS, DAYS],
        },
        Row {
            name: "220 on the first line only: not a greeting",
            script: vec![line("220-mx.test\n554 no"), Step::Close],
            args: &[],
            status: 2,
            summary: "127.0.0.1 down at greeting",
            measured: &[CONNECT],
            unknown: &[GREETING],
        },
        Row {
            name: "closed right after the greeting: down at EHLO",
            script: vec![line("220 mx.test ESMTP"), Step::Close],
            args: &[],
            status: 2,
            summary: "127.0.0.1 down at EHLO: ",
            measured: &[CONNECT, GREETING],
            unknown: &[TLS],
        },
        Row {
            name: "silent: timed out at the greeting, within the timeout",
            script: vec![],
            args: &["-t", "1"],
            status: 2,
            summary: "127.0.0.1 timed out at greeting",
            measured: &[CONNECT],
            unknown: &[GREETING],
        },
    ]);
}

#[test]
fn nothing_is_written_before_the_greeting() {
    let server = script_server(vec![
        Step::Sleep(Duration::from_millis(300)),
        line("220 mx.test ESMTP"),
        serve(&[("EHLO", EHLO_PLAIN)]),
    ]);
    let run = check_local(&server, &[]);
    assert_plugin(&run, 0, "1 of 1 MX host up");
    let lines = server.received_when_idle();
    assert_eq!(lines, ["EHLO client.test", "QUIT"], "{run:#?}");
}

#[test]
fn a_silent_server_ends_the_run_at_the_timeout() {
    let server = script_server(vec![]);
    let run = check_local(&server, &["-t", "1"]);
    assert_plugin(&run, 2, "127.0.0.1 timed out at greeting");
    assert!(run.elapsed >= Duration::from_secs(1), "{run:#?}");
    assert_within(&run, Duration::from_secs(3));
}

#[test]
fn a_closed_port_is_down() {
    let run = check_local(&refused_addr(), &[]);
    let output = assert_plugin(&run, 2, "127.0.0.1 down at connect: Connection refused");
    assert_eq!(output.metric(CONNECT), None);
    assert_eq!(output.metric("mx_down"), Some(1.0));
}

#[test]
fn one_host_down_of_two_is_a_warning_naming_it_first() {
    let up = || greets(EHLO_PLAIN);
    let Some(servers) = same_port_or_skip(vec![("127.0.0.2", up())]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let hosts = ["-H", "127.0.0.2", "-H", "127.0.0.3"];
    let base = [&["--port", port.as_str(), "-t", TIMEOUT][..], &hosts[..]].concat();
    let run = check_mx(&base);
    let output = assert_plugin(&run, 1, "127.0.0.3 down at connect");
    assert!(
        output
            .summary
            .ends_with("1 of 2 MX hosts up, 2 addresses, 0 with TLS"),
        "{run:#?}"
    );
    assert_eq!(output.metric("mx_up"), Some(1.0));
    assert_eq!(output.metric("mx_down"), Some(1.0));
    assert_eq!(output.parsed("mx_up").crit.as_deref(), Some("1:"));
    let run = check_mx(&[&base[..], &["--min-up", "2"]].concat());
    let output = assert_plugin(&run, 2, "127.0.0.3 down at connect");
    assert_eq!(output.parsed("mx_up").crit.as_deref(), Some("2:"));
}

#[test]
fn a_silent_host_is_critical_even_with_another_up() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets(EHLO_PLAIN)),
        ("127.0.0.3", vec![]),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let hosts = ["-H", "127.0.0.2", "-H", "127.0.0.3"];
    let run = check_mx(&[&["--port", &port, "-t", "1"], &hosts[..]].concat());
    let output = assert_plugin(&run, 2, "127.0.0.3 timed out at greeting");
    assert_eq!(output.details.len(), 2, "{run:#?}");
    assert!(
        output.details[0].starts_with("127.0.0.2: OK - "),
        "{run:#?}"
    );
    assert!(
        output.details[1].starts_with("127.0.0.3: CRITICAL - "),
        "{run:#?}"
    );
    assert_within(&run, Duration::from_secs(3));
}

#[test]
fn an_ipv6_only_host() {
    let Some(server) = ipv6_server(greets(EHLO_PLAIN)) else {
        return;
    };
    let port = server.port().to_string();
    let run = check_mx(&["--port", &port, "-t", TIMEOUT, "-H", "::1"]);
    let output = assert_plugin(&run, 0, "1 of 1 MX host up");
    assert!(output.metric("::1 greeting").is_some(), "{run:#?}");
    let run = check_mx(&["--port", &port, "-t", TIMEOUT, "-4", "-H", "::1"]);
    assert_plugin(&run, 2, "::1 down at lookup: no IPv4 address");
}

/// `-v`: after the detail lines, the dialogue of each address, server
/// lines as received and ours as `>>> CMD`; a `|` or control character
/// from the server never reaches the plugin output (a `|` would start
/// performance data). The status and the first line are those without
/// `-v`; `-vv` is accepted as plugins accept it.
#[test]
fn verbose_shows_each_addresses_dialogue_after_the_details() {
    for verbose in ["-v", "-vv"] {
        let server = script_server(vec![
            send("220 mx.test ESMTP a|b\x1b[31m\r\n"),
            serve(&[("EHLO", EHLO_PLAIN)]),
        ]);
        let run = check_local(&server, &[verbose]);
        let output = assert_plugin(&run, 0, "1 of 1 MX host up");
        let dialogue = [
            "dialogue with 127.0.0.1:",
            "  220 mx.test ESMTP a/b?[31m",
            "  >>> EHLO client.test",
            "  250-mx.test",
            "  250 8BITMIME",
            "  >>> QUIT",
            "  221 bye",
        ];
        assert_eq!(output.details.len(), 1 + dialogue.len(), "{run:#?}");
        assert_eq!(output.details[1..], dialogue, "{run:#?}");
        assert_eq!(run.stdout.matches('|').count(), 1, "{run:#?}");
    }
}

/// `-v` with a server that never answers EHLO: the dialogue so far is
/// shown for the check the deadline cut short (its QUIT unanswered).
#[test]
fn verbose_shows_the_dialogue_of_a_check_cut_short() {
    let server = script_server(vec![line("220 mx.test ESMTP"), expect("EHLO")]);
    let run = check_local(&server, &["-v", "-t", "1"]);
    let output = assert_plugin(&run, 2, "127.0.0.1 timed out at EHLO");
    let dialogue = [
        "dialogue with 127.0.0.1:",
        "  220 mx.test ESMTP",
        "  >>> EHLO client.test",
        "  >>> QUIT",
    ];
    assert_eq!(output.details[1..], dialogue, "{run:#?}");
    assert_within(&run, Duration::from_secs(3));
}
