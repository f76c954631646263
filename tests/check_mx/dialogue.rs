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

const CONNECT: &str = "127.0.0.1 connect";
const GREETING: &str = "127.0.0.1 greeting";
const TLS: &str = "127.0.0.1 tls";
const DAYS: &str = "127.0.0.1 cert_days";

/// The metrics of one address, in the order a check measures them: where
/// a check stops, those after are `U`.
const METRICS: [&str; 4] = [CONNECT, GREETING, TLS, DAYS];

/// A server on 127.0.0.1 playing `script`, checked with `args`: the exit
/// status, the start of the summary, and the metrics of [`METRICS`] up to
/// `last_measured` have a value, the rest are `U`. One address, one
/// detail line, within the 5 s timeout.
fn check_dialogue(
    script: Vec<Step>,
    args: &[&str],
    status: i32,
    summary: &str,
    last_measured: &str,
) {
    let server = script_server(script);
    let run = check_local(&server, args);
    let output = assert_plugin(&run, status, summary);
    let Some(last) = METRICS.iter().position(|m| *m == last_measured) else {
        panic!("{last_measured} is none of {METRICS:?}");
    };
    let (measured, unknown) = METRICS.split_at(last + 1);
    for label in measured {
        assert!(output.metric(label).is_some(), "{label}: {run:#?}");
    }
    for label in unknown {
        assert_eq!(output.metric(label), None, "{label}: {run:#?}");
    }
    let up = output.metric("mx_up").zip(output.metric("mx_down"));
    assert_eq!(up.map(|(up, down)| up + down), Some(1.0), "{run:#?}");
    assert_eq!(output.details.len(), 1, "one line per address: {run:#?}");
    assert_within(&run, Duration::from_secs(7));
}

/// One `#[test]` a row: `name: script, args => status, summary, measured
/// to METRIC;` (see [`check_dialogue`]).
macro_rules! dialogues {
    ($($(#[$doc:meta])* $name:ident: $script:expr, $args:expr
        => $status:literal, $summary:literal, measured to $last:expr;)*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            check_dialogue($script, &$args, $status, $summary, $last);
        }
    )*};
}

dialogues! {
    /// No STARTTLS offered: OK.
    no_starttls_offered_is_ok: greets(EHLO_PLAIN), []
        => 0, "1 of 1 MX host up, 1 address, 0 with TLS", measured to GREETING;
    /// No STARTTLS offered with --require-tls: CRITICAL.
    no_starttls_offered_with_require_tls_is_critical: greets(EHLO_PLAIN), ["--require-tls"]
        => 2, "127.0.0.1 offers no STARTTLS", measured to GREETING;
    /// STARTTLS refused with 454: WARNING.
    starttls_refused_is_a_warning: vec![
        line("220 mx.test ESMTP"),
        serve(&[("EHLO", EHLO_STARTTLS), ("STARTTLS", "454 4.7.0 TLS not available")]),
    ], []
        => 1, "127.0.0.1 refused STARTTLS: 454 4.7.0 TLS not available", measured to GREETING;
    /// A multi-line greeting written one byte at a time, above -w: WARNING.
    a_dripped_multi_line_greeting_above_w_is_a_warning: vec![
        Step::Drip {
            bytes: b"220-mx.test ESMTP\r\n220 slow but ready\r\n".to_vec(),
            every: Duration::from_millis(15),
        },
        serve(&[("EHLO", EHLO_PLAIN)]),
    ], ["-w", "0.3", "-c", "4"]
        => 1, "127.0.0.1 greeting took 0.", measured to GREETING;
    /// A greeting refused with 554: CRITICAL.
    a_greeting_refused_with_554_is_critical:
        vec![line("554 mx.test go away"), Step::Close], []
        => 2, "127.0.0.1 down at greeting: 554 mx.test go away", measured to CONNECT;
    /// 220 on the first line only is not a greeting.
    a_220_on_the_first_line_only_is_no_greeting:
        vec![line("220-mx.test\n554 no"), Step::Close], []
        => 2, "127.0.0.1 down at greeting", measured to CONNECT;
    /// Closed right after the greeting: down at EHLO.
    closed_after_the_greeting_is_down_at_ehlo:
        vec![line("220 mx.test ESMTP"), Step::Close], []
        => 2, "127.0.0.1 down at EHLO: ", measured to GREETING;
    /// Silent: timed out at the greeting, within the timeout.
    silent_times_out_at_the_greeting: vec![], ["-t", "1"]
        => 2, "127.0.0.1 timed out at greeting", measured to CONNECT;
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

/// A server playing `script`, checked with `-v` and `args`: the status and
/// the summary are those without `-v`, and the one detail line is followed
/// by the dialogue with 127.0.0.1, these lines.
fn check_verbose(
    script: Vec<Step>,
    args: &[&str],
    status: i32,
    summary: &str,
    dialogue: &[&str],
) -> Run {
    let server = script_server(script);
    let run = check_local(&server, args);
    let output = assert_plugin(&run, status, summary);
    let shown = [&["dialogue with 127.0.0.1:"], dialogue].concat();
    assert_eq!(
        output.details.get(1..).unwrap_or_default(),
        shown,
        "{run:#?}"
    );
    run
}

/// `-v`: after the detail lines, the dialogue of each address, server
/// lines as received and ours as `>>> CMD`; a `|` or control character
/// from the server never reaches the plugin output (a `|` would start
/// performance data). The status and the first line are those without
/// `-v`; `-vv` is accepted as plugins accept it.
#[test]
fn verbose_shows_each_addresses_dialogue_after_the_details() {
    for verbose in ["-v", "-vv"] {
        let script = vec![
            send("220 mx.test ESMTP a|b\x1b[31m\r\n"),
            serve(&[("EHLO", EHLO_PLAIN)]),
        ];
        let dialogue = [
            "  220 mx.test ESMTP a/b?[31m",
            "  >>> EHLO client.test",
            "  250-mx.test",
            "  250 8BITMIME",
            "  >>> QUIT",
            "  221 bye",
        ];
        let run = check_verbose(script, &[verbose], 0, "1 of 1 MX host up", &dialogue);
        assert_eq!(run.stdout.matches('|').count(), 1, "{run:#?}");
    }
}

/// `-v` with a server that never answers EHLO: the dialogue so far is
/// shown for the check the deadline cut short (its QUIT unanswered).
#[test]
fn verbose_shows_the_dialogue_of_a_check_cut_short() {
    let script = vec![line("220 mx.test ESMTP"), expect("EHLO")];
    let dialogue = [
        "  220 mx.test ESMTP",
        "  >>> EHLO client.test",
        "  >>> QUIT",
    ];
    let run = check_verbose(
        script,
        &["-v", "-t", "1"],
        2,
        "127.0.0.1 timed out at EHLO",
        &dialogue,
    );
    assert_within(&run, Duration::from_secs(3));
}
