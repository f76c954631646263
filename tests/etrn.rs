//! Integration tests of the `etrn` applet: the built binary against scripted
//! SMTP servers on loopback (127.0.0.0/8) only.
//!
//! Contract (see `etrn --help`): exit 0 when every ETRN got a 2xx, 1 when
//! the server answered but ETRN is unsupported or refused, 2 for usage and
//! configuration errors (nothing is sent), 3 when the server is unreachable,
//! does not greet 220, times out, or required TLS fails.
//!
//! No test causes a DNS query: every run passes `--helo client.test` (else
//! etrn looks up this host's canonical name), servers are IP literals, and
//! the only name looked up is `localhost` (for `-b`), which /etc/hosts
//! answers. Every server has a bounded lifetime, every run a small
//! `--timeout` and the harness's kill timer; time bounds leave a wide
//! margin for a loaded 2-core machine.
//!
//! The STARTTLS tests use a small TLS-capable SMTP server defined below
//! (std threads + rustls), with certificates made by rcgen at run time.

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use support::tls::{Pki, handshake, is_retry};
use support::*;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// How long to wait for a server's connections to finish before reading its
/// log (the client is gone by then; this only covers thread scheduling).
const IDLE: Duration = Duration::from_secs(5);

/// The EHLO reply of a server that offers ETRN (and not STARTTLS).
const EHLO_ETRN: &str = "250-mx.test Hello\n250-ETRN\n250 8BITMIME";
/// The EHLO reply of a server that does not offer ETRN.
const EHLO_NO_ETRN: &str = "250-mx.test Hello\n250-PIPELINING\n250 8BITMIME";

/// `smtpbox etrn ARGS`. JOURNAL_STREAM is set empty so that stderr lines
/// never get sd-daemon prefixes, whatever the test runner's environment.
fn etrn(args: &[&str]) -> Run {
    etrn_env(args, &[])
}

/// `smtpbox etrn --port PORT --helo client.test ARGS` against `server`.
fn etrn_to(server: &ScriptedServer, args: &[&str]) -> Run {
    let port = server.port().to_string();
    let mut all = vec!["--port", port.as_str(), "--helo", "client.test"];
    all.extend_from_slice(args);
    etrn(&all)
}

/// `smtpbox etrn ARGS` with extra environment variables.
fn etrn_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec![("JOURNAL_STREAM", "")];
    all.extend_from_slice(env);
    run_applet_with("etrn", args, &all, true)
}

/// A server that greets 220, offers ETRN in EHLO and answers every ETRN
/// with the reply of the first matching `(prefix, reply)` of `etrn`.
fn etrn_server(etrn: &[(&str, &str)]) -> ScriptedServer {
    ScriptedServer::start("127.0.0.1:0", etrn_script(etrn))
}

fn etrn_script(etrn: &[(&str, &str)]) -> Vec<Step> {
    let mut replies = vec![("EHLO", EHLO_ETRN)];
    replies.extend_from_slice(etrn);
    vec![line("220 mx.test ESMTP ready"), serve(&replies)]
}

/// The usual server: every ETRN answered `250 Queuing started`.
fn accepting_server() -> ScriptedServer {
    etrn_server(&[("ETRN", "250 Queuing started")])
}

/// Waits until the server's connections ended, then returns what it got.
fn received(server: &ScriptedServer) -> Vec<String> {
    assert!(
        server.wait_idle(IDLE),
        "server still busy: {:?}",
        server.log()
    );
    server.received()
}

/// The `ETRN ...` lines a server received, in order.
fn etrn_lines(server: &ScriptedServer) -> Vec<String> {
    received(server)
        .into_iter()
        .filter(|l| l.to_ascii_uppercase().starts_with("ETRN"))
        .collect()
}

fn no_panic(run: &Run) {
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
    assert!(!run.timed_out, "killed by the harness: {run:#?}");
}

fn assert_status(run: &Run, status: i32) {
    no_panic(run);
    assert_eq!(run.status, Some(status), "{run:#?}");
}

/// A usage error: exit 2, nothing on stdout, a message on stderr.
fn assert_usage(run: &Run) {
    assert_status(run, 2);
    assert_eq!(run.stdout, "", "{run:#?}");
    assert!(!run.stderr.trim().is_empty(), "a message: {run:#?}");
}

/// Asserts that `server` never got a connection (after a short wait, in
/// case a connection was on its way).
fn assert_never_connected(server: &ScriptedServer) {
    thread::sleep(Duration::from_millis(300));
    assert_eq!(server.connections(), 0, "{:?}", server.log());
}

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Tests that read ETRN_HOSTS from a defaults file cannot remove an
/// ETRN_HOSTS the test runner itself has (the harness can only add
/// variables), and the environment wins over the file; such tests are
/// skipped then, saying so.
fn etrn_hosts_not_in_environment(test: &str) -> bool {
    if std::env::var_os("ETRN_HOSTS").is_some() {
        eprintln!("{test}: skipped: ETRN_HOSTS is set in the test environment");
        return false;
    }
    true
}

// ---------------------------------------------------------------------------
// 1. The basic session
// ---------------------------------------------------------------------------

#[test]
fn done_when_two_clients_accepted_exit_0_silently_with_exact_dialogue() {
    let server = accepting_server();
    let run = etrn_to(&server, &["127.0.0.1", "a.test", "b.test"]);
    assert_status(&run, 0);
    assert_eq!(run.stdout, "", "{run:#?}");
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(
        received(&server),
        ["EHLO client.test", "ETRN a.test", "ETRN b.test", "QUIT"]
    );
    assert_eq!(server.connections(), 1);
}

#[test]
fn no_etrn_in_ehlo_reply_exits_1_without_sending_etrn_but_quits() {
    let server = ScriptedServer::start(
        "127.0.0.1:0",
        vec![
            line("220 mx.test ESMTP"),
            serve(&[("EHLO", EHLO_NO_ETRN), ("ETRN", "250 ok")]),
        ],
    );
    let run = etrn_to(&server, &["127.0.0.1", "a.test"]);
    assert_status(&run, 1);
    let got = received(&server);
    assert!(!got.iter().any(|l| l.starts_with("ETRN")), "{got:?}");
    assert_eq!(got.last().map(String::as_str), Some("QUIT"), "{got:?}");
    assert!(run.stderr.contains("ETRN not supported"), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
}

// ---------------------------------------------------------------------------
// 3. ETRN replies (RFC 1985 §5)
// ---------------------------------------------------------------------------

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
        let port = server.port().to_string();
        let run = etrn(&[
            "--port",
            &port,
            "--helo",
            "client.test",
            "127.0.0.1",
            "a.test",
        ]);
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
            received(&server),
            ["EHLO client.test", "ETRN a.test", "QUIT"],
            "reply {reply:?}"
        );
    }
}

#[test]
fn reply_253_verbose_shows_the_pending_message_count() {
    let server = etrn_server(&[(
        "ETRN",
        "253 OK, 14 pending messages for node a.test started",
    )]);
    let port = server.port().to_string();
    let run = etrn(&[
        "-v",
        "--port",
        &port,
        "--helo",
        "client.test",
        "127.0.0.1",
        "a.test",
    ]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "", "{run:#?}");
    let result = run
        .stdout
        .lines()
        .find(|l| l.starts_with("a.test: "))
        .unwrap_or_else(|| panic!("no result line for a.test: {run:#?}"));
    assert!(result.contains("accepted"), "{result}");
    assert!(result.contains("14"), "{result}");
    assert!(result.contains("pending"), "{result}");
}

#[test]
fn reply_459_exits_1_with_one_stderr_line_naming_server_client_and_reply() {
    let server = etrn_server(&[("ETRN", "459 <a.test>: node not allowed")]);
    let run = etrn_to(&server, &["127.0.0.1", "a.test"]);
    assert_status(&run, 1);
    assert_eq!(run.stdout, "", "{run:#?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{run:#?}");
    let l = lines[0];
    assert!(l.contains("127.0.0.1"), "{l}");
    assert!(l.contains("ETRN a.test"), "{l}");
    assert!(l.contains("459"), "{l}");
    assert!(l.contains("node not allowed"), "{l}");
}

#[test]
fn refusal_of_first_client_still_asks_the_second() {
    let server = etrn_server(&[
        (
            "ETRN a.test",
            "458 Unable to queue messages for node a.test",
        ),
        ("ETRN", "250 Queuing started"),
    ]);
    let run = etrn_to(&server, &["127.0.0.1", "a.test", "b.test"]);
    assert_status(&run, 1);
    assert_eq!(etrn_lines(&server), ["ETRN a.test", "ETRN b.test"]);
    assert_eq!(received(&server).last().map(String::as_str), Some("QUIT"));
    // Only the refusal is reported.
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(run.stderr.contains("ETRN a.test"), "{run:#?}");
    assert!(run.stderr.contains("458"), "{run:#?}");
}

#[test]
fn queue_and_domain_arguments_are_sent_verbatim() {
    let server = accepting_server();
    let run = etrn_to(&server, &["127.0.0.1", "@example.test", "#queue1"]);
    assert_status(&run, 0);
    assert_eq!(etrn_lines(&server), ["ETRN @example.test", "ETRN #queue1"]);
}

// ---------------------------------------------------------------------------
// 4. Greetings other than 220
// ---------------------------------------------------------------------------

#[test]
fn non_220_greeting_exits_3_and_the_server_sees_no_ehlo() {
    for greeting in [
        "421 mx.test busy, try later",
        "554 mx.test no SMTP service here",
    ] {
        let server = ScriptedServer::start("127.0.0.1:0", vec![line(greeting)]);
        let port = server.port().to_string();
        let run = etrn(&[
            "--port",
            &port,
            "--timeout",
            "2",
            "--helo",
            "client.test",
            "127.0.0.1",
            "a.test",
        ]);
        assert_status(&run, 3);
        let got = received(&server);
        assert!(got.iter().all(|l| l == "QUIT"), "{greeting}: {got:?}");
        assert!(run.stderr.contains(&greeting[..3]), "{run:#?}");
    }
}

// ---------------------------------------------------------------------------
// 5. Timeouts and unreachable servers
// ---------------------------------------------------------------------------

#[test]
fn silent_server_times_out_with_exit_3() {
    let (_listener, addr) = silent_listener("127.0.0.1:0");
    let port = addr.port().to_string();
    let run = etrn(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--helo",
        "client.test",
        "127.0.0.1",
        "a.test",
    ]);
    assert_status(&run, 3);
    assert!(run.elapsed >= Duration::from_millis(900), "{run:#?}");
    assert!(run.elapsed < Duration::from_millis(2500), "{run:#?}");
    assert!(!run.stderr.is_empty(), "{run:#?}");
}

#[test]
fn server_silent_after_etrn_times_out_with_exit_3() {
    let server = ScriptedServer::start(
        "127.0.0.1:0",
        vec![line("220 mx.test ESMTP"), reply("EHLO", EHLO_ETRN)],
    );
    let port = server.port().to_string();
    let run = etrn(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--helo",
        "client.test",
        "127.0.0.1",
        "a.test",
    ]);
    assert_status(&run, 3);
    assert!(run.elapsed < Duration::from_millis(2500), "{run:#?}");
    assert!(
        server.wait_received("ETRN a.test", IDLE),
        "{:?}",
        server.log()
    );
    assert!(run.stderr.contains("ETRN a.test"), "{run:#?}");
}

#[test]
fn refused_connection_exits_3_fast() {
    let addr = refused_addr();
    let port = addr.port().to_string();
    let run = etrn(&[
        "--port",
        &port,
        "--timeout",
        "5",
        "--helo",
        "client.test",
        "127.0.0.1",
        "a.test",
    ]);
    assert_status(&run, 3);
    assert!(run.elapsed < Duration::from_secs(3), "{run:#?}");
    assert!(run.stderr.contains("127.0.0.1"), "{run:#?}");
}

// ---------------------------------------------------------------------------
// 6. EHLO refusals
// ---------------------------------------------------------------------------

#[test]
fn ehlo_refused_helo_accepted_exits_1_without_etrn() {
    let server = ScriptedServer::start(
        "127.0.0.1:0",
        vec![
            line("220 mx.test SMTP"),
            serve(&[
                ("EHLO", "500 5.5.1 Command unrecognized"),
                ("HELO", "250 mx.test"),
                ("ETRN", "250 ok"),
            ]),
        ],
    );
    let run = etrn_to(&server, &["127.0.0.1", "a.test"]);
    assert_status(&run, 1);
    let got = received(&server);
    assert_eq!(
        got,
        ["EHLO client.test", "HELO client.test", "QUIT"],
        "{run:#?}"
    );
    assert!(run.stderr.contains("ETRN not supported"), "{run:#?}");
}

#[test]
fn ehlo_answered_421_exits_3_without_helo_or_etrn() {
    let server = ScriptedServer::start(
        "127.0.0.1:0",
        vec![
            line("220 mx.test ESMTP"),
            serve(&[
                ("EHLO", "421 4.3.2 shutting down"),
                ("HELO", "250 mx.test"),
                ("ETRN", "250 ok"),
            ]),
        ],
    );
    let port = server.port().to_string();
    let run = etrn(&[
        "--port",
        &port,
        "--timeout",
        "2",
        "--helo",
        "client.test",
        "127.0.0.1",
        "a.test",
    ]);
    assert_status(&run, 3);
    let got = received(&server);
    assert!(!got.iter().any(|l| l.starts_with("ETRN")), "{got:?}");
    assert!(!got.iter().any(|l| l.starts_with("HELO")), "{got:?}");
    assert!(run.stderr.contains("421"), "{run:#?}");
}

// ---------------------------------------------------------------------------
// 7. Usage errors: exit 2 and no connection at all
// ---------------------------------------------------------------------------

#[test]
fn crlf_in_client_argument_is_a_usage_error_and_nothing_is_sent() {
    let server = accepting_server();
    let run = etrn_to(&server, &["127.0.0.1", "a.test\r\nQUIT"]);
    assert_usage(&run);
    assert_never_connected(&server);
    // The message must not carry the raw line break to the terminal.
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
}

#[test]
fn bad_client_arguments_are_usage_errors_and_nothing_is_sent() {
    let long = "a".repeat(300);
    let just_too_long = "a".repeat(256);
    let bad = [
        "",
        "a b.test",
        "a\tb.test",
        "@",
        "#",
        "@@a.test",
        "a.test\u{1}",
        "a.test\u{7f}",
        "caf\u{e9}.test",
        &just_too_long,
        &long,
    ];
    let server = accepting_server();
    let port = server.port().to_string();
    for client in bad {
        let run = etrn(&[
            "--port",
            &port,
            "--helo",
            "client.test",
            "127.0.0.1",
            "ok.test",
            client,
        ]);
        assert_usage(&run);
        assert!(run.stderr.contains("client"), "{client:?}: {run:#?}");
    }
    assert_never_connected(&server);
}

#[test]
fn a_255_octet_client_is_accepted() {
    let server = accepting_server();
    let port = server.port().to_string();
    let name = "a".repeat(255);
    let run = etrn(&["--port", &port, "--helo", "client.test", "127.0.0.1", &name]);
    assert_status(&run, 0);
    assert_eq!(etrn_lines(&server), [format!("ETRN {name}")]);
}

#[test]
fn bad_server_host_is_a_usage_error_and_nothing_is_sent() {
    let server = accepting_server();
    let port = server.port().to_string();
    for host in ["127.0.0.1 a.test", "127.0.0.1\r\n", "", "[127.0.0.1"] {
        let run = etrn(&["--port", &port, "--helo", "client.test", host, "a.test"]);
        assert_usage(&run);
        assert!(run.stderr.contains("server"), "{host:?}: {run:#?}");
    }
    assert_never_connected(&server);
}

#[test]
fn bad_helo_name_is_a_usage_error_and_nothing_is_sent() {
    let server = accepting_server();
    let port = server.port().to_string();
    let run = etrn(&[
        "--port",
        &port,
        "--helo",
        "client.test\r\nETRN x.test",
        "127.0.0.1",
        "a.test",
    ]);
    assert_usage(&run);
    assert_never_connected(&server);
}

#[test]
fn ca_file_without_starttls_require_is_a_usage_error() {
    let dir = temp_dir("etrn-ca-opt");
    let pki = Pki::new("127.0.0.1");
    let ca = write_file(&dir, "ca.pem", &pki.ca_pem);
    let server = accepting_server();
    let port = server.port().to_string();
    for mode in [None, Some("opportunistic"), Some("off")] {
        let mut args = vec![
            "--port",
            &port,
            "--helo",
            "client.test",
            "--ca-file",
            s(&ca),
        ];
        if let Some(mode) = mode {
            args.extend(["--starttls", mode]);
        }
        args.extend(["127.0.0.1", "a.test"]);
        let run = etrn(&args);
        assert_usage(&run);
        assert!(run.stderr.contains("--ca-file"), "{mode:?}: {run:#?}");
    }
    assert_never_connected(&server);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn missing_or_empty_ca_file_with_require_is_a_usage_error_and_nothing_is_sent() {
    let dir = temp_dir("etrn-ca-missing");
    let missing = dir.join("no-such-ca.pem");
    let empty = write_file(&dir, "empty.pem", "not a certificate\n");
    let server = accepting_server();
    let port = server.port().to_string();
    for ca in [&missing, &empty] {
        let run = etrn(&[
            "--port",
            &port,
            "--helo",
            "client.test",
            "--starttls",
            "require",
            "--ca-file",
            s(ca),
            "127.0.0.1",
            "a.test",
        ]);
        assert_usage(&run);
        assert!(run.stderr.contains(s(ca)), "{run:#?}");
    }
    assert_never_connected(&server);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn command_line_errors_exit_2() {
    for args in [
        &["--starttls", "sometimes", "127.0.0.1", "a.test"][..],
        &["--port", "0", "127.0.0.1", "a.test"],
        &["--port", "65536", "127.0.0.1", "a.test"],
        &["--timeout", "-1", "127.0.0.1", "a.test"],
        &["--no-such-option", "127.0.0.1", "a.test"],
        &[],
        &["--etrn-hosts", "127.0.0.1"],
        &["--defaults", "/nonexistent", "127.0.0.1", "a.test"],
    ] {
        let mut all = vec!["--helo", "client.test"];
        all.extend_from_slice(args);
        let run = etrn(&all);
        assert_usage(&run);
    }
}

#[test]
fn help_exits_0_and_documents_exit_statuses() {
    let run = etrn(&["--help"]);
    assert_status(&run, 0);
    assert!(run.stdout.contains("Exit status"), "{run:#?}");
    assert!(run.stdout.contains("--etrn-hosts"), "{run:#?}");
}

// ---------------------------------------------------------------------------
// 8. -v transcript
// ---------------------------------------------------------------------------

#[test]
fn verbose_shows_the_dialogue_and_one_result_line_per_client() {
    let server = etrn_server(&[
        ("ETRN b.test", "459 <b.test>: node not allowed"),
        ("ETRN", "250 Queuing started"),
    ]);
    let port = server.port().to_string();
    let run = etrn(&[
        "-v",
        "--port",
        &port,
        "--helo",
        "client.test",
        "127.0.0.1",
        "a.test",
        "b.test",
    ]);
    assert_status(&run, 1);
    let out: Vec<&str> = run.stdout.lines().collect();
    for wanted in [
        "220 mx.test ESMTP ready",
        ">>> EHLO client.test",
        "250-ETRN",
        ">>> ETRN a.test",
        "250 Queuing started",
        ">>> ETRN b.test",
        ">>> QUIT",
    ] {
        assert!(out.contains(&wanted), "missing {wanted:?}: {run:#?}");
    }
    // The dialogue is in order.
    let pos = |l: &str| out.iter().position(|x| *x == l).expect("present");
    assert!(pos(">>> EHLO client.test") < pos(">>> ETRN a.test"));
    assert!(pos(">>> ETRN a.test") < pos(">>> ETRN b.test"));
    let a = out
        .iter()
        .find(|l| l.starts_with("a.test: "))
        .unwrap_or_else(|| panic!("no a.test result: {run:#?}"));
    assert!(a.contains("accepted"), "{a}");
    assert!(a.contains("250 Queuing started"), "{a}");
    let b = out
        .iter()
        .find(|l| l.starts_with("b.test: "))
        .unwrap_or_else(|| panic!("no b.test result: {run:#?}"));
    assert!(b.contains("refused"), "{b}");
    assert!(b.contains("459"), "{b}");
    // The failure still gets its stderr line.
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
}

// ---------------------------------------------------------------------------
// 9. Discovery from sendmail.cf (no client hosts; -b implied)
// ---------------------------------------------------------------------------

#[test]
fn discovery_from_sendmail_cf_asks_every_accepted_name_in_order() {
    let dir = temp_dir("etrn-discovery");
    let lhn = write_file(
        &dir,
        "local-host-names",
        "c1.test\n# a comment\nlocalhost\nc2.test # trailing comment\n",
    );
    let cf = write_file(
        &dir,
        "sendmail.cf",
        &format!(
            "# sendmail.cf excerpt\nCwlocalhost c0.test\nFw-o {} %[^\\#]\nFw-o /nonexistent/smtpbox-test/names\nCmlocal\n",
            lhn.display()
        ),
    );
    // One server is both the local MTA (localhost:P, for the implied -b)
    // and the target (127.0.0.1:P).
    let server = accepting_server();
    let port = server.port().to_string();
    let run = etrn(&[
        "--helo",
        "client.test",
        "--sendmail-cf",
        s(&cf),
        "--local-port",
        &port,
        "--port",
        &port,
        "--timeout",
        "3",
        "127.0.0.1",
    ]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(
        etrn_lines(&server),
        [
            "ETRN client.test",
            "ETRN c0.test",
            "ETRN c1.test",
            "ETRN c2.test"
        ]
    );
    // The implied -b connected first (greeting, QUIT), then the session.
    assert_eq!(server.connections(), 2, "{:?}", server.log());
    assert_eq!(server.received_on(1), ["QUIT"], "{:?}", server.log());
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn discovery_with_missing_sendmail_cf_is_a_usage_error_naming_it() {
    let dir = temp_dir("etrn-no-cf");
    let cf = dir.join("missing-sendmail.cf");
    let server = accepting_server();
    let port = server.port().to_string();
    let run = etrn(&[
        "--helo",
        "client.test",
        "--sendmail-cf",
        s(&cf),
        "--local-port",
        &port,
        "--port",
        &port,
        "127.0.0.1",
    ]);
    assert_usage(&run);
    assert!(run.stderr.contains(s(&cf)), "{run:#?}");
    assert_never_connected(&server);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn discovery_with_missing_mandatory_class_file_is_a_usage_error() {
    let dir = temp_dir("etrn-no-fw");
    let missing = dir.join("missing-names");
    let cf = write_file(
        &dir,
        "sendmail.cf",
        &format!("Cwc0.test\nFw{}\n", missing.display()),
    );
    let server = accepting_server();
    let port = server.port().to_string();
    let run = etrn(&[
        "--helo",
        "client.test",
        "--sendmail-cf",
        s(&cf),
        "--local-port",
        &port,
        "--port",
        &port,
        "127.0.0.1",
    ]);
    assert_usage(&run);
    assert!(run.stderr.contains(s(&missing)), "{run:#?}");
    assert_never_connected(&server);
    let _ = fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------
// 10. -b: wait for the local MTA
// ---------------------------------------------------------------------------

#[test]
fn boot_waits_for_a_local_mta_that_comes_up_late() {
    let target = accepting_server();
    let port = target.port().to_string();
    let local_port = free_port();
    let late = thread::spawn(move || {
        thread::sleep(Duration::from_millis(2500));
        ScriptedServer::start_on(
            SocketAddr::from(([127, 0, 0, 1], local_port)),
            vec![line("220 local.test ESMTP"), serve(&[])],
        )
    });
    let local = local_port.to_string();
    let run = etrn(&[
        "-b",
        "--helo",
        "client.test",
        "--local-port",
        &local,
        "--port",
        &port,
        "--timeout",
        "2",
        "127.0.0.1",
        "a.test",
    ]);
    let local_server = late.join().expect("late server thread");
    assert_status(&run, 0);
    assert!(run.elapsed >= Duration::from_millis(2500), "{run:#?}");
    assert!(run.elapsed < Duration::from_secs(10), "{run:#?}");
    assert_eq!(etrn_lines(&target), ["ETRN a.test"]);
    assert!(local_server.connections() >= 1, "{:?}", local_server.log());
    assert!(
        !received(&local_server)
            .iter()
            .any(|l| l.starts_with("ETRN")),
        "{:?}",
        local_server.log()
    );
}

#[test]
fn boot_with_local_mta_up_goes_straight_on() {
    let target = accepting_server();
    let local = ScriptedServer::start("127.0.0.1:0", vec![line("220 local.test"), serve(&[])]);
    let port = target.port().to_string();
    let local_port = local.port().to_string();
    let run = etrn(&[
        "-b",
        "--helo",
        "client.test",
        "--local-port",
        &local_port,
        "--port",
        &port,
        "127.0.0.1",
        "a.test",
    ]);
    assert_status(&run, 0);
    assert!(run.elapsed < Duration::from_secs(3), "{run:#?}");
    assert_eq!(received(&local), ["QUIT"]);
    assert_eq!(etrn_lines(&target), ["ETRN a.test"]);
}

// The give-up path of -b (nothing ever listening) takes about 30 s of
// retries (1+2+4+8+15 s); it is deliberately not tested here.

// ---------------------------------------------------------------------------
// 11. --etrn-hosts
// ---------------------------------------------------------------------------

/// Runs `etrn --etrn-hosts` against servers on `port` (the 127.0.0.1 one
/// is also the local MTA).
fn etrn_hosts_run(port: u16, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let port = port.to_string();
    let mut args = vec![
        "--etrn-hosts",
        "--helo",
        "client.test",
        "--local-port",
        &port,
        "--port",
        &port,
        "--timeout",
        "3",
    ];
    args.extend_from_slice(extra);
    etrn_env(&args, env)
}

#[test]
fn etrn_hosts_done_when_defaults_file_groups_are_all_served() {
    if !etrn_hosts_not_in_environment("etrn_hosts_done_when") {
        return;
    }
    let servers = ScriptedServer::start_same_port(vec![
        ("127.0.0.1", etrn_script(&[("ETRN", "250 Queuing started")])),
        ("127.0.0.3", etrn_script(&[("ETRN", "250 Queuing started")])),
    ]);
    let dir = temp_dir("etrn-hosts-defaults");
    let defaults = write_file(
        &dir,
        "smtpbox",
        "# /etc/default/smtpbox\nexport ETRN_HOSTS\nETRN_HOSTS=\"127.0.0.1:e.test,f.test 127.0.0.3:g.test\"\n",
    );
    let run = etrn_hosts_run(servers[0].port(), &["--defaults", s(&defaults)], &[]);
    assert_status(&run, 0);
    assert_eq!(run.stdout, "", "{run:#?}");
    assert_eq!(etrn_lines(&servers[0]), ["ETRN e.test", "ETRN f.test"]);
    assert_eq!(etrn_lines(&servers[1]), ["ETRN g.test"]);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "one line per group: {run:#?}");
    assert!(
        lines.contains(&"etrn: 127.0.0.1: 2 of 2 ETRN accepted (250 Queuing started)"),
        "{run:#?}"
    );
    assert!(
        lines.contains(&"etrn: 127.0.0.3: 1 of 1 ETRN accepted (250 Queuing started)"),
        "{run:#?}"
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn etrn_hosts_environment_wins_over_defaults_file() {
    let server = accepting_server();
    let dir = temp_dir("etrn-hosts-env");
    let defaults = write_file(&dir, "smtpbox", "ETRN_HOSTS='127.0.0.1:file.test'\n");
    let run = etrn_hosts_run(
        server.port(),
        &["--defaults", s(&defaults)],
        &[("ETRN_HOSTS", "127.0.0.1:env.test")],
    );
    assert_status(&run, 0);
    assert_eq!(etrn_lines(&server), ["ETRN env.test"]);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn etrn_hosts_retries_a_server_that_comes_up_late() {
    let servers = ScriptedServer::start_same_port(vec![
        ("127.0.0.1", etrn_script(&[("ETRN", "250 Queuing started")])),
        ("127.0.0.3", etrn_script(&[("ETRN", "250 Queuing started")])),
    ]);
    let port = servers[0].port();
    let late = thread::spawn(move || {
        thread::sleep(Duration::from_secs(3));
        ScriptedServer::start_on(
            SocketAddr::from(([127, 0, 0, 4], port)),
            etrn_script(&[("ETRN", "250 Queuing started")]),
        )
    });
    let run = etrn_hosts_run(
        port,
        &["--retry-for", "20"],
        &[(
            "ETRN_HOSTS",
            "127.0.0.1:a.test 127.0.0.3:b.test 127.0.0.4:c.test",
        )],
    );
    let late_server = late.join().expect("late server thread");
    assert_status(&run, 0);
    assert!(run.elapsed < Duration::from_secs(20), "{run:#?}");
    assert_eq!(etrn_lines(&servers[0]), ["ETRN a.test"]);
    assert_eq!(etrn_lines(&servers[1]), ["ETRN b.test"]);
    assert_eq!(etrn_lines(&late_server), ["ETRN c.test"]);
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("127.0.0.4") && l.contains("retrying")),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l == "etrn: 127.0.0.4: 1 of 1 ETRN accepted (250 Queuing started)"),
        "{run:#?}"
    );
}

#[test]
fn etrn_hosts_gives_up_after_retry_for_with_exit_3() {
    // 127.0.0.1 is up (and the local MTA); nothing listens on 127.0.0.5
    // at that port. With --retry-for 1 there is no time for a retry (the
    // first wait is 2 s).
    let server = accepting_server();
    let run = etrn_hosts_run(
        server.port(),
        &["--retry-for", "1"],
        &[("ETRN_HOSTS", "127.0.0.1:a.test 127.0.0.5:b.test")],
    );
    assert_status(&run, 3);
    assert!(run.elapsed < Duration::from_secs(5), "{run:#?}");
    assert_eq!(etrn_lines(&server), ["ETRN a.test"]);
    assert!(
        run.stderr.lines().any(|l| l.contains("127.0.0.5")),
        "{run:#?}"
    );
}

#[test]
fn etrn_hosts_empty_is_a_no_op_with_a_message() {
    let server = accepting_server();
    let run = etrn_hosts_run(server.port(), &[], &[("ETRN_HOSTS", "")]);
    assert_status(&run, 0);
    assert!(run.stderr.contains("ETRN_HOSTS"), "{run:#?}");
    assert!(run.stderr.contains("empty"), "{run:#?}");
    assert_never_connected(&server);
    let run = etrn_hosts_run(server.port(), &[], &[("ETRN_HOSTS", " \t ")]);
    assert_status(&run, 0);
    assert_never_connected(&server);
}

#[test]
fn etrn_hosts_unset_in_defaults_file_is_a_no_op() {
    if !etrn_hosts_not_in_environment("etrn_hosts_unset_in_defaults_file") {
        return;
    }
    let server = accepting_server();
    let dir = temp_dir("etrn-hosts-unset");
    let defaults = write_file(&dir, "smtpbox", "# nothing here\nOTHER=1\n");
    let run = etrn_hosts_run(server.port(), &["--defaults", s(&defaults)], &[]);
    assert_status(&run, 0);
    assert!(run.stderr.contains("ETRN_HOSTS"), "{run:#?}");
    assert_never_connected(&server);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn etrn_hosts_malformed_group_is_reported_and_skipped_exit_2() {
    let server = accepting_server();
    let run = etrn_hosts_run(
        server.port(),
        &[],
        &[("ETRN_HOSTS", "127.0.0.1:h.test bad.test:a,,b")],
    );
    assert_status(&run, 2);
    assert_eq!(etrn_lines(&server), ["ETRN h.test"]);
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("malformed") && l.contains("bad.test:a,,b")),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l == "etrn: 127.0.0.1: 1 of 1 ETRN accepted (250 Queuing started)"),
        "{run:#?}"
    );
}

#[test]
fn etrn_hosts_unsupported_shell_construct_in_defaults_is_exit_2_naming_file_and_line() {
    if !etrn_hosts_not_in_environment("etrn_hosts_unsupported_shell_construct") {
        return;
    }
    let server = accepting_server();
    let dir = temp_dir("etrn-hosts-bad-defaults");
    let defaults = write_file(&dir, "smtpbox", "# comment\nETRN_HOSTS=$(cat x)\n");
    let run = etrn_hosts_run(server.port(), &["--defaults", s(&defaults)], &[]);
    assert_usage(&run);
    assert!(run.stderr.contains(s(&defaults)), "{run:#?}");
    assert!(run.stderr.contains("line 2"), "{run:#?}");
    assert_never_connected(&server);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn etrn_hosts_missing_defaults_file_is_exit_2() {
    if !etrn_hosts_not_in_environment("etrn_hosts_missing_defaults_file") {
        return;
    }
    let server = accepting_server();
    let dir = temp_dir("etrn-hosts-missing-defaults");
    let defaults = dir.join("no-such-file");
    let run = etrn_hosts_run(server.port(), &["--defaults", s(&defaults)], &[]);
    assert_usage(&run);
    assert!(run.stderr.contains(s(&defaults)), "{run:#?}");
    assert_never_connected(&server);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn etrn_hosts_refusal_exits_1_with_a_summary_naming_the_client() {
    let server = etrn_server(&[
        ("ETRN b.test", "459 <b.test>: node not allowed"),
        ("ETRN", "250 Queuing started"),
    ]);
    let run = etrn_hosts_run(
        server.port(),
        &["--retry-for", "1"],
        &[("ETRN_HOSTS", "127.0.0.1:a.test,b.test")],
    );
    assert_status(&run, 1);
    assert_eq!(etrn_lines(&server), ["ETRN a.test", "ETRN b.test"]);
    assert!(
        run.stderr.lines().any(|l| l
            == "etrn: 127.0.0.1: 1 of 2 ETRN accepted (b.test: 459 <b.test>: node not allowed)"),
        "{run:#?}"
    );
}

// ---------------------------------------------------------------------------
// 12. STARTTLS: a small TLS-capable SMTP server, and certificates
// ---------------------------------------------------------------------------

/// What the TLS server does after it answered STARTTLS.
#[derive(Clone)]
enum AfterStartTls {
    /// A real TLS handshake with this configuration.
    Handshake(Arc<rustls::ServerConfig>),
    /// Waits for the ClientHello, then answers with bytes that are not TLS.
    Garbage,
    /// Never answers the ClientHello (a stalled handshake).
    Silent,
}

/// How the TLS server behaves on every connection.
#[derive(Clone)]
struct TlsBehaviour {
    advertise_starttls: bool,
    /// Written in one write as the answer to STARTTLS.
    starttls_reply: Vec<u8>,
    after: AfterStartTls,
}

impl TlsBehaviour {
    fn handshake(pki: &Pki) -> TlsBehaviour {
        TlsBehaviour {
            advertise_starttls: true,
            starttls_reply: b"220 2.0.0 Ready to start TLS\r\n".to_vec(),
            after: AfterStartTls::Handshake(Arc::clone(&pki.config)),
        }
    }
}

/// One logged client line (or a `*` event of ours) and whether it came
/// over TLS.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    conn: usize,
    tls: bool,
    line: String,
}

struct TlsShared {
    stop: AtomicBool,
    deadline: Instant,
    accepted: AtomicUsize,
    active: AtomicUsize,
    log: Mutex<Vec<Entry>>,
}

impl TlsShared {
    fn alive(&self) -> bool {
        !self.stop.load(Ordering::SeqCst) && Instant::now() < self.deadline
    }

    fn record(&self, conn: usize, tls: bool, line: &str) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Entry {
                conn,
                tls,
                line: line.to_owned(),
            });
    }
}

/// An SMTP server on 127.0.0.1 that offers STARTTLS and ETRN, bounded in
/// time like the harness's servers (20 s lifetime, 50 ms polling).
struct TlsSmtpServer {
    addr: SocketAddr,
    shared: Arc<TlsShared>,
    thread: Option<JoinHandle<()>>,
}

impl TlsSmtpServer {
    fn start(behaviour: TlsBehaviour) -> TlsSmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local_addr");
        let shared = Arc::new(TlsShared {
            stop: AtomicBool::new(false),
            deadline: Instant::now() + SERVER_LIFETIME,
            accepted: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = thread::spawn(move || tls_accept_loop(listener, behaviour, thread_shared));
        TlsSmtpServer {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    fn port(&self) -> String {
        self.addr.port().to_string()
    }

    fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// The log, once every connection has ended.
    fn entries(&self) -> Vec<Entry> {
        let end = Instant::now() + IDLE;
        while self.shared.active.load(Ordering::SeqCst) > 0 && Instant::now() < end {
            thread::sleep(Duration::from_millis(10));
        }
        self.shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Client lines (no events) of connection `conn`, as `tls:LINE` or
    /// `plain:LINE`.
    fn lines_on(&self, conn: usize) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|e| e.conn == conn && !e.line.starts_with('*'))
            .map(|e| format!("{}:{}", if e.tls { "tls" } else { "plain" }, e.line))
            .collect()
    }

    /// Every client line that starts with ETRN, as in `lines_on`.
    fn etrn_lines(&self) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|e| e.line.starts_with("ETRN"))
            .map(|e| format!("{}:{}", if e.tls { "tls" } else { "plain" }, e.line))
            .collect()
    }
}

impl Drop for TlsSmtpServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.thread.take() {
            let end = Instant::now() + Duration::from_secs(2);
            while !h.is_finished() && Instant::now() < end {
                thread::sleep(Duration::from_millis(5));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

struct TlsActiveGuard(Arc<TlsShared>);

impl Drop for TlsActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

fn tls_accept_loop(listener: TcpListener, behaviour: TlsBehaviour, shared: Arc<TlsShared>) {
    let mut workers = Vec::new();
    while shared.alive() {
        match listener.accept() {
            Ok((tcp, _)) => {
                let n = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
                shared.active.fetch_add(1, Ordering::SeqCst);
                let (behaviour, shared) = (behaviour.clone(), Arc::clone(&shared));
                workers.push(thread::spawn(move || {
                    let _guard = TlsActiveGuard(Arc::clone(&shared));
                    tls_connection(tcp, n, &behaviour, &shared);
                }));
            }
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
    drop(listener);
    let end = Instant::now() + Duration::from_secs(1);
    for h in workers {
        while !h.is_finished() && Instant::now() < end {
            thread::sleep(Duration::from_millis(5));
        }
    }
}

enum Next {
    Quit,
    Closed,
    StartTls,
}

/// Reads one line (CR LF stripped) while the server lives; `None` at EOF,
/// on an error, or when the server stops.
fn tls_read_line<S: Read>(s: &mut S, buf: &mut Vec<u8>, shared: &TlsShared) -> Option<String> {
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = buf.drain(..=pos).collect();
            let raw = raw.strip_suffix(b"\n").unwrap_or(&raw);
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            return Some(String::from_utf8_lossy(raw).into_owned());
        }
        if !shared.alive() || buf.len() > MAX_LINE {
            return None;
        }
        match s.read(&mut chunk) {
            Ok(0) => return None,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e) if is_retry(&e) => {}
            Err(_) => return None,
        }
    }
}

/// Writes everything, retrying on the short socket timeouts.
fn tls_write<S: Write>(s: &mut S, mut bytes: &[u8], shared: &TlsShared) -> bool {
    while !bytes.is_empty() {
        if !shared.alive() {
            return false;
        }
        match s.write(bytes) {
            Ok(0) => return false,
            Ok(k) => bytes = &bytes[k..],
            Err(e) if is_retry(&e) => {}
            Err(_) => return false,
        }
    }
    loop {
        match s.flush() {
            Ok(()) => return true,
            Err(e) if is_retry(&e) && shared.alive() => {}
            Err(_) => return false,
        }
    }
}

/// Answers SMTP commands until QUIT, EOF or (when `starttls_ok`) STARTTLS.
fn tls_serve<S: Read + Write>(
    s: &mut S,
    buf: &mut Vec<u8>,
    conn: usize,
    tls: bool,
    ehlo: &str,
    starttls_ok: bool,
    shared: &TlsShared,
) -> Next {
    loop {
        let Some(l) = tls_read_line(s, buf, shared) else {
            return Next::Closed;
        };
        shared.record(conn, tls, &l);
        let upper = l.to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") {
            ehlo
        } else if upper.starts_with("HELO") {
            "250 tls.test\r\n"
        } else if upper.starts_with("STARTTLS") {
            if starttls_ok {
                return Next::StartTls;
            }
            "503 5.5.1 STARTTLS not available now\r\n"
        } else if upper.starts_with("ETRN") {
            "250 Queuing started\r\n"
        } else if upper.starts_with("QUIT") {
            tls_write(s, b"221 2.0.0 bye\r\n", shared);
            return Next::Quit;
        } else {
            "500 5.5.1 unrecognized\r\n"
        };
        if !tls_write(s, answer.as_bytes(), shared) {
            return Next::Closed;
        }
    }
}

fn tls_connection(mut tcp: TcpStream, conn: usize, b: &TlsBehaviour, shared: &TlsShared) {
    if tcp.set_nonblocking(false).is_err()
        || tcp.set_read_timeout(Some(POLL)).is_err()
        || tcp.set_write_timeout(Some(POLL)).is_err()
        || tcp.set_nodelay(true).is_err()
    {
        return;
    }
    if !tls_write(&mut tcp, b"220 tls.test ESMTP\r\n", shared) {
        return;
    }
    let ehlo = if b.advertise_starttls {
        "250-tls.test\r\n250-STARTTLS\r\n250 ETRN\r\n"
    } else {
        "250-tls.test\r\n250 ETRN\r\n"
    };
    let mut buf = Vec::new();
    match tls_serve(
        &mut tcp,
        &mut buf,
        conn,
        false,
        ehlo,
        b.advertise_starttls,
        shared,
    ) {
        Next::StartTls => {}
        Next::Quit | Next::Closed => return,
    }
    if !tls_write(&mut tcp, &b.starttls_reply, shared) {
        return;
    }
    if !buf.is_empty() {
        shared.record(conn, false, "*PIPELINED-BEFORE-TLS");
    }
    match &b.after {
        AfterStartTls::Garbage => {
            // Wait for the ClientHello, then answer with something else.
            let mut chunk = [0u8; 4096];
            loop {
                if !shared.alive() {
                    return;
                }
                match tcp.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(_) => break,
                    Err(e) if is_retry(&e) => {}
                    Err(_) => return,
                }
            }
            let garbage = b"HTTP/1.1 400 Bad Request\r\n\r\nthis is not TLS at all\r\n";
            shared.record(conn, false, "*GARBAGE-SENT");
            tls_write(&mut tcp, garbage, shared);
            // Hold until the client gives up; log any line it still sends.
            while let Some(l) = tls_read_line(&mut tcp, &mut buf, shared) {
                shared.record(conn, false, &l);
            }
        }
        AfterStartTls::Silent => {
            // Read and drop whatever comes until the client gives up.
            let mut chunk = [0u8; 4096];
            while shared.alive() {
                match tcp.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if is_retry(&e) => {}
                    Err(_) => return,
                }
            }
        }
        AfterStartTls::Handshake(config) => {
            let mut tls = match handshake(config, tcp, || shared.alive()) {
                Ok(tls) => tls,
                Err(Some(why)) => {
                    shared.record(conn, false, &format!("*{why}"));
                    return;
                }
                Err(None) => return,
            };
            shared.record(conn, true, "*TLS-OK");
            let ehlo = "250-tls.test\r\n250 ETRN\r\n";
            let mut tls_buf = Vec::new();
            tls_serve(&mut tls, &mut tls_buf, conn, true, ehlo, false, shared);
        }
    }
}

/// `etrn --port P --helo client.test [extra...] 127.0.0.1 a.test`.
fn etrn_tls(server: &TlsSmtpServer, extra: &[&str]) -> Run {
    let port = server.port();
    let mut args = vec!["--port", &port, "--helo", "client.test", "--timeout", "3"];
    args.extend_from_slice(extra);
    args.extend(["127.0.0.1", "a.test"]);
    etrn(&args)
}

#[test]
fn starttls_opportunistic_by_default_sends_etrn_over_tls_after_a_second_ehlo() {
    let pki = Pki::new("127.0.0.1");
    let server = TlsSmtpServer::start(TlsBehaviour::handshake(&pki));
    let run = etrn_tls(&server, &[]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(server.connections(), 1);
    assert_eq!(
        server.lines_on(1),
        [
            "plain:EHLO client.test",
            "plain:STARTTLS",
            "tls:EHLO client.test",
            "tls:ETRN a.test",
            "tls:QUIT"
        ]
    );
}

#[test]
fn starttls_opportunistic_verbose_notes_tls() {
    let pki = Pki::new("127.0.0.1");
    let server = TlsSmtpServer::start(TlsBehaviour::handshake(&pki));
    let run = etrn_tls(&server, &["-v"]);
    assert_status(&run, 0);
    assert!(run.stdout.contains(">>> STARTTLS"), "{run:#?}");
    assert!(run.stdout.contains("TLS"), "{run:#?}");
    let ehlos = run
        .stdout
        .lines()
        .filter(|l| *l == ">>> EHLO client.test")
        .count();
    assert_eq!(ehlos, 2, "{run:#?}");
    assert_eq!(server.etrn_lines(), ["tls:ETRN a.test"]);
}

#[test]
fn starttls_require_with_the_right_ca_succeeds_over_tls() {
    let pki = Pki::new("127.0.0.1");
    let dir = temp_dir("etrn-tls-ca");
    let ca = write_file(&dir, "ca.pem", &pki.ca_pem);
    let server = TlsSmtpServer::start(TlsBehaviour::handshake(&pki));
    let run = etrn_tls(&server, &["--starttls", "require", "--ca-file", s(&ca)]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(
        server.lines_on(1),
        [
            "plain:EHLO client.test",
            "plain:STARTTLS",
            "tls:EHLO client.test",
            "tls:ETRN a.test",
            "tls:QUIT"
        ]
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn starttls_require_with_another_ca_fails_closed_exit_3() {
    // The other CA has the same subject name, so the client even finds a
    // candidate issuer: only the signature check can reject it.
    let pki = Pki::new("127.0.0.1");
    let other = Pki::new("127.0.0.1");
    let dir = temp_dir("etrn-tls-other-ca");
    let ca = write_file(&dir, "other-ca.pem", &other.ca_pem);
    let server = TlsSmtpServer::start(TlsBehaviour::handshake(&pki));
    let run = etrn_tls(&server, &["--starttls", "require", "--ca-file", s(&ca)]);
    assert_status(&run, 3);
    assert!(server.etrn_lines().is_empty(), "{:?}", server.entries());
    assert_eq!(server.connections(), 1, "no plaintext retry");
    assert!(!run.stderr.is_empty(), "{run:#?}");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn starttls_require_with_a_certificate_for_another_address_fails_exit_3() {
    let pki = Pki::new("127.0.0.9");
    let dir = temp_dir("etrn-tls-wrong-name");
    let ca = write_file(&dir, "ca.pem", &pki.ca_pem);
    let server = TlsSmtpServer::start(TlsBehaviour::handshake(&pki));
    let run = etrn_tls(&server, &["--starttls", "require", "--ca-file", s(&ca)]);
    assert_status(&run, 3);
    assert!(server.etrn_lines().is_empty(), "{:?}", server.entries());
    assert_eq!(server.connections(), 1, "no plaintext retry");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn starttls_require_with_a_dns_name_certificate_for_an_ip_server_fails_exit_3() {
    // A certificate for a DNS name never matches a server given as an IP
    // literal.
    let pki = Pki::new("mx.test");
    let dir = temp_dir("etrn-tls-dns-name");
    let ca = write_file(&dir, "ca.pem", &pki.ca_pem);
    let server = TlsSmtpServer::start(TlsBehaviour::handshake(&pki));
    let run = etrn_tls(&server, &["--starttls", "require", "--ca-file", s(&ca)]);
    assert_status(&run, 3);
    assert!(server.etrn_lines().is_empty(), "{:?}", server.entries());
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn starttls_require_against_a_server_without_starttls_fails_exit_3() {
    let server = accepting_server();
    let run = etrn_to(&server, &["--starttls", "require", "127.0.0.1", "a.test"]);
    assert_status(&run, 3);
    let got = received(&server);
    assert!(!got.iter().any(|l| l.starts_with("ETRN")), "{got:?}");
    assert!(run.stderr.contains("STARTTLS"), "{run:#?}");
}

#[test]
fn starttls_opportunistic_without_offer_stays_in_plaintext() {
    let server = accepting_server();
    let run = etrn_to(
        &server,
        &["--starttls", "opportunistic", "127.0.0.1", "a.test"],
    );
    assert_status(&run, 0);
    assert_eq!(
        received(&server),
        ["EHLO client.test", "ETRN a.test", "QUIT"]
    );
}

#[test]
fn starttls_off_never_sends_starttls() {
    let pki = Pki::new("127.0.0.1");
    let server = TlsSmtpServer::start(TlsBehaviour::handshake(&pki));
    let run = etrn_tls(&server, &["--starttls", "off"]);
    assert_status(&run, 0);
    assert_eq!(
        server.lines_on(1),
        ["plain:EHLO client.test", "plain:ETRN a.test", "plain:QUIT"]
    );
}

fn injecting(pki: &Pki) -> TlsBehaviour {
    TlsBehaviour {
        starttls_reply: b"220 go ahead\r\n250 injected\r\n".to_vec(),
        ..TlsBehaviour::handshake(pki)
    }
}

#[test]
fn starttls_injection_under_require_fails_closed_exit_3() {
    let pki = Pki::new("127.0.0.1");
    let dir = temp_dir("etrn-tls-inject-require");
    let ca = write_file(&dir, "ca.pem", &pki.ca_pem);
    let server = TlsSmtpServer::start(injecting(&pki));
    let run = etrn_tls(&server, &["--starttls", "require", "--ca-file", s(&ca)]);
    assert_status(&run, 3);
    assert!(server.etrn_lines().is_empty(), "{:?}", server.entries());
    assert_eq!(server.connections(), 1);
    assert!(
        !server
            .entries()
            .iter()
            .any(|e| e.line == "*TLS-OK" || e.tls),
        "{:?}",
        server.entries()
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn starttls_injection_under_opportunistic_restarts_in_plaintext() {
    let pki = Pki::new("127.0.0.1");
    let server = TlsSmtpServer::start(injecting(&pki));
    let run = etrn_tls(&server, &[]);
    assert_status(&run, 0);
    // The first connection never got an ETRN (nothing acted on the
    // injected reply); a fresh plaintext session did the work.
    let first = server.lines_on(1);
    assert!(
        !first.iter().any(|l| l.contains("ETRN")),
        "first connection: {first:?}"
    );
    assert_eq!(server.connections(), 2, "{:?}", server.entries());
    assert_eq!(
        server.lines_on(2),
        ["plain:EHLO client.test", "plain:ETRN a.test", "plain:QUIT"]
    );
    // The fallback is said on stderr, once.
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(run.stderr.contains("without TLS"), "{run:#?}");
}

fn garbage_after_starttls() -> TlsBehaviour {
    TlsBehaviour {
        advertise_starttls: true,
        starttls_reply: b"220 2.0.0 Ready to start TLS\r\n".to_vec(),
        after: AfterStartTls::Garbage,
    }
}

#[test]
fn starttls_garbage_handshake_under_opportunistic_falls_back_to_plaintext() {
    let server = TlsSmtpServer::start(garbage_after_starttls());
    let run = etrn_tls(&server, &[]);
    assert_status(&run, 0);
    assert!(run.elapsed < Duration::from_secs(5), "{run:#?}");
    let entries = server.entries();
    assert!(
        entries
            .iter()
            .any(|e| e.conn == 1 && e.line == "*GARBAGE-SENT"),
        "{entries:?}"
    );
    assert!(
        !server.lines_on(1).iter().any(|l| l.contains("ETRN")),
        "{entries:?}"
    );
    assert_eq!(
        server.lines_on(2),
        ["plain:EHLO client.test", "plain:ETRN a.test", "plain:QUIT"]
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
}

#[test]
fn starttls_garbage_handshake_under_require_fails_exit_3() {
    let pki = Pki::new("127.0.0.1");
    let dir = temp_dir("etrn-tls-garbage-require");
    let ca = write_file(&dir, "ca.pem", &pki.ca_pem);
    let server = TlsSmtpServer::start(garbage_after_starttls());
    let run = etrn_tls(&server, &["--starttls", "require", "--ca-file", s(&ca)]);
    assert_status(&run, 3);
    assert!(server.etrn_lines().is_empty(), "{:?}", server.entries());
    assert_eq!(server.connections(), 1);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn starttls_refused_with_454_under_opportunistic_continues_in_plaintext() {
    let server = ScriptedServer::start(
        "127.0.0.1:0",
        vec![
            line("220 mx.test ESMTP"),
            serve(&[
                ("EHLO", "250-mx.test\n250-STARTTLS\n250 ETRN"),
                ("STARTTLS", "454 4.7.0 TLS not available"),
                ("ETRN", "250 Queuing started"),
            ]),
        ],
    );
    let run = etrn_to(&server, &["--timeout", "3", "127.0.0.1", "a.test"]);
    assert_status(&run, 0);
    assert_eq!(etrn_lines(&server), ["ETRN a.test"]);
}

#[test]
fn starttls_refused_with_454_under_require_fails_exit_3() {
    let server = ScriptedServer::start(
        "127.0.0.1:0",
        vec![
            line("220 mx.test ESMTP"),
            serve(&[
                ("EHLO", "250-mx.test\n250-STARTTLS\n250 ETRN"),
                ("STARTTLS", "454 4.7.0 TLS not available"),
                ("ETRN", "250 Queuing started"),
            ]),
        ],
    );
    let run = etrn_to(
        &server,
        &[
            "--timeout",
            "3",
            "--starttls",
            "require",
            "127.0.0.1",
            "a.test",
        ],
    );
    assert_status(&run, 3);
    assert!(etrn_lines(&server).is_empty(), "{:?}", server.log());
}

#[test]
fn starttls_stalled_handshake_under_opportunistic_falls_back_within_the_timeout() {
    let server = TlsSmtpServer::start(TlsBehaviour {
        after: AfterStartTls::Silent,
        ..garbage_after_starttls()
    });
    let port = server.port();
    let run = etrn(&[
        "--port",
        &port,
        "--helo",
        "client.test",
        "--timeout",
        "1",
        "127.0.0.1",
        "a.test",
    ]);
    assert_status(&run, 0);
    assert!(run.elapsed < Duration::from_millis(3500), "{run:#?}");
    assert!(
        !server.lines_on(1).iter().any(|l| l.contains("ETRN")),
        "{:?}",
        server.entries()
    );
    assert_eq!(
        server.lines_on(2),
        ["plain:EHLO client.test", "plain:ETRN a.test", "plain:QUIT"]
    );
}

#[test]
fn starttls_stalled_handshake_under_require_fails_exit_3_within_the_timeout() {
    let pki = Pki::new("127.0.0.1");
    let dir = temp_dir("etrn-tls-stalled-require");
    let ca = write_file(&dir, "ca.pem", &pki.ca_pem);
    let server = TlsSmtpServer::start(TlsBehaviour {
        after: AfterStartTls::Silent,
        ..garbage_after_starttls()
    });
    let port = server.port();
    let run = etrn(&[
        "--port",
        &port,
        "--helo",
        "client.test",
        "--timeout",
        "1",
        "--starttls",
        "require",
        "--ca-file",
        s(&ca),
        "127.0.0.1",
        "a.test",
    ]);
    assert_status(&run, 3);
    assert!(run.elapsed < Duration::from_millis(2500), "{run:#?}");
    assert!(server.etrn_lines().is_empty(), "{:?}", server.entries());
    assert_eq!(server.connections(), 1);
    let _ = fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------
// More addresses and dialogue corners
// ---------------------------------------------------------------------------

#[test]
fn bracketed_ipv4_literal_server_works() {
    let server = accepting_server();
    let run = etrn_to(&server, &["[127.0.0.1]", "a.test"]);
    assert_status(&run, 0);
    assert_eq!(etrn_lines(&server), ["ETRN a.test"]);
}

#[test]
fn ipv6_literal_servers_work_bare_and_bracketed() {
    if !ipv6_loopback_available() {
        eprintln!("ipv6_literal_servers_work: skipped: [::1] cannot be bound here");
        return;
    }
    for host in ["::1", "[::1]"] {
        let server =
            ScriptedServer::start("[::1]:0", etrn_script(&[("ETRN", "250 Queuing started")]));
        let port = server.port().to_string();
        let run = etrn(&["--port", &port, "--helo", "client.test", host, "a.test"]);
        assert_status(&run, 0);
        assert_eq!(etrn_lines(&server), ["ETRN a.test"], "{host}");
    }
}

#[test]
fn etrn_keyword_in_ehlo_is_case_insensitive() {
    let server = ScriptedServer::start(
        "127.0.0.1:0",
        vec![
            line("220 mx.test ESMTP"),
            serve(&[
                ("EHLO", "250-mx.test\n250-etrn\n250 8bitmime"),
                ("ETRN", "250 Queuing started"),
            ]),
        ],
    );
    let run = etrn_to(&server, &["127.0.0.1", "a.test"]);
    assert_status(&run, 0);
    assert_eq!(etrn_lines(&server), ["ETRN a.test"]);
}

#[test]
fn server_closing_instead_of_answering_etrn_exits_3() {
    let server = ScriptedServer::start(
        "127.0.0.1:0",
        vec![
            line("220 mx.test ESMTP"),
            reply("EHLO", EHLO_ETRN),
            expect("ETRN"),
            Step::Close,
        ],
    );
    let port = server.port().to_string();
    let run = etrn(&[
        "--port",
        &port,
        "--timeout",
        "3",
        "--helo",
        "client.test",
        "127.0.0.1",
        "a.test",
    ]);
    assert_status(&run, 3);
    assert!(run.elapsed < Duration::from_secs(2), "{run:#?}");
    assert!(run.stderr.contains("ETRN a.test"), "{run:#?}");
}

#[test]
fn server_closing_after_greeting_exits_3() {
    let server = ScriptedServer::start("127.0.0.1:0", vec![line("220 mx.test ESMTP"), Step::Close]);
    let port = server.port().to_string();
    let run = etrn(&[
        "--port",
        &port,
        "--timeout",
        "3",
        "--helo",
        "client.test",
        "127.0.0.1",
        "a.test",
    ]);
    assert_status(&run, 3);
    assert!(run.elapsed < Duration::from_secs(2), "{run:#?}");
}

#[test]
fn etrn_hosts_group_without_clients_uses_discovery() {
    let dir = temp_dir("etrn-hosts-discovery");
    let cf = write_file(&dir, "sendmail.cf", "Cwlocalhost c0.test\n");
    let server = accepting_server();
    let run = etrn_hosts_run(
        server.port(),
        &["--sendmail-cf", s(&cf)],
        &[("ETRN_HOSTS", "127.0.0.1")],
    );
    assert_status(&run, 0);
    assert_eq!(etrn_lines(&server), ["ETRN client.test", "ETRN c0.test"]);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn etrn_hosts_groups_run_concurrently() {
    // Each server takes 2 s to answer ETRN; one after the other would take
    // 4 s or more.
    let slow = || {
        vec![
            line("220 mx.test ESMTP"),
            reply("EHLO", EHLO_ETRN),
            expect("ETRN"),
            Step::Sleep(Duration::from_secs(2)),
            line("250 Queuing started"),
            serve(&[]),
        ]
    };
    let servers = ScriptedServer::start_same_port(vec![
        ("127.0.0.1", slow()),
        ("127.0.0.3", slow()),
        ("127.0.0.4", slow()),
    ]);
    let run = etrn_hosts_run(
        servers[0].port(),
        &[],
        &[(
            "ETRN_HOSTS",
            "127.0.0.1:a.test 127.0.0.3:b.test 127.0.0.4:c.test",
        )],
    );
    assert_status(&run, 0);
    assert!(run.elapsed < Duration::from_millis(3900), "{run:#?}");
    assert_eq!(etrn_lines(&servers[0]), ["ETRN a.test"]);
    assert_eq!(etrn_lines(&servers[1]), ["ETRN b.test"]);
    assert_eq!(etrn_lines(&servers[2]), ["ETRN c.test"]);
}

#[test]
fn etrn_hosts_exit_status_is_the_worst_group() {
    // 127.0.0.1 refuses (1), 127.0.0.6 is unreachable (3), one group is
    // malformed (2): the result is 3.
    let server = etrn_server(&[("ETRN", "459 <a.test>: node not allowed")]);
    let run = etrn_hosts_run(
        server.port(),
        &["--retry-for", "1"],
        &[("ETRN_HOSTS", "127.0.0.1:a.test 127.0.0.6:b.test x:")],
    );
    assert_status(&run, 3);
    assert_eq!(etrn_lines(&server), ["ETRN a.test"]);
    assert_eq!(run.stderr.lines().count(), 3, "{run:#?}");
}

#[test]
fn multi_line_refusal_with_control_characters_is_still_one_harmless_stderr_line() {
    let server = ScriptedServer::start(
        "127.0.0.1:0",
        vec![
            line("220 mx.test ESMTP"),
            reply("EHLO", EHLO_ETRN),
            reply(
                "ETRN",
                "459-<a.test>: node not allowed\n459 see \u{1b}[2J policy",
            ),
            serve(&[]),
        ],
    );
    let run = etrn_to(&server, &["127.0.0.1", "a.test"]);
    assert_status(&run, 1);
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(!run.stderr.contains('\u{1b}'), "{run:#?}");
    assert!(run.stderr.contains("node not allowed"), "{run:#?}");
    assert!(run.stderr.contains("policy"), "{run:#?}");
}

#[test]
fn endless_slow_greeting_is_cut_off_by_the_timeout() {
    let slow = "220-still greeting\r\n".repeat(100);
    let server = ScriptedServer::start(
        "127.0.0.1:0",
        vec![Step::Drip {
            bytes: slow.into_bytes(),
            every: Duration::from_millis(10),
        }],
    );
    let port = server.port().to_string();
    let run = etrn(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--helo",
        "client.test",
        "127.0.0.1",
        "a.test",
    ]);
    assert_status(&run, 3);
    assert!(run.elapsed < Duration::from_millis(2500), "{run:#?}");
    let got = received(&server);
    assert!(!got.iter().any(|l| l.starts_with("EHLO")), "{got:?}");
}

#[test]
fn etrn_hosts_with_only_malformed_groups_exits_2_without_connecting() {
    let server = accepting_server();
    let run = etrn_hosts_run(server.port(), &[], &[("ETRN_HOSTS", "x: :y a\u{1}b")]);
    assert_status(&run, 2);
    assert_eq!(run.stderr.lines().count(), 3, "{run:#?}");
    assert!(!run.stderr.contains('\u{1}'), "{run:#?}");
    assert_never_connected(&server);
}

#[test]
fn etrn_hosts_discovery_failure_skips_only_the_groups_that_need_it() {
    let dir = temp_dir("etrn-hosts-no-cf");
    let cf = dir.join("missing-sendmail.cf");
    let servers = ScriptedServer::start_same_port(vec![
        ("127.0.0.1", etrn_script(&[("ETRN", "250 Queuing started")])),
        ("127.0.0.3", etrn_script(&[("ETRN", "250 Queuing started")])),
    ]);
    let run = etrn_hosts_run(
        servers[0].port(),
        &["--sendmail-cf", s(&cf)],
        &[("ETRN_HOSTS", "127.0.0.3 127.0.0.1:a.test")],
    );
    assert_status(&run, 2);
    assert!(run.stderr.contains(s(&cf)), "{run:#?}");
    assert_eq!(etrn_lines(&servers[0]), ["ETRN a.test"]);
    assert_never_connected(&servers[1]);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn etrn_hosts_retries_a_group_refused_with_4xx_until_accepted() {
    let servers = ScriptedServer::start_same_port(vec![
        ("127.0.0.1", etrn_script(&[("ETRN", "250 Queuing started")])),
        (
            "127.0.0.3",
            etrn_script(&[("ETRN", "458 Unable to queue messages for node b.test")]),
        ),
    ]);
    let mut servers = servers.into_iter();
    let (local, refusing) = (servers.next().expect("local"), servers.next().expect("4xx"));
    let port = local.port();
    // Once the first session with the refusing server is over, replace it
    // by one that accepts (the retry comes 2 s later).
    let swap = thread::spawn(move || {
        assert!(refusing.wait_connections(1, Duration::from_secs(10)));
        assert!(refusing.wait_idle(IDLE));
        let first = refusing.received();
        drop(refusing);
        let accepting = ScriptedServer::start_on(
            SocketAddr::from(([127, 0, 0, 3], port)),
            etrn_script(&[("ETRN", "250 Queuing started")]),
        );
        (first, accepting)
    });
    let run = etrn_hosts_run(
        port,
        &["--retry-for", "20"],
        &[("ETRN_HOSTS", "127.0.0.1:a.test 127.0.0.3:b.test")],
    );
    let (first, accepting) = swap.join().expect("swap thread");
    assert_status(&run, 0);
    assert!(run.elapsed < Duration::from_secs(10), "{run:#?}");
    assert_eq!(first, ["EHLO client.test", "ETRN b.test", "QUIT"]);
    assert_eq!(etrn_lines(&accepting), ["ETRN b.test"]);
    assert_eq!(etrn_lines(&local), ["ETRN a.test"]);
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("127.0.0.3") && l.contains("458") && l.contains("retrying in 2s")),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l == "etrn: 127.0.0.3: 1 of 1 ETRN accepted (250 Queuing started)"),
        "{run:#?}"
    );
}

#[test]
fn etrn_hosts_does_not_retry_a_5xx_refusal() {
    let server = etrn_server(&[("ETRN", "501 5.5.4 Syntax error")]);
    let run = etrn_hosts_run(
        server.port(),
        &["--retry-for", "20"],
        &[("ETRN_HOSTS", "127.0.0.1:a.test")],
    );
    assert_status(&run, 1);
    assert!(run.elapsed < Duration::from_secs(2), "{run:#?}");
    // The local-MTA check, then one session.
    assert_eq!(server.connections(), 2, "{:?}", server.log());
    assert_eq!(etrn_lines(&server), ["ETRN a.test"]);
    assert!(!run.stderr.contains("retrying"), "{run:#?}");
}

#[test]
fn etrn_hosts_bracketed_ipv6_group() {
    if !ipv6_loopback_available() {
        eprintln!("etrn_hosts_bracketed_ipv6_group: skipped: [::1] cannot be bound here");
        return;
    }
    let servers = ScriptedServer::start_same_port(vec![
        ("127.0.0.1", etrn_script(&[("ETRN", "250 Queuing started")])),
        ("::1", etrn_script(&[("ETRN", "250 Queuing started")])),
    ]);
    let run = etrn_hosts_run(
        servers[0].port(),
        &[],
        &[("ETRN_HOSTS", "[::1]:a.test,b.test")],
    );
    assert_status(&run, 0);
    assert_eq!(etrn_lines(&servers[1]), ["ETRN a.test", "ETRN b.test"]);
    assert!(etrn_lines(&servers[0]).is_empty());
    assert!(
        run.stderr
            .lines()
            .any(|l| l == "etrn: [::1]: 2 of 2 ETRN accepted (250 Queuing started)"),
        "{run:#?}"
    );
}

#[test]
fn starttls_require_without_ca_file_rejects_a_private_ca_exit_3() {
    // Without --ca-file the system trust store is used, which does not
    // hold this test's CA.
    let pki = Pki::new("127.0.0.1");
    let server = TlsSmtpServer::start(TlsBehaviour::handshake(&pki));
    let run = etrn_tls(&server, &["--starttls", "require"]);
    assert_status(&run, 3);
    assert!(server.etrn_lines().is_empty(), "{:?}", server.entries());
    assert_eq!(server.connections(), 1);
}

#[test]
fn etrn_answered_421_stops_the_session_and_reports_the_reply() {
    // RFC 5321 §3.8: 421 = the server is closing; the next client is not
    // asked, and the error names the 421 rather than a broken pipe.
    let server = etrn_server(&[("ETRN a.test", "421 4.3.2 Shutting down")]);
    let run = etrn_to(&server, &["127.0.0.1", "a.test", "b.test"]);
    assert_eq!(run.status, Some(3), "{run:#?}");
    no_panic(&run);
    assert!(run.stderr.contains("ETRN a.test: 421"), "{run:#?}");
    server.wait_idle(Duration::from_secs(2));
    assert!(
        !server.received().iter().any(|l| l == "ETRN b.test"),
        "{:?}",
        server.received()
    );
}

#[test]
fn lines_sent_before_our_command_are_never_taken_as_its_reply() {
    // `250 early` arrives with the greeting, before EHLO: it must not be
    // read as the EHLO reply (it would say "no ETRN"); the session fails.
    let server = ScriptedServer::start(
        "127.0.0.1:0",
        vec![
            send("220 mx.test ready\r\n250 early\r\n"),
            serve(&[("EHLO", EHLO_ETRN), ("ETRN", "250 Queuing started")]),
        ],
    );
    let run = etrn_to(&server, &["127.0.0.1", "a.test"]);
    assert_eq!(run.status, Some(3), "{run:#?}");
    no_panic(&run);
    assert!(run.stderr.contains("spoke before our command"), "{run:#?}");
    server.wait_idle(Duration::from_secs(2));
    assert!(
        !server.received().iter().any(|l| l.starts_with("ETRN")),
        "{:?}",
        server.received()
    );
}
