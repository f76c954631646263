//! STARTTLS: opportunistic by default, `require` (verified against the
//! system store or `--ca-file`) and `off`, against the STARTTLS test server
//! of `support` (certificates made by rcgen at run time) and against
//! scripted servers that do not offer or refuse it.

use std::time::Duration;

use crate::support::*;
use crate::*;

/// The dialogue of a session that went over TLS, as the server logs it.
const OVER_TLS: [&str; 5] = [
    "plain:EHLO client.test",
    "plain:STARTTLS",
    "tls:EHLO client.test",
    "tls:ETRN a.test",
    "tls:QUIT",
];

/// The dialogue of a plaintext session, as the STARTTLS server logs it.
const PLAIN: [&str; 3] = ["plain:EHLO client.test", "plain:ETRN a.test", "plain:QUIT"];

/// What `etrn -v` prints from STARTTLS to the EHLO over TLS: the server's
/// go-ahead, then etrn's note that TLS is up, with the version and suite
/// (both ends are rustls with ring's defaults: TLS 1.3, its first suite).
const TLS_STARTED: [&str; 4] = [
    ">>> STARTTLS",
    "220 2.0.0 Ready to start TLS",
    "*** TLS started: TLSv1_3 TLS13_AES_256_GCM_SHA384",
    ">>> EHLO client.test",
];

/// `etrn --timeout 3 EXTRA 127.0.0.1 a.test` against `server`.
fn etrn_tls(server: &TestServer, extra: &[&str]) -> Run {
    etrn_a_test(server, &[&["--timeout", "3"], extra].concat())
}

/// `etrn --timeout T --starttls require [--ca-file CA] 127.0.0.1 a.test`
/// against a STARTTLS server with `behaviour` that does not give etrn a
/// verified session: exit 3, no ETRN anywhere, and no plaintext retry.
fn require_fails(behaviour: StartTls, ca: Option<&Pki>, timeout: &str) -> (TestServer, Run) {
    let server = TestServer::starttls(behaviour);
    let dir = TempDir::new("etrn-tls-ca");
    let mut args = vec!["--timeout", timeout, "--starttls", "require"];
    let ca_file = ca.map(|pki| dir.file("ca.pem", &pki.ca_pem));
    if let Some(ca_file) = &ca_file {
        args.extend(["--ca-file", path_arg(ca_file)]);
    }
    let run = etrn_a_test(&server, &args);
    assert_status(&run, 3);
    assert!(server.etrn_lines().is_empty(), "{:?}", server.lines());
    assert_eq!(server.connections(), 1, "no plaintext retry");
    (server, run)
}

/// Default (opportunistic) etrn with `--timeout T` against a STARTTLS
/// server with `behaviour` that spoils TLS: the first connection never
/// gets an ETRN, a fresh plaintext session does the work, exit 0.
fn falls_back(behaviour: StartTls, timeout: &str) -> (TestServer, Run) {
    let server = TestServer::starttls(behaviour);
    let run = etrn_a_test(&server, &["--timeout", timeout]);
    assert_status(&run, 0);
    let first = server.tagged_lines_on(1);
    let etrn_on_first = first.iter().any(|l| l.contains("ETRN"));
    assert!(!etrn_on_first, "first connection: {first:?}");
    assert_eq!(server.tagged_lines_on(2), PLAIN, "{:?}", server.lines());
    (server, run)
}

#[test]
fn starttls_opportunistic_by_default_sends_etrn_over_tls_after_a_second_ehlo() {
    let server = TestServer::starttls(StartTls::Handshake(Pki::new("127.0.0.1")));
    let run = etrn_tls(&server, &[]);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(server.connections(), 1);
    assert_eq!(server.tagged_lines_on(1), OVER_TLS);
}

#[test]
fn starttls_opportunistic_verbose_notes_tls() {
    let server = TestServer::starttls(StartTls::Handshake(Pki::new("127.0.0.1")));
    let run = etrn_tls(&server, &["-v"]);
    assert_status(&run, 0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let noted = lines.windows(TLS_STARTED.len()).any(|w| w == TLS_STARTED);
    assert!(noted, "{run:#?}");
    let ehlos = run.stdout.lines().filter(|l| *l == ">>> EHLO client.test");
    assert_eq!(ehlos.count(), 2, "{run:#?}");
    let etrn: Vec<String> = server
        .lines()
        .iter()
        .filter(|l| l.is_etrn())
        .map(Line::tagged)
        .collect();
    assert_eq!(etrn, ["tls:ETRN a.test"]);
}

#[test]
fn starttls_require_with_the_right_ca_succeeds_over_tls() {
    let pki = Pki::new("127.0.0.1");
    let dir = TempDir::new("etrn-tls-ca");
    let ca = dir.file("ca.pem", &pki.ca_pem);
    let server = TestServer::starttls(StartTls::Handshake(pki));
    let run = etrn_tls(
        &server,
        &["--starttls", "require", "--ca-file", path_arg(&ca)],
    );
    assert_status(&run, 0);
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(server.tagged_lines_on(1), OVER_TLS);
}

#[test]
fn starttls_require_with_another_ca_fails_closed_exit_3() {
    // The other CA has the same subject name, so the client even finds a
    // candidate issuer: only the signature check can reject it.
    let other = Pki::new("127.0.0.1");
    let server_pki = StartTls::Handshake(Pki::new("127.0.0.1"));
    let (_, run) = require_fails(server_pki, Some(&other), "3");
    assert!(!run.stderr.is_empty(), "{run:#?}");
}

#[test]
fn starttls_require_with_a_certificate_for_another_address_fails_exit_3() {
    let pki = Pki::new("127.0.0.9");
    require_fails(StartTls::Handshake(pki.clone()), Some(&pki), "3");
}

#[test]
fn starttls_require_with_a_dns_name_certificate_for_an_ip_server_fails_exit_3() {
    // A certificate for a DNS name never matches a server given as an IP
    // literal.
    let pki = Pki::new("mx.test");
    require_fails(StartTls::Handshake(pki.clone()), Some(&pki), "3");
}

#[test]
fn starttls_require_without_ca_file_rejects_a_private_ca_exit_3() {
    // Without --ca-file the system trust store is used, which does not
    // hold this test's CA.
    let behaviour = StartTls::Handshake(Pki::new("127.0.0.1"));
    require_fails(behaviour, None, "3");
}

#[test]
fn starttls_injection_under_require_fails_closed_exit_3() {
    let pki = Pki::new("127.0.0.1");
    let (server, _) = require_fails(StartTls::InjectThenHandshake(pki.clone()), Some(&pki), "3");
    let lines = server.lines();
    let went_tls = lines.iter().any(|l| l.text == "*TLS-OK" || l.tls);
    assert!(!went_tls, "{lines:?}");
}

#[test]
fn starttls_garbage_handshake_under_require_fails_exit_3() {
    let ca = Pki::new("127.0.0.1");
    require_fails(StartTls::Garbage, Some(&ca), "3");
}

#[test]
fn starttls_stalled_handshake_under_require_fails_exit_3_within_the_timeout() {
    let ca = Pki::new("127.0.0.1");
    let (_, run) = require_fails(StartTls::Stall, Some(&ca), "1");
    assert!(run.elapsed < Duration::from_millis(2500), "{run:#?}");
}

#[test]
fn starttls_injection_under_opportunistic_restarts_in_plaintext() {
    // Nothing acted on the injected reply on the first connection.
    let pki = Pki::new("127.0.0.1");
    let (server, run) = falls_back(StartTls::InjectThenHandshake(pki), "3");
    assert_eq!(server.connections(), 2, "{:?}", server.lines());
    // The fallback is said on stderr, once.
    assert!(one_stderr_line(&run).contains("without TLS"), "{run:#?}");
}

#[test]
fn starttls_garbage_handshake_under_opportunistic_falls_back_to_plaintext() {
    let (server, run) = falls_back(StartTls::Garbage, "3");
    assert!(run.elapsed < Duration::from_secs(5), "{run:#?}");
    let lines = server.lines();
    let garbage_sent = lines
        .iter()
        .any(|l| l.conn == 1 && l.text == "*GARBAGE-SENT");
    assert!(garbage_sent, "{lines:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
}

#[test]
fn starttls_stalled_handshake_under_opportunistic_falls_back_within_the_timeout() {
    let (_, run) = falls_back(StartTls::Stall, "1");
    assert!(run.elapsed < Duration::from_millis(3500), "{run:#?}");
}

#[test]
fn starttls_off_never_sends_starttls() {
    let server = TestServer::starttls(StartTls::Handshake(Pki::new("127.0.0.1")));
    let run = etrn_tls(&server, &["--starttls", "off"]);
    assert_status(&run, 0);
    assert_eq!(server.tagged_lines_on(1), PLAIN);
}

#[test]
fn starttls_require_against_a_server_without_starttls_fails_exit_3() {
    let server = accepting_server();
    let run = etrn_a_test(&server, &["--starttls", "require"]);
    assert_status(&run, 3);
    assert!(server.etrn_lines().is_empty(), "{:?}", server.log());
    assert!(run.stderr.contains("STARTTLS"), "{run:#?}");
}

#[test]
fn starttls_opportunistic_without_offer_stays_in_plaintext() {
    let server = accepting_server();
    let run = etrn_a_test(&server, &["--starttls", "opportunistic"]);
    assert_status(&run, 0);
    let dialogue = ["EHLO client.test", "ETRN a.test", "QUIT"];
    assert_eq!(server.received_when_idle(), dialogue);
}

/// A scripted server that offers STARTTLS and refuses it with 454.
fn refusing_starttls() -> TestServer {
    smtp_server(
        "220 mx.test ESMTP",
        &[
            ("EHLO", "250-mx.test\n250-STARTTLS\n250 ETRN"),
            ("STARTTLS", "454 4.7.0 TLS not available"),
            ("ETRN", "250 Queuing started"),
        ],
    )
}

#[test]
fn starttls_refused_with_454_under_opportunistic_continues_in_the_same_session() {
    // RFC 3207 §4: after a refusal the session is in plaintext command
    // state; no second connection, no second EHLO.
    let server = refusing_starttls();
    let run = etrn_a_test(&server, &["--timeout", "3"]);
    assert_status(&run, 0);
    let dialogue = ["EHLO client.test", "STARTTLS", "ETRN a.test", "QUIT"];
    assert_eq!(server.received_when_idle(), dialogue);
    assert_eq!(server.connections(), 1);
    assert!(one_stderr_line(&run).contains("454"), "{run:#?}");
}

#[test]
fn starttls_refused_with_454_under_require_says_quit_and_fails_exit_3() {
    // RFC 5321 §3.8: the client sends QUIT before it closes.
    let server = refusing_starttls();
    let run = etrn_a_test(&server, &["--timeout", "3", "--starttls", "require"]);
    assert_status(&run, 3);
    assert_eq!(
        server.received_when_idle(),
        ["EHLO client.test", "STARTTLS", "QUIT"]
    );
    assert_eq!(server.connections(), 1);
    assert!(one_stderr_line(&run).contains("454"), "{run:#?}");
}
