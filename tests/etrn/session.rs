//! One etrn session against one server: the dialogue, the ETRN replies
//! (RFC 1985 §5), greetings other than 220, EHLO refusals, timeouts,
//! broken servers and the `-v` transcript.

use std::time::Duration;

use crate::support::*;
use crate::*;

/// Sessions that end well: `etrn ARGS` against `server` exits 0 and the
/// server got exactly these ETRN lines.
macro_rules! accepted {
    ($($(#[$doc:meta])* $name:ident: $server:expr, $args:expr => $etrn:expr;)*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            let server = $server;
            let run = etrn_to(&server, $args);
            assert_status(&run, 0);
            assert_eq!(server.etrn_lines(), $etrn);
        }
    )*};
}

accepted! {
    queue_and_domain_arguments_are_sent_verbatim:
        accepting_server(), &["127.0.0.1", "@example.test", "#queue1"]
        => ["ETRN @example.test", "ETRN #queue1"];
    bracketed_ipv4_literal_server_works:
        accepting_server(), &["[127.0.0.1]", "a.test"] => ["ETRN a.test"];
    a_255_octet_client_is_accepted:
        accepting_server(), &["127.0.0.1", &"a".repeat(255)]
        => [format!("ETRN {}", "a".repeat(255))];
    etrn_keyword_in_ehlo_is_case_insensitive:
        smtp_server("220 mx.test ESMTP", &[
            ("EHLO", "250-mx.test\n250-etrn\n250 8bitmime"),
            ("ETRN", "250 Queuing started"),
        ]),
        &["127.0.0.1", "a.test"] => ["ETRN a.test"];
}

/// Sessions the server spoils: `etrn --timeout T 127.0.0.1 a.test` exits 3,
/// and then each check looks at the run and the server.
macro_rules! exit_3 {
    ($($(#[$doc:meta])* $name:ident: $script:expr, timeout $t:literal $(, $check:expr)*;)*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            let server = script_server($script);
            let run = etrn_a_test(&server, &["--timeout", $t]);
            assert_status(&run, 3);
            $( ($check)(&run, &server); )*
        }
    )*};
}

/// The run took less than `ms` milliseconds.
fn faster_than(ms: u64) -> impl Fn(&Run, &TestServer) {
    move |run, _| assert!(run.elapsed < Duration::from_millis(ms), "{run:#?}")
}

/// stderr mentions `text`.
fn stderr_mentions(text: &'static str) -> impl Fn(&Run, &TestServer) {
    move |run, _| assert!(run.stderr.contains(text), "{run:#?}")
}

/// The server never got a line starting with `verb`.
fn never_sent(verb: &'static str) -> impl Fn(&Run, &TestServer) {
    move |_, server| {
        let got = server.received_when_idle();
        assert!(!got.iter().any(|l| l.starts_with(verb)), "{got:?}");
    }
}

exit_3! {
    server_closing_after_greeting_exits_3:
        vec![line("220 mx.test ESMTP"), Step::Close], timeout "3", faster_than(2000);
    server_closing_instead_of_answering_etrn_exits_3:
        vec![line("220 mx.test ESMTP"), reply("EHLO", EHLO_ETRN), expect("ETRN"), Step::Close],
        timeout "3", faster_than(2000), stderr_mentions("ETRN a.test");
    server_silent_after_etrn_times_out_with_exit_3:
        vec![line("220 mx.test ESMTP"), reply("EHLO", EHLO_ETRN)],
        timeout "1", faster_than(2500), stderr_mentions("ETRN a.test"),
        |_: &Run, server: &TestServer| {
            assert!(server.wait_received("ETRN a.test", IDLE), "{:?}", server.log());
        };
    endless_slow_greeting_is_cut_off_by_the_timeout:
        vec![Step::Drip {
            bytes: "220-still greeting\r\n".repeat(100).into_bytes(),
            every: Duration::from_millis(10),
        }],
        timeout "1", faster_than(2500), never_sent("EHLO");
    ehlo_answered_421_exits_3_without_helo_or_etrn:
        vec![
            line("220 mx.test ESMTP"),
            serve(&[
                ("EHLO", "421 4.3.2 shutting down"),
                ("HELO", "250 mx.test"),
                ("ETRN", "250 ok"),
            ]),
        ],
        timeout "2", never_sent("ETRN"), never_sent("HELO"), stderr_mentions("421");
}

#[test]
fn done_when_two_clients_accepted_exit_0_silently_with_exact_dialogue() {
    let server = accepting_server();
    let run = etrn_to(&server, &["127.0.0.1", "a.test", "b.test"]);
    assert_status(&run, 0);
    assert_eq!(run.stdout, "", "{run:#?}");
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(
        server.received_when_idle(),
        ["EHLO client.test", "ETRN a.test", "ETRN b.test", "QUIT"]
    );
    assert_eq!(server.connections(), 1);
}

#[test]
fn no_etrn_in_ehlo_reply_exits_1_without_sending_etrn_but_quits() {
    let ehlo_without_etrn = "250-mx.test Hello\n250-PIPELINING\n250 8BITMIME";
    let server = smtp_server(
        "220 mx.test ESMTP",
        &[("EHLO", ehlo_without_etrn), ("ETRN", "250 ok")],
    );
    let run = etrn_a_test(&server, &[]);
    assert_status(&run, 1);
    let got = server.received_when_idle();
    assert!(!got.iter().any(|l| l.starts_with("ETRN")), "{got:?}");
    assert_eq!(got.last().map(String::as_str), Some("QUIT"), "{got:?}");
    assert!(
        one_stderr_line(&run).contains("ETRN not supported"),
        "{run:#?}"
    );
}

#[test]
fn etrn_reply_codes_map_to_exit_statuses() {
    let cases = [
        ("250 Queuing started", 0),
        ("251 OK, no messages waiting for node a.test", 0),
        ("252 OK, pending messages for node a.test started", 0),
        ("253 OK, 14 pending messages for node a.test started", 0),
        ("458 Unable to queue messages for node a.test", 1),
        ("459 Node a.test not allowed: unknown", 1),
        ("500 5.5.1 Command unrecognized", 1),
        ("501 5.5.4 Syntax error in parameters", 1),
        ("502 5.5.1 Command not implemented", 1),
        ("450 4.7.1 Try again later", 1),
    ];
    for (reply, expected) in cases {
        let server = etrn_server(&[("ETRN", reply)]);
        let run = etrn_a_test(&server, &[]);
        assert_eq!(run.status, Some(expected), "reply {reply:?}: {run:#?}");
        no_panic(&run);
        assert_eq!(run.stdout, "", "reply {reply:?}: {run:#?}");
        if expected == 0 {
            assert_eq!(run.stderr, "", "reply {reply:?}: {run:#?}");
        } else {
            assert_eq!(run.stderr.lines().count(), 1, "reply {reply:?}: {run:#?}");
            let code = &reply[..3];
            assert!(run.stderr.contains(code), "reply {reply:?}: {run:#?}");
        }
        assert_eq!(
            server.received_when_idle(),
            ["EHLO client.test", "ETRN a.test", "QUIT"],
            "reply {reply:?}"
        );
    }
}

/// The `-v` result line of `client`, or a failure.
fn result_line<'a>(run: &'a Run, client: &str) -> &'a str {
    let prefix = format!("{client}: ");
    let found = run.stdout.lines().find(|l| l.starts_with(&prefix));
    found.unwrap_or_else(|| panic!("no result line for {client}: {run:#?}"))
}

#[test]
fn reply_253_verbose_shows_the_pending_message_count() {
    let reply = "253 OK, 14 pending messages for node a.test started";
    let server = etrn_server(&[("ETRN", reply)]);
    let run = etrn_a_test(&server, &["-v"]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "", "{run:#?}");
    let result = result_line(&run, "a.test");
    assert!(result.contains("accepted"), "{result}");
    assert!(result.contains("14"), "{result}");
    assert!(result.contains("pending"), "{result}");
}

#[test]
fn reply_459_exits_1_with_one_stderr_line_naming_server_client_and_reply() {
    let server = etrn_server(&[("ETRN", "459 <a.test>: node not allowed")]);
    let run = etrn_a_test(&server, &[]);
    assert_status(&run, 1);
    assert_eq!(run.stdout, "", "{run:#?}");
    let l = one_stderr_line(&run);
    assert!(l.contains("127.0.0.1"), "{l}");
    assert!(l.contains("ETRN a.test"), "{l}");
    assert!(l.contains("459"), "{l}");
    assert!(l.contains("node not allowed"), "{l}");
}

#[test]
fn refusal_of_first_client_still_asks_the_second() {
    let refusal = "458 Unable to queue messages for node a.test";
    let server = etrn_server(&[("ETRN a.test", refusal), ("ETRN", "250 Queuing started")]);
    let run = etrn_to(&server, &["127.0.0.1", "a.test", "b.test"]);
    assert_status(&run, 1);
    assert_eq!(server.etrn_lines(), ["ETRN a.test", "ETRN b.test"]);
    let last = server.received_when_idle().pop();
    assert_eq!(last.as_deref(), Some("QUIT"));
    // Only the refusal is reported.
    let l = one_stderr_line(&run);
    assert!(l.contains("ETRN a.test"), "{run:#?}");
    assert!(l.contains("458"), "{run:#?}");
}

#[test]
fn non_220_greeting_exits_3_and_the_server_sees_no_ehlo() {
    for greeting in [
        "421 mx.test busy, try later",
        "554 mx.test no SMTP service here",
    ] {
        let server = greeting_server(greeting);
        let run = etrn_a_test(&server, &["--timeout", "2"]);
        assert_status(&run, 3);
        let got = server.received_when_idle();
        assert!(got.iter().all(|l| l == "QUIT"), "{greeting}: {got:?}");
        assert!(run.stderr.contains(&greeting[..3]), "{run:#?}");
    }
}

#[test]
fn silent_server_times_out_with_exit_3() {
    // The kernel completes the handshake, but nobody ever accepts.
    let (_listener, addr) = silent_listener("127.0.0.1:0");
    let run = etrn_a_test(&addr, &["--timeout", "1"]);
    assert_status(&run, 3);
    assert!(run.elapsed >= Duration::from_millis(900), "{run:#?}");
    assert!(run.elapsed < Duration::from_millis(2500), "{run:#?}");
    assert!(!run.stderr.is_empty(), "{run:#?}");
}

#[test]
fn refused_connection_exits_3_fast() {
    let run = etrn_a_test(&refused_addr(), &["--timeout", "5"]);
    assert_status(&run, 3);
    assert!(run.elapsed < Duration::from_secs(3), "{run:#?}");
    assert!(run.stderr.contains("127.0.0.1"), "{run:#?}");
}

#[test]
fn ehlo_refused_helo_accepted_exits_1_without_etrn() {
    let server = smtp_server(
        "220 mx.test SMTP",
        &[
            ("EHLO", "500 5.5.1 Command unrecognized"),
            ("HELO", "250 mx.test"),
            ("ETRN", "250 ok"),
        ],
    );
    let run = etrn_a_test(&server, &[]);
    assert_status(&run, 1);
    let got = server.received_when_idle();
    let wanted = ["EHLO client.test", "HELO client.test", "QUIT"];
    assert_eq!(got, wanted, "{run:#?}");
    assert!(run.stderr.contains("ETRN not supported"), "{run:#?}");
}

#[test]
fn ipv6_literal_servers_work_bare_and_bracketed() {
    for host in ["::1", "[::1]"] {
        let accepting = etrn_script(&[("ETRN", "250 Queuing started")]);
        let Some(server) = ipv6_server(accepting) else {
            return;
        };
        let run = etrn_to(&server, &[host, "a.test"]);
        assert_status(&run, 0);
        assert_eq!(server.etrn_lines(), ["ETRN a.test"], "{host}");
    }
}

#[test]
fn multi_line_refusal_with_control_characters_is_still_one_harmless_stderr_line() {
    let refusal = "459-<a.test>: node not allowed\n459 see \u{1b}[2J policy";
    let script = vec![
        line("220 mx.test ESMTP"),
        reply("EHLO", EHLO_ETRN),
        reply("ETRN", refusal),
        serve(&[]),
    ];
    let server = script_server(script);
    let run = etrn_a_test(&server, &[]);
    assert_status(&run, 1);
    let l = one_stderr_line(&run);
    assert!(!l.contains('\u{1b}'), "{run:#?}");
    assert!(l.contains("node not allowed"), "{run:#?}");
    assert!(l.contains("policy"), "{run:#?}");
}

#[test]
fn etrn_answered_421_stops_the_session_and_reports_the_reply() {
    // RFC 5321 §3.8: 421 = the server is closing; the next client is not
    // asked, and the error names the 421 rather than a broken pipe.
    let server = etrn_server(&[("ETRN a.test", "421 4.3.2 Shutting down")]);
    let run = etrn_to(&server, &["127.0.0.1", "a.test", "b.test"]);
    assert_status(&run, 3);
    assert!(run.stderr.contains("ETRN a.test: 421"), "{run:#?}");
    server.wait_idle(Duration::from_secs(2));
    let got = server.received();
    assert!(!got.iter().any(|l| l == "ETRN b.test"), "{got:?}");
}

#[test]
fn lines_sent_before_our_command_are_never_taken_as_its_reply() {
    // `250 early` arrives with the greeting, before EHLO: it must not be
    // read as the EHLO reply (it would say "no ETRN"); the session fails.
    let early = send("220 mx.test ready\r\n250 early\r\n");
    let answers = serve(&[("EHLO", EHLO_ETRN), ("ETRN", "250 Queuing started")]);
    let server = script_server(vec![early, answers]);
    let run = etrn_a_test(&server, &[]);
    assert_status(&run, 3);
    assert!(run.stderr.contains("spoke before our command"), "{run:#?}");
    server.wait_idle(Duration::from_secs(2));
    let got = server.received();
    assert!(!got.iter().any(|l| l.starts_with("ETRN")), "{got:?}");
}

#[test]
fn verbose_shows_the_dialogue_and_one_result_line_per_client() {
    let server = etrn_server(&[
        ("ETRN b.test", "459 <b.test>: node not allowed"),
        ("ETRN", "250 Queuing started"),
    ]);
    let run = etrn_to(&server, &["-v", "127.0.0.1", "a.test", "b.test"]);
    assert_status(&run, 1);
    let out: Vec<&str> = run.stdout.lines().collect();
    let from_server = ["220 mx.test ESMTP ready", "250-ETRN", "250 Queuing started"];
    let ours = [">>> EHLO client.test", ">>> ETRN a.test", ">>> ETRN b.test"];
    for wanted in from_server.iter().chain(&ours).chain(&[">>> QUIT"]) {
        assert!(out.contains(wanted), "missing {wanted:?}: {run:#?}");
    }
    // The dialogue is in order.
    let pos = |l: &str| out.iter().position(|x| *x == l).expect("present");
    assert!(pos(">>> EHLO client.test") < pos(">>> ETRN a.test"));
    assert!(pos(">>> ETRN a.test") < pos(">>> ETRN b.test"));
    let a = result_line(&run, "a.test");
    assert!(a.contains("accepted"), "{a}");
    assert!(a.contains("250 Queuing started"), "{a}");
    let b = result_line(&run, "b.test");
    assert!(b.contains("refused"), "{b}");
    assert!(b.contains("459"), "{b}");
    // The failure still gets its stderr line, and -v says what the
    // server's admin usually has to change.
    let err: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(err.len(), 2, "{run:#?}");
    assert!(err[0].contains("459"), "{run:#?}");
    for setting in [
        "fast_flush_domains",
        "smtpd_etrn_restrictions",
        "acl_smtp_etrn",
    ] {
        assert!(err[1].contains(setting), "{run:#?}");
    }
}
