//! One server and its greeting: what counts as up (a complete 220 reply in
//! time), what as down, and how soon the answer comes.

use std::time::Duration;

use crate::support::*;
use crate::*;

/// `smtpdcheck --timeout T 127.0.0.1` against a server playing the script:
/// the verdict, then each check on the server and the run.
macro_rules! probes {
    ($($(#[$doc:meta])* $name:ident: $script:expr, timeout $t:literal => $verdict:expr
        $(, $check:expr)*;)*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            let server = script_server($script);
            let run = check_at(&server, &["--timeout", $t, "127.0.0.1"]);
            ($verdict)(&run);
            $( ($check)(&server, &run); )*
        }
    )*};
}

/// The server saw exactly one connection.
fn one_connection(server: &TestServer, _: &Run) {
    assert_eq!(server.connections(), 1);
}

/// The probe said QUIT at most.
fn only_quit(server: &TestServer, _: &Run) {
    assert_only_quit(server);
}

/// Reported available, as `127.0.0.1`.
fn up(run: &Run) {
    assert_up(run, "127.0.0.1");
}

probes! {
    up_server_is_reported_with_exit_1:
        vec![line("220 ok")], timeout "1" => up, one_connection, only_quit;
    multi_line_220_greeting_is_up: vec![line("220-a\n220 b")], timeout "1" => up;
    bare_lf_greeting_is_up: vec![send("220 hi\n")], timeout "1" => up;
    bare_lf_multi_line_greeting_is_up: vec![send("220-a\n220 b\n")], timeout "1" => up;
    multi_line_greeting_ending_in_a_bare_220_is_up:
        vec![send("220-hello\r\n220\r\n")], timeout "1" => up;
    bare_220_code_alone_is_up: vec![send("220\r\n")], timeout "1" => up;
    non_utf8_greeting_text_is_up:
        vec![Step::Send(b"220 caf\xe9 \xff\xfe bienvenue\r\n".to_vec())], timeout "1" => up;
    greeting_with_enhanced_status_code_is_up:
        vec![line("220 2.0.0 ready")], timeout "1" => up;
    dripped_greeting_is_up:
        vec![Step::Drip { bytes: b"220 ok\r\n".to_vec(), every: Duration::from_millis(50) }],
        timeout "2" => up;
    /// `--timeout 0` means no limit.
    timeout_0_means_no_limit: vec![line("220 ok")], timeout "0" => up;

    greeting_554_is_down: vec![line("554 go away")], timeout "1" => down, only_quit;
    greeting_421_is_down: vec![line("421 busy")], timeout "1" => down;
    mixed_codes_in_multi_line_greeting_is_down:
        vec![line("220-hi\n554 no")], timeout "1" => down;
    four_digit_code_is_down: vec![line("2200 ok")], timeout "1" => down;
    garbage_greeting_is_down: vec![line("HTTP/1.0 400 Bad Request")], timeout "1" => down;
    /// 10 KB without a line end, then silence.
    endless_greeting_line_is_down_within_the_timeout:
        vec![Step::Send([b"220 ".as_slice(), &[b'x'; 10 * 1024]].concat())],
        timeout "1" => down, took(0..1600);
    /// `220-` lines that never end in a final line, then silence.
    endless_continuation_lines_are_down_within_the_timeout:
        vec![line(&vec!["220-more"; 5000].join("\n"))], timeout "1" => down, took(0..1600);
    /// EOF is no timeout: the answer comes at once.
    partial_220_line_then_close_is_down:
        vec![send("220 partial"), Step::Close], timeout "1" => down, took(0..900);
    greeting_ended_by_cr_only_then_close_is_down:
        vec![send("220 ok\r"), Step::Close], timeout "1" => down;
    unfinished_multi_line_greeting_then_close_is_down:
        vec![line("220-first"), Step::Close], timeout "1" => down;
    unfinished_multi_line_greeting_then_silence_is_down:
        vec![line("220-first")], timeout "1" => down, took(900..1600);
    close_right_after_accept_is_down:
        vec![Step::Close], timeout "1" => down, one_connection, took(0..900);
    reset_on_accept_is_down:
        vec![Step::Reset], timeout "1" => down, one_connection, took(0..900);
    silent_server_is_down_after_the_timeout:
        vec![], timeout "1" => down, one_connection, took(900..1600);
    silent_server_with_fractional_timeout: vec![], timeout "0.5" => down, took(400..1100);
    greeting_later_than_the_timeout_is_down:
        vec![Step::Sleep(Duration::from_millis(3000)), line("220 late")],
        timeout "1" => down, took(900..1600);
}

#[test]
fn greeting_longer_than_the_reply_limit_is_down_at_once() {
    // 80 continuation lines of 70 octets, about 5.8 KB in all: every line
    // is short, but the whole reply is over the documented 4 KiB bound
    // (smtp-proto's MAX_RESPONSE_LENGTH), so it is refused as too long,
    // promptly rather than at the timeout.
    let mut text = String::new();
    for i in 0..80 {
        text.push_str(&format!("220-{i:03} {}\n", "x".repeat(62)));
    }
    text.push_str("220 ready");
    let server = greeting_server(&text);
    let run = check_at(&server, &["-v", "--timeout", "5", "127.0.0.1"]);
    down(&run);
    assert!(run.stderr.contains("reply too long"), "{run:#?}");
    assert!(run.elapsed < Duration::from_secs(2), "{run:#?}");
}

#[test]
fn unaccepted_connection_is_down_after_the_timeout() {
    // The kernel completes the handshake, but nobody ever accepts.
    let (_listener, addr) = silent_listener("127.0.0.1:0");
    let run = probe(&addr);
    down(&run);
    assert!(run.elapsed >= Duration::from_millis(900), "{run:?}");
    assert!(run.elapsed < Duration::from_millis(1600), "{run:?}");
}

#[test]
fn refused_port_is_down_fast() {
    let run = probe(&refused_addr());
    down(&run);
    assert!(run.elapsed < Duration::from_millis(500), "{run:?}");
}
