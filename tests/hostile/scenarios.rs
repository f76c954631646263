//! The scenario table: for each hostile server, smtpdcheck, check_mx and
//! etrn (per `--starttls` mode, or with credentials) are run against a
//! fresh instance, with bounds on status, time, memory and output, and a
//! check of what the server saw.

use std::time::{Duration, Instant};

use crate::runner::{Measured, measure};
use crate::support::*;
use crate::{SLACK, T, T_ARG, assert_sane, light, row};
use Mode::{Auth, Off, Opportunistic, Require, RequireCa};

/// How to build a scenario's server (a fresh one for each run).
#[derive(Clone)]
enum Spec {
    Script(Vec<Step>),
    StartTls(StartTls),
}

impl Spec {
    fn start(&self) -> TestServer {
        match self {
            Spec::Script(steps) => script_server(steps.clone()),
            Spec::StartTls(behaviour) => TestServer::starttls(behaviour.clone()),
        }
    }
}

/// etrn's `--starttls` for one run.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Off,
    Opportunistic,
    /// `require`, trusting the system store.
    Require,
    /// `require --ca-file` with the CA that signed the server's certificate.
    RequireCa,
    /// `off --netrc FILE --auth-plaintext`: AUTH PLAIN with [`PASSWORD`]
    /// when the server offers it.
    Auth,
}

/// check_mx's exit statuses (the plugin contract).
const OK: i32 = 0;
const WARNING: i32 = 1;
const CRITICAL: i32 = 2;

/// The most check_mx may print for one address, dialogue included,
/// whatever the server floods it with (its replies are cut at 4 KiB).
const CHECK_MX_OUTPUT_LIMIT: usize = 64 * 1024;

/// The password of [`Mode::Auth`]'s netrc file: it must appear in no
/// output, whatever the server does.
const PASSWORD: &str = "hostile-S3cret";
/// What AUTH PLAIN sends for it (base64 of `\0user\0hostile-S3cret`).
const PLAIN_RESPONSE: &str = "AHVzZXIAaG9zdGlsZS1TM2NyZXQ=";

/// What a check of a run gets to look at.
struct Seen<'a> {
    lines: Vec<Line>,
    connections: usize,
    run: &'a Measured,
    /// When the server logged the first ETRN (polled every 5 ms).
    etrn_sent: Option<Instant>,
}

impl Seen<'_> {
    /// The `ETRN` lines the server got.
    fn etrn_lines(&self) -> Vec<&Line> {
        self.lines.iter().filter(|l| l.is_etrn()).collect()
    }

    /// The texts of connection `conn`.
    fn texts_on(&self, conn: usize) -> Vec<String> {
        texts_on(&self.lines, conn)
    }

    /// Connection `conn` was a plaintext dialogue by the book (EHLO, one
    /// ETRN, QUIT), and nothing anywhere went over TLS.
    fn assert_plain_dialogue_on(&self, conn: usize) {
        let dialogue = ["EHLO client.test", "ETRN a.test", "QUIT"];
        assert_eq!(self.texts_on(conn), dialogue, "{:#?}", self.lines);
        assert!(self.lines.iter().all(|l| !l.tls));
    }
}

/// One etrn run of a scenario.
struct EtrnCase {
    mode: Mode,
    status: i32,
    /// Phases in which this server makes etrn wait (up to T each); every
    /// other phase is answered at once. Bound: waits × T + SLACK.
    waits: u32,
    check: fn(&Seen),
}

struct Scenario {
    server: Spec,
    /// smtpdcheck's answer: up (exit 1, "127.0.0.1\n") or down (exit 0, "").
    up: bool,
    /// check_mx's status (0 OK, 1 WARNING, 2 CRITICAL).
    check_mx: i32,
    etrn: Vec<EtrnCase>,
}

/// A scripted server smtpdcheck must report up, and check_mx OK unless
/// the row says otherwise (its EHLO, TLS and QUIT are checked too).
fn up(script: Vec<Step>) -> Scenario {
    let (server, up, etrn) = (Spec::Script(script), true, Vec::new());
    Scenario {
        server,
        up,
        check_mx: OK,
        etrn,
    }
}

/// A scripted server smtpdcheck must report down, and check_mx CRITICAL.
fn down(script: Vec<Step>) -> Scenario {
    Scenario {
        up: false,
        check_mx: CRITICAL,
        ..up(script)
    }
}

/// A STARTTLS server (up, as its greeting is fine) that `--starttls off`
/// must ignore: never sent, and the plain dialogue done by the book.
fn starttls(behaviour: StartTls) -> Scenario {
    let (server, up) = (Spec::StartTls(behaviour), true);
    Scenario {
        server,
        up,
        check_mx: OK,
        etrn: Vec::new(),
    }
    .etrn(Off, 0, 0, off_ignores_starttls)
}

/// A STARTTLS server that spoils TLS (smtpdcheck: up): `--starttls off`
/// is unaffected; `require` fails (exit 3, `waits` phases) as `check`
/// says; opportunistic etrn falls back to a fresh plaintext session (exit
/// 0, `waits` phases). check_mx: a TLS failure is WARNING, but a wait
/// uses up its one timeout for the whole run: CRITICAL.
fn tls_spoiled(behaviour: StartTls, waits: u32, check: fn(&Seen)) -> Scenario {
    let check_mx = if waits == 0 { WARNING } else { CRITICAL };
    starttls(behaviour)
        .check_mx(check_mx)
        .etrn(Require, 3, waits, check)
        .etrn(Opportunistic, 0, waits, opportunistic_falls_back)
}

impl Scenario {
    /// check_mx's status is `status`.
    fn check_mx(self, status: i32) -> Scenario {
        Scenario {
            check_mx: status,
            ..self
        }
    }

    /// Adds an etrn run with `--starttls MODE`.
    fn etrn(mut self, mode: Mode, status: i32, waits: u32, check: fn(&Seen)) -> Scenario {
        self.etrn.push(EtrnCase {
            mode,
            status,
            waits,
            check,
        });
        self
    }
}

fn run_scenario(name: &str, scenario: Scenario) {
    let _guard = light();
    check_smtpdcheck(name, &scenario);
    check_check_mx(name, &scenario);
    for case in &scenario.etrn {
        check_etrn(name, &scenario.server, case);
    }
}

/// smtpdcheck: one overall limit T, so always within T + SLACK.
fn check_smtpdcheck(name: &str, scenario: &Scenario) {
    let server = scenario.server.start();
    let args = ["--no-cache", "--timeout", T_ARG, "127.0.0.1"];
    let m = measure("smtpdcheck", &server, &args);
    let bound = T + SLACK;
    let expected = if scenario.up { 1 } else { 0 };
    row(name, "smtpdcheck", &expected.to_string(), &m, bound);
    assert_sane(&format!("{name}: smtpdcheck"), &m, bound);
    assert_eq!(m.code, Some(expected), "{name}: smtpdcheck: {m:#?}");
    let stdout = if scenario.up { "127.0.0.1\n" } else { "" };
    assert_eq!(m.stdout, stdout, "{name}: smtpdcheck stdout: {m:#?}");
    // A probe says QUIT at most, never a command.
    for l in server.lines() {
        assert!(
            l.text.eq_ignore_ascii_case("QUIT") || l.text.starts_with("UNEXPECTED QUIT"),
            "{name}: smtpdcheck sent {l:?}"
        );
    }
}

/// check_mx, without and with `-v`: `-t T` bounds the whole run, so
/// always within T + SLACK. The output keeps the plugin contract whatever
/// the server sent: one `|` (the dialogue `-v` adds cannot start
/// performance data), at most [`CHECK_MX_OUTPUT_LIMIT`] bytes, nothing on
/// stderr; the server got nothing but EHLO (or HELO), STARTTLS and QUIT.
fn check_check_mx(name: &str, scenario: &Scenario) {
    for verbose in [None, Some("-v")] {
        let server = scenario.server.start();
        let mut args = vec!["--helo", "client.test", "-t", T_ARG, "-H", "127.0.0.1"];
        args.extend(verbose);
        let m = measure("check_mx", &server, &args);
        let bound = T + SLACK;
        let run = format!("check_mx {}", verbose.unwrap_or_default());
        let what = format!("{name}: {run}");
        row(name, &run, &scenario.check_mx.to_string(), &m, bound);
        assert_sane(&what, &m, bound);
        assert_eq!(m.code, Some(scenario.check_mx), "{what}: {m:#?}");
        let output = Plugin::read(&m.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {m:#?}"));
        let status = PLUGIN_STATUSES[scenario.check_mx as usize];
        assert_eq!(output.status, status, "{what}: {m:#?}");
        assert_eq!(m.stdout.matches('|').count(), 1, "{what}: {m:#?}");
        assert!(m.stdout.len() <= CHECK_MX_OUTPUT_LIMIT, "{what}: {m:#?}");
        assert_eq!(m.stderr, "", "{what}: {m:#?}");
        let allowed = ["EHLO client.test", "HELO client.test", "STARTTLS", "QUIT"];
        for l in server.lines() {
            let command = l.text.strip_prefix("UNEXPECTED ").unwrap_or(&l.text);
            assert!(
                allowed.contains(&command) || command.starts_with('*'),
                "{what}: sent {l:?}"
            );
        }
    }
}

fn check_etrn(name: &str, spec: &Spec, case: &EtrnCase) {
    let server = spec.start();
    let scratch = TempDir::new("hostile-ca");
    let mut args = vec!["--timeout", T_ARG, "--helo", "client.test", "--starttls"];
    let (ca_file, netrc);
    match case.mode {
        Mode::Off => args.push("off"),
        Mode::Opportunistic => args.push("opportunistic"),
        Mode::Require => args.push("require"),
        Mode::RequireCa => {
            let Spec::StartTls(behaviour) = spec else {
                panic!("RequireCa needs a STARTTLS server");
            };
            let pki = behaviour.pki().expect("RequireCa needs a PKI");
            ca_file = scratch.file("ca.pem", &pki.ca_pem);
            args.extend(["require", "--ca-file", path_arg(&ca_file)]);
        }
        Mode::Auth => {
            let text = format!("machine 127.0.0.1 login user password {PASSWORD}\n");
            netrc = scratch.file_with_mode("netrc", &text, 0o600);
            args.extend(["off", "--netrc", path_arg(&netrc), "--auth-plaintext"]);
        }
    }
    args.extend(["127.0.0.1", "a.test"]);
    let (m, etrn_sent) = measure_noting_etrn(&server, &args);
    let what = format!("{name}: etrn --starttls {:?}", case.mode);
    let bound = T * case.waits + SLACK;
    let etrn = format!("etrn {:?}", case.mode);
    row(name, &etrn, &case.status.to_string(), &m, bound);
    assert_sane(&what, &m, bound);
    assert_eq!(m.code, Some(case.status), "{what}: {m:#?}");
    assert_eq!(m.stdout, "", "{what}: stdout without -v: {m:#?}");
    for secret in [PASSWORD, PLAIN_RESPONSE] {
        assert!(
            !m.stderr.contains(secret),
            "{what}: a secret in stderr: {m:#?}"
        );
    }
    match case.status {
        // Each failure is one line on stderr.
        3 => assert_eq!(m.stderr_lines(), 1, "{what}: {m:#?}"),
        // Success is silent (an opportunistic fallback says so: checked by the case).
        0 if case.mode != Mode::Opportunistic => {
            assert_eq!(m.stderr, "", "{what}: {m:#?}")
        }
        _ => {}
    }
    let seen = Seen {
        lines: server.lines(),
        connections: server.connections(),
        run: &m,
        etrn_sent,
    };
    (case.check)(&seen);
}

/// Runs etrn with `args` against `server`; also when the server logged
/// the first ETRN.
fn measure_noting_etrn(server: &TestServer, args: &[&str]) -> (Measured, Option<Instant>) {
    let m = measure("etrn", server, args);
    let first_etrn = server.lines().into_iter().find(Line::is_etrn);
    (m, first_etrn.map(|l| l.at))
}

// --- checks ----------------------------------------------------------------

fn nothing(_: &Seen) {}

/// The server never got an ETRN.
fn no_etrn(seen: &Seen) {
    assert!(seen.etrn_lines().is_empty(), "{:#?}", seen.lines);
}

/// One plaintext dialogue, done by the book: EHLO, one ETRN, QUIT.
fn plain_dialogue(seen: &Seen) {
    assert_eq!(seen.connections, 1, "{:#?}", seen.lines);
    seen.assert_plain_dialogue_on(1);
}

/// The ETRN reply never came in time: exit within T + SLACK of the ETRN,
/// and not before T (the limit is honoured, not cut short).
fn etrn_timed_out(seen: &Seen) {
    let sent = seen.etrn_sent.expect("the server got an ETRN");
    let after = seen.run.ended.saturating_duration_since(sent);
    assert!(
        after <= T + SLACK,
        "exit {after:?} after the ETRN: {:#?}",
        seen.run
    );
    assert!(
        after + Duration::from_millis(100) >= T,
        "gave up {after:?} after the ETRN, before the {T:?} limit: {:#?}",
        seen.run
    );
    assert_eq!(seen.etrn_lines().len(), 1);
}

/// `--starttls off` with a server that offers STARTTLS: never sent.
fn off_ignores_starttls(seen: &Seen) {
    assert!(
        seen.lines.iter().all(|l| !l.text.starts_with("STARTTLS")),
        "{:#?}",
        seen.lines
    );
    plain_dialogue(seen);
}

/// Required TLS failed: the only connection stopped right after STARTTLS
/// (no command, nor TLS bytes after an injected reply), no ETRN anywhere.
fn require_stops_after_starttls(seen: &Seen) {
    require_stops_with(seen, &["EHLO client.test", "STARTTLS"]);
}

/// Required TLS with a server that answers the ClientHello with garbage.
fn require_stops_at_garbage(seen: &Seen) {
    let first = [
        "EHLO client.test",
        "STARTTLS",
        "*CLIENTHELLO",
        "*GARBAGE-SENT",
    ];
    require_stops_with(seen, &first);
}

/// No ETRN, one connection, and exactly `first` logged on it.
fn require_stops_with(seen: &Seen, first: &[&str]) {
    no_etrn(seen);
    assert_eq!(seen.connections, 1, "{:#?}", seen.lines);
    assert_eq!(seen.texts_on(1), first, "{:#?}", seen.lines);
}

/// Opportunistic after a failed STARTTLS: the first connection ended at
/// STARTTLS, a fresh plaintext session did the work, stderr says so once.
fn opportunistic_falls_back(seen: &Seen) {
    assert_eq!(seen.connections, 2, "{:#?}", seen.lines);
    let first = seen.texts_on(1);
    assert_eq!(first[..2], ["EHLO client.test", "STARTTLS"], "{first:#?}");
    assert!(
        first[2..].iter().all(|l| l.starts_with('*')),
        "no command after STARTTLS on the first connection: {first:#?}"
    );
    seen.assert_plain_dialogue_on(2);
    assert_eq!(seen.run.stderr_lines(), 1, "{:#?}", seen.run);
    assert!(
        seen.run.stderr.contains("without TLS"),
        "the fallback is reported: {:#?}",
        seen.run
    );
}

/// Required TLS with a certificate for another name: the handshake was
/// refused by the client, no ETRN.
fn require_refuses_certificate(seen: &Seen) {
    no_etrn(seen);
    assert_eq!(seen.connections, 1, "{:#?}", seen.lines);
    let first = seen.texts_on(1);
    assert_eq!(first[..2], ["EHLO client.test", "STARTTLS"], "{first:#?}");
    assert!(
        first.iter().any(|l| l.starts_with("*TLS-FAILED")),
        "{first:#?}"
    );
    assert!(!first.iter().any(|l| l == "*TLS-OK"), "{first:#?}");
}

/// AUTH did not succeed: it was sent once (PLAIN, with the initial
/// response), and no ETRN followed.
fn auth_failed(seen: &Seen) {
    no_etrn(seen);
    assert_eq!(seen.connections, 1, "{:#?}", seen.lines);
    let auth = format!("AUTH PLAIN {PLAIN_RESPONSE}");
    let sent = seen.texts_on(1);
    assert_eq!(sent[..2], ["EHLO client.test", auth.as_str()], "{sent:#?}");
}

/// AUTH refused with a 5xx: etrn said QUIT, sent no ETRN.
fn auth_refused(seen: &Seen) {
    auth_failed(seen);
    assert_eq!(seen.texts_on(1).last().map(String::as_str), Some("QUIT"));
}

/// Opportunistic TLS does not verify: the dialogue went on over TLS.
fn etrn_over_tls(seen: &Seen) {
    assert_eq!(seen.connections, 1, "{:#?}", seen.lines);
    let etrn = seen.etrn_lines();
    assert_eq!(etrn.len(), 1, "{:#?}", seen.lines);
    assert!(etrn[0].tls, "ETRN over TLS: {:#?}", seen.lines);
}

// --- payloads --------------------------------------------------------------

/// Deterministic pseudo-random bytes (xorshift64).
pub fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// 1 MB of seeded binary that does not begin like a reply line.
fn random_binary() -> Vec<u8> {
    let bytes = seeded_bytes(0x5eed_1e55_c0ff_ee00, 1 << 20);
    assert!(
        !bytes[..3].iter().all(u8::is_ascii_digit),
        "the seed must not start with a code"
    );
    bytes
}

/// About 2 MB of `CODE-xxxxxxxx\r\n` continuation lines.
fn continuation_flood(code: &str) -> Vec<u8> {
    format!("{code}-xxxxxxxx\r\n").into_bytes().repeat(150_000)
}

/// A greeting and an EHLO reply offering AUTH PLAIN, then the AUTH
/// command awaited and `after_auth` played.
fn auth_offered(after_auth: Vec<Step>) -> Vec<Step> {
    let offer = [
        line("220 auth.test ESMTP"),
        reply("EHLO", "250-auth.test\n250-AUTH PLAIN\n250 ETRN"),
        expect("AUTH PLAIN"),
    ];
    [offer.to_vec(), after_auth].concat()
}

/// EHLO offers ETRN, ETRN is accepted, QUIT answered.
fn etrn_service() -> Step {
    serve(&[
        ("EHLO", "250-hostile.test\n250 ETRN"),
        ("ETRN", "250 Queuing started"),
    ])
}

/// A good greeting and EHLO, then the ETRN reply dripped one byte per
/// `every` (21 bytes: 20 pauses), then QUIT answered.
fn dripped_etrn_reply(every: Duration) -> Vec<Step> {
    vec![
        line("220 drip.test ESMTP"),
        reply("EHLO", "250-drip.test\n250 ETRN"),
        expect("ETRN"),
        Step::Drip {
            bytes: b"250 Queuing started\r\n".to_vec(),
            every,
        },
        serve(&[]),
    ]
}

macro_rules! scenarios {
    ($($(#[$doc:meta])* $name:ident => $scenario:expr;)*) => {
        $(
            $(#[$doc])*
            #[test]
            fn $name() {
                run_scenario(stringify!($name), $scenario);
            }
        )*
    };
}

// Every scenario runs `smtpdcheck --no-cache --port P --timeout 1 127.0.0.1`
// (bound T + 0.5 s; up = exit 1 and "127.0.0.1\n", down = exit 0 and no
// output), `check_mx --port P --helo client.test -t 1 -H 127.0.0.1` (bound
// T + 0.5 s; up: OK, down: CRITICAL unless the row says otherwise; plugin
// output in the contract's grammar, nothing on stderr, nothing sent but
// EHLO, HELO, STARTTLS and QUIT) and `etrn --port P --timeout 1 --helo client.test --starttls MODE
// 127.0.0.1 a.test` per listed MODE (Auth: `--starttls off --netrc FILE
// --auth-plaintext`, FILE holding a password that must appear in no
// output) (bound waits × T + 0.5 s; stdout empty;
// exit 3 = exactly one stderr line; exit 0 = silent stderr except the
// opportunistic fallback note). Every run: peak RSS < 16 MiB, no panic.
scenarios! {
    /// Accepts and never says anything. smtpdcheck: down (0) at T.
    /// etrn off: 3 after the greeting phase times out (waits 1).
    no_greeting_ever => down(vec![]).etrn(Off, 3, 1, nothing);

    /// `220 ok\r\n` dripped one byte every 0.5 s (3.5 s in all, > T): not a
    /// complete greeting within T. smtpdcheck: 0 at T. etrn off: 3 (waits 1).
    greeting_dripped_beyond_the_timeout => down(vec![Step::Drip {
        bytes: b"220 ok\r\n".to_vec(),
        every: Duration::from_millis(500),
    }])
    .etrn(Off, 3, 1, nothing);

    /// ~2 MB of `220-xxxxxxxx` continuation lines sent at once, never a
    /// last line: refused at the 4 KiB reply limit, at once.
    /// smtpdcheck: 0. etrn off: 3 (waits 0).
    endless_220_continuation_lines =>
        down(vec![Step::Send(continuation_flood("220"))]).etrn(Off, 3, 0, nothing);

    /// One 10 MB line without CRLF: "reply too long" at once.
    /// smtpdcheck: 0. etrn off: 3 (waits 0).
    ten_megabyte_line_without_crlf =>
        down(vec![Step::Send(vec![b'x'; 10 << 20])]).etrn(Off, 3, 0, nothing);

    /// 1 MB of seeded random binary instead of a greeting: malformed at
    /// once. smtpdcheck: 0. etrn off: 3 (waits 0).
    random_binary_greeting => down(vec![Step::Send(random_binary())]).etrn(Off, 3, 0, nothing);

    /// `220` with invalid UTF-8 in its text: a complete 220 greeting.
    /// smtpdcheck: up (1). etrn off: proceeds, ETRN accepted, 0 (waits 0).
    invalid_utf8_in_220_line => up(vec![
        Step::Send(b"220 \xff\xfe mail\xc3\x28 ready \x80\r\n".to_vec()),
        etrn_service(),
    ])
    .etrn(Off, 0, 0, plain_dialogue);

    /// `22 ok`: a two-digit code is not a reply. smtpdcheck: 0. etrn off: 3
    /// at once (waits 0).
    two_digit_reply_code => down(vec![line("22 ok")]).etrn(Off, 3, 0, nothing);

    /// `2200 ok`: a four-digit code is not a reply. smtpdcheck: 0. etrn off:
    /// 3 at once (waits 0).
    four_digit_reply_code => down(vec![line("2200 ok")]).etrn(Off, 3, 0, nothing);

    /// `220` alone (no text) is a complete greeting. smtpdcheck: up (1).
    /// etrn off: 0 (waits 0).
    bare_220_greeting => up(vec![line("220"), etrn_service()]).etrn(Off, 0, 0, plain_dialogue);

    /// Every server line ends in a bare LF (greeting, EHLO, ETRN, QUIT
    /// replies). smtpdcheck: up (1). etrn off: 0 (waits 0).
    lf_only_line_endings => up(vec![
        send("220 lf.test ESMTP\n"),
        expect("EHLO"),
        send("250-lf.test\n250 ETRN\n"),
        expect("ETRN"),
        send("250 Queuing started\n"),
        expect("QUIT"),
        send("221 bye\n"),
        Step::Close,
    ])
    .etrn(Off, 0, 0, plain_dialogue);

    /// FIN right after accept. smtpdcheck: 0 at once. etrn off: 3 (waits 0).
    close_right_after_accept => down(vec![Step::Close]).etrn(Off, 3, 0, nothing);

    /// RST right after accept. smtpdcheck: 0 at once. etrn off: 3 (waits 0).
    reset_on_accept => down(vec![Step::Reset]).etrn(Off, 3, 0, nothing);

    /// `220-first` then FIN: closed in the middle of the greeting.
    /// smtpdcheck: 0 at once. etrn off: 3 (waits 0).
    close_in_the_middle_of_a_reply =>
        down(vec![send("220-first\r\n"), Step::Close]).etrn(Off, 3, 0, nothing);

    /// Good greeting, EHLO answered with ~2 MB of `250-` continuation
    /// lines. smtpdcheck: up (1), the greeting was fine. check_mx: down at
    /// EHLO, CRITICAL. etrn off: 3 at the reply limit, never an ETRN
    /// (waits 0).
    ehlo_answered_with_endless_continuation => up(vec![
        line("220 flood.test ESMTP"),
        expect("EHLO"),
        Step::Send(continuation_flood("250")),
    ])
    .check_mx(CRITICAL)
    .etrn(Off, 3, 0, no_etrn);

    /// The ETRN reply dripped one byte every 30 ms (0.6 s < T): complete in
    /// time. smtpdcheck: 1. etrn off: 0 (waits 1).
    etrn_reply_dripped_within_the_timeout =>
        up(dripped_etrn_reply(Duration::from_millis(30))).etrn(Off, 0, 1, plain_dialogue);

    /// The ETRN reply dripped one byte every 150 ms (3 s > T): the ETRN
    /// phase times out. smtpdcheck: 1. etrn off: 3, exit within T + 0.5 s
    /// of the ETRN and not before T (waits 1).
    etrn_reply_dripped_beyond_the_timeout =>
        up(dripped_etrn_reply(Duration::from_millis(150))).etrn(Off, 3, 1, etrn_timed_out);

    /// ETRN never answered. smtpdcheck: 1. etrn off: 3 within T + 0.5 s
    /// after the ETRN is sent (waits 1).
    etrn_never_answered => up(vec![
        line("220 mute.test ESMTP"),
        reply("EHLO", "250-mute.test\n250 ETRN"),
        expect("ETRN"),
    ])
    .etrn(Off, 3, 1, etrn_timed_out);

    /// `220 ok` ended by a bare CR, then silence: never a complete line.
    /// smtpdcheck: 0 at T. etrn off: 3 (waits 1).
    greeting_ended_by_cr_only => down(vec![send("220 ok\r")]).etrn(Off, 3, 1, nothing);

    /// `220-a` then `554 b`: a multi-line reply mixing codes is malformed.
    /// smtpdcheck: 0 at once. etrn off: 3 (waits 0).
    greeting_mixing_codes => down(vec![send("220-a\r\n554 b\r\n")]).etrn(Off, 3, 0, nothing);

    /// NUL, ESC and invalid UTF-8 in the greeting, EHLO and ETRN reply
    /// texts: still well-formed replies. smtpdcheck: 1. etrn off: 0 (waits 0).
    control_bytes_and_invalid_utf8_in_every_reply => up(vec![
        Step::Send(b"220 a\0b\x1b[31m \xff\r\n".to_vec()),
        expect("EHLO"),
        Step::Send(b"250-\xff\xfe host\0\r\n250 ETRN\r\n".to_vec()),
        expect("ETRN"),
        Step::Send(b"250 \xc3\x28 queued\x1b\r\n".to_vec()),
        serve(&[]),
    ])
    .etrn(Off, 0, 0, plain_dialogue);

    /// Each of greeting, EHLO reply and ETRN reply comes after 0.7 s (< T
    /// each, 2.1 s > T in all): etrn's limit is per phase. smtpdcheck: 1 at
    /// 0.7 s. check_mx: its limit is for the whole run, CRITICAL (timed out
    /// at EHLO). etrn off: 0 (waits 3).
    every_phase_slow_but_within_its_limit => up(vec![
        Step::Sleep(Duration::from_millis(700)),
        line("220 slow.test ESMTP"),
        expect("EHLO"),
        Step::Sleep(Duration::from_millis(700)),
        line("250-slow.test\n250 ETRN"),
        expect("ETRN"),
        Step::Sleep(Duration::from_millis(700)),
        line("250 Queuing started"),
        serve(&[]),
    ])
    .check_mx(CRITICAL)
    .etrn(Off, 0, 3, plain_dialogue);

    /// EHLO never answered. smtpdcheck: 1. check_mx: CRITICAL at T. etrn
    /// off: 3 at T, no ETRN (waits 1).
    ehlo_never_answered => up(vec![line("220 mute.test ESMTP"), expect("EHLO")])
        .check_mx(CRITICAL)
        .etrn(Off, 3, 1, no_etrn);

    /// EHLO answered with mixed codes (`250-x`, `550 ETRN`): malformed.
    /// smtpdcheck: 1. check_mx: down at EHLO, CRITICAL (its QUIT waits for
    /// a reply until T). etrn off: 3 at once, no ETRN (waits 0).
    ehlo_reply_mixing_codes => up(vec![
        line("220 mixed.test ESMTP"),
        reply("EHLO", "250-mixed.test\n550 ETRN"),
    ])
    .check_mx(CRITICAL)
    .etrn(Off, 3, 0, no_etrn);

    /// ETRN answered with ~2 MB of `250-` continuation lines: "reply too
    /// long". smtpdcheck: 1. etrn off: 3 at once (waits 0).
    etrn_reply_endless_continuation => up(vec![
        line("220 flood.test ESMTP"),
        reply("EHLO", "250-flood.test\n250 ETRN"),
        expect("ETRN"),
        Step::Send(continuation_flood("250")),
    ])
    .etrn(Off, 3, 0, nothing);

    /// ETRN accepted, QUIT never answered: the answer is already known.
    /// smtpdcheck: 1. etrn off: 0 after the QUIT phase's T (waits 1).
    quit_never_answered => up(vec![
        line("220 mute.test ESMTP"),
        reply("EHLO", "250-mute.test\n250 ETRN"),
        reply("ETRN", "250 Queuing started"),
        expect("QUIT"),
    ])
    .etrn(Off, 0, 1, plain_dialogue);

    /// AUTH never answered. smtpdcheck: 1. etrn with credentials: 3 at T,
    /// no ETRN (waits 1).
    auth_never_answered => up(auth_offered(vec![])).etrn(Auth, 3, 1, auth_failed);

    /// AUTH answered with ~2 MB of `334-` continuation lines: refused at
    /// the reply limit. smtpdcheck: 1. etrn with credentials: 3 at once, no
    /// ETRN (waits 0).
    auth_answered_with_endless_continuation =>
        up(auth_offered(vec![Step::Send(continuation_flood("334"))])).etrn(Auth, 3, 0, auth_failed);

    /// AUTH answered with a 10 MB `334` challenge line without CRLF.
    /// smtpdcheck: 1. etrn with credentials: 3 at once, no ETRN (waits 0).
    auth_challenge_of_ten_megabytes => up(auth_offered(vec![Step::Send(
        [b"334 ".to_vec(), vec![b'x'; 10 << 20]].concat(),
    )]))
    .etrn(Auth, 3, 0, auth_failed);

    /// AUTH answered with 1 MB of random binary. smtpdcheck: 1. etrn with
    /// credentials: 3 at once, no ETRN (waits 0).
    auth_answered_with_random_binary =>
        up(auth_offered(vec![Step::Send(random_binary())])).etrn(Auth, 3, 0, auth_failed);

    /// `235` to AUTH dripped one byte every 150 ms (> T). smtpdcheck: 1.
    /// etrn with credentials: 3 at T, no ETRN (waits 1).
    auth_reply_dripped_beyond_the_timeout => up(auth_offered(vec![Step::Drip {
        bytes: b"235 2.7.0 ok\r\n".to_vec(),
        every: Duration::from_millis(150),
    }]))
    .etrn(Auth, 3, 1, auth_failed);

    /// The connection closed right after AUTH. smtpdcheck: 1. etrn with
    /// credentials: 3 at once, no ETRN (waits 0).
    connection_closed_after_auth =>
        up(auth_offered(vec![Step::Close])).etrn(Auth, 3, 0, auth_failed);

    /// AUTH refused `535`. smtpdcheck: 1. etrn with credentials: 1, QUIT
    /// and no ETRN (waits 0).
    auth_refused_with_535 => up(auth_offered(vec![line("535 5.7.8 no"), serve(&[])]))
        .etrn(Auth, 1, 0, auth_refused);

    /// STARTTLS offered but never answered. smtpdcheck: 1. etrn off: 0.
    /// require: 3 at T, no ETRN. opportunistic: gives up on TLS at T, fresh
    /// plaintext session, 0 (waits 1, off 0).
    starttls_never_answered => tls_spoiled(StartTls::Mute, 1, require_stops_after_starttls);

    /// STARTTLS answered `220`, then the ClientHello is never answered.
    /// smtpdcheck: 1. etrn off: 0. require: 3 at T (handshake phase), no
    /// ETRN. opportunistic: plaintext retry after T, 0 (waits 1, off 0).
    starttls_handshake_stalled => tls_spoiled(StartTls::Stall, 1, require_stops_after_starttls);

    /// STARTTLS answered `220 ready\r\n250 injected\r\n` in one write.
    /// smtpdcheck: 1. etrn off: STARTTLS never sent, 0. etrn require: 3,
    /// nothing sent after STARTTLS, no ETRN. etrn opportunistic: the
    /// injected line is not acted on; a fresh plaintext session, 0 (all
    /// waits 0).
    starttls_response_injection => tls_spoiled(StartTls::Inject, 0, require_stops_after_starttls);

    /// STARTTLS answered `220`, then non-TLS bytes instead of a handshake.
    /// smtpdcheck: 1. etrn off: 0. require: 3, no ETRN. opportunistic:
    /// plaintext retry, 0 (all waits 0).
    starttls_then_garbage_instead_of_tls =>
        tls_spoiled(StartTls::Garbage, 0, require_stops_at_garbage);

    /// A real TLS server whose certificate (signed by the given CA) is for
    /// 127.0.0.9, not 127.0.0.1. smtpdcheck: 1. check_mx (the system
    /// store): the certificate does not verify, WARNING. etrn off: 0.
    /// require --ca-file: 3, the handshake is refused, no ETRN.
    /// opportunistic (no verification, RFC 7435): ETRN over TLS, 0 (all
    /// waits 0).
    starttls_certificate_for_the_wrong_name =>
        starttls(StartTls::Handshake(Pki::new("127.0.0.9")))
        .check_mx(WARNING)
        .etrn(RequireCa, 3, 0, require_refuses_certificate)
        .etrn(Opportunistic, 0, 0, etrn_over_tls);
}
