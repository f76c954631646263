//! Integration tests of the `smtpdcheck` applet: the built binary against
//! scripted servers on loopback (127.0.0.0/8, [::1]) only.
//!
//! Contract: exit 1 and the server's name (as given, without its prio) on
//! stdout when one is available; exit 0 and nothing on stdout when none is;
//! exit 2 on a usage or system error.
//!
//! No test causes a DNS query: servers are IP literals, and the only names
//! are ones the resolver refuses by syntax (a label longer than 63 octets).
//! Every run is bounded by a small `--timeout` (and by the harness's kill
//! timer); time bounds leave a wide margin for a loaded 2-core machine.

mod support;

use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::*;

/// The cache file's first line.
const CACHE_HEADER: &str = "# smtpbox smtpdcheck cache v1";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `smtpbox smtpdcheck ARGS` with a private cache.
fn check(args: &[&str]) -> Run {
    run_applet("smtpdcheck", args)
}

/// `smtpbox smtpdcheck ARGS` with `XDG_CACHE_HOME` set to `cache_home`.
fn check_cached(cache_home: &Path, args: &[&str]) -> Run {
    let home = cache_home.to_str().expect("utf-8 temp path");
    run_applet_with("smtpdcheck", args, &[("XDG_CACHE_HOME", home)], true)
}

/// A name the resolver refuses by syntax (a label of 70 octets), so using
/// it never sends a DNS query.
fn unresolvable_name() -> String {
    format!("{}.example", "a".repeat(70))
}

fn assert_up(run: &Run, name: &str) {
    assert_eq!(run.status, Some(1), "expected 'available': {run:#?}");
    assert_eq!(run.stdout, format!("{name}\n"), "{run:#?}");
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
}

fn assert_down(run: &Run) {
    assert_eq!(run.status, Some(0), "expected 'none available': {run:#?}");
    assert_eq!(run.stdout, "", "{run:#?}");
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
}

/// A usage error: exit 2, nothing on stdout, exactly one line on stderr.
fn assert_usage_error_one_line(run: &Run) {
    assert_eq!(run.status, Some(2), "{run:#?}");
    assert_eq!(run.stdout, "", "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {run:#?}");
    assert!(run.stderr.ends_with('\n'), "{run:#?}");
}

/// Starts a server on 127.0.0.1 with `script` and probes it (`127.0.0.1`,
/// `--port` its port) with `--timeout timeout`.
fn probe_script(script: Vec<Step>, timeout: &str) -> (ScriptedServer, Run) {
    let server = ScriptedServer::start("127.0.0.1:0", script);
    let port = server.port().to_string();
    let run = check(&["--port", &port, "--timeout", timeout, "127.0.0.1"]);
    (server, run)
}

/// Servers on one port on several 127.0.0.x addresses; `None` (and a note
/// on stderr) when those addresses cannot be bound here.
fn same_port_or_skip(specs: Vec<(&str, Vec<Step>)>) -> Option<Vec<ScriptedServer>> {
    for (ip, _) in &specs {
        let addr: SocketAddr = format!("{ip}:0").parse().expect("literal");
        if TcpListener::bind(addr).is_err() {
            eprintln!("SKIPPED: cannot bind {ip} here");
            return None;
        }
    }
    Some(ScriptedServer::start_same_port(specs))
}

fn greets(text: &str) -> Vec<Step> {
    vec![line(text)]
}

/// Every line a server received, after all its connections ended: a probe
/// may say QUIT, and nothing else.
fn assert_only_quit(server: &ScriptedServer) {
    assert!(
        server.wait_idle(Duration::from_secs(5)),
        "connections ended"
    );
    for l in server.received() {
        assert!(l.eq_ignore_ascii_case("QUIT"), "probe sent {l:?}");
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
}

fn cache_file(cache_home: &Path) -> PathBuf {
    cache_home.join("smtpbox").join("smtpdcheck")
}

/// Creates `$XDG_CACHE_HOME/smtpbox` with mode 0700 (what smtpdcheck
/// itself would create), returning the cache file's path.
fn private_cache_dir(cache_home: &Path) -> PathBuf {
    let dir = cache_home.join("smtpbox");
    fs::create_dir(&dir).expect("mkdir smtpbox");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod 0700");
    dir.join("smtpdcheck")
}

/// Checks the cache file's format: the header, then `ADDR up|down MS` lines.
fn assert_cache_format(text: &str) {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(CACHE_HEADER), "header: {text:?}");
    assert!(text.ends_with('\n'), "{text:?}");
    for l in lines {
        let fields: Vec<&str> = l.split(' ').collect();
        assert_eq!(fields.len(), 3, "bad cache line {l:?}");
        fields[0]
            .parse::<SocketAddr>()
            .unwrap_or_else(|_| panic!("bad address in {l:?}"));
        assert!(matches!(fields[1], "up" | "down"), "bad state in {l:?}");
        fields[2]
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("bad time in {l:?}"));
    }
}

/// Waits (bounded) for a child spawned by a test itself.
fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        match child.try_wait().expect("try_wait") {
            Some(status) => return status.code(),
            None if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("child still running after {limit:?}");
            }
            None => thread::sleep(Duration::from_millis(10)),
        }
    }
}

// ---------------------------------------------------------------------------
// Greetings
// ---------------------------------------------------------------------------

#[test]
fn up_server_is_reported_with_exit_1() {
    let (server, run) = probe_script(greets("220 ok"), "1");
    assert_up(&run, "127.0.0.1");
    assert_eq!(server.connections(), 1);
    assert_only_quit(&server);
}

#[test]
fn multi_line_220_greeting_is_up() {
    let (_server, run) = probe_script(vec![line("220-a\n220 b")], "1");
    assert_up(&run, "127.0.0.1");
}

#[test]
fn bare_lf_greeting_is_up() {
    let (_server, run) = probe_script(vec![send("220 hi\n")], "1");
    assert_up(&run, "127.0.0.1");
}

#[test]
fn bare_lf_multi_line_greeting_is_up() {
    let (_server, run) = probe_script(vec![send("220-a\n220 b\n")], "1");
    assert_up(&run, "127.0.0.1");
}

#[test]
fn multi_line_greeting_ending_in_a_bare_220_is_up() {
    let (_server, run) = probe_script(vec![send("220-hello\r\n220\r\n")], "1");
    assert_up(&run, "127.0.0.1");
}

#[test]
fn bare_220_code_alone_is_up() {
    let (_server, run) = probe_script(vec![send("220\r\n")], "1");
    assert_up(&run, "127.0.0.1");
}

#[test]
fn non_utf8_greeting_text_is_up() {
    let (_server, run) = probe_script(
        vec![Step::Send(b"220 caf\xe9 \xff\xfe bienvenue\r\n".to_vec())],
        "1",
    );
    assert_up(&run, "127.0.0.1");
}

#[test]
fn greeting_with_enhanced_status_code_is_up() {
    let (_server, run) = probe_script(greets("220 2.0.0 ready"), "1");
    assert_up(&run, "127.0.0.1");
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
    let server = ScriptedServer::start("127.0.0.1:0", vec![line(&text)]);
    let port = server.port().to_string();
    let run = check(&["-v", "--port", &port, "--timeout", "5", "127.0.0.1"]);
    assert_down(&run);
    assert!(run.stderr.contains("reply too long"), "{run:#?}");
    assert!(run.elapsed < Duration::from_secs(2), "{run:#?}");
}

#[test]
fn dripped_greeting_is_up() {
    let script = vec![Step::Drip {
        bytes: b"220 ok\r\n".to_vec(),
        every: Duration::from_millis(50),
    }];
    let (_server, run) = probe_script(script, "2");
    assert_up(&run, "127.0.0.1");
}

#[test]
fn greeting_554_is_down() {
    let (server, run) = probe_script(greets("554 go away"), "1");
    assert_down(&run);
    assert_only_quit(&server);
}

#[test]
fn greeting_421_is_down() {
    let (_server, run) = probe_script(greets("421 busy"), "1");
    assert_down(&run);
}

#[test]
fn mixed_codes_in_multi_line_greeting_is_down() {
    let (_server, run) = probe_script(vec![line("220-hi\n554 no")], "1");
    assert_down(&run);
}

#[test]
fn four_digit_code_is_down() {
    let (_server, run) = probe_script(greets("2200 ok"), "1");
    assert_down(&run);
}

#[test]
fn garbage_greeting_is_down() {
    let (_server, run) = probe_script(greets("HTTP/1.0 400 Bad Request"), "1");
    assert_down(&run);
}

#[test]
fn endless_greeting_line_is_down_within_the_timeout() {
    // 10 KB without a line end, then silence.
    let mut bytes = b"220 ".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 10 * 1024));
    let (_server, run) = probe_script(vec![Step::Send(bytes)], "1");
    assert_down(&run);
    assert!(run.elapsed < Duration::from_millis(1600), "{run:?}");
}

#[test]
fn endless_continuation_lines_are_down_within_the_timeout() {
    // `220-` lines that never end in a final line, then silence.
    let text = vec!["220-more"; 5000].join("\n");
    let (_server, run) = probe_script(vec![line(&text)], "1");
    assert_down(&run);
    assert!(run.elapsed < Duration::from_millis(1600), "{run:?}");
}

#[test]
fn partial_220_line_then_close_is_down() {
    let (_server, run) = probe_script(vec![send("220 partial"), Step::Close], "1");
    assert_down(&run);
    assert!(
        run.elapsed < Duration::from_millis(900),
        "EOF is no timeout: {run:?}"
    );
}

#[test]
fn greeting_ended_by_cr_only_then_close_is_down() {
    let (_server, run) = probe_script(vec![send("220 ok\r"), Step::Close], "1");
    assert_down(&run);
}

#[test]
fn unfinished_multi_line_greeting_then_close_is_down() {
    let (_server, run) = probe_script(vec![line("220-first"), Step::Close], "1");
    assert_down(&run);
}

#[test]
fn unfinished_multi_line_greeting_then_silence_is_down() {
    let (_server, run) = probe_script(vec![line("220-first")], "1");
    assert_down(&run);
    assert!(run.elapsed >= Duration::from_millis(900), "{run:?}");
    assert!(run.elapsed < Duration::from_millis(1600), "{run:?}");
}

#[test]
fn close_right_after_accept_is_down() {
    let (server, run) = probe_script(vec![Step::Close], "1");
    assert_down(&run);
    assert_eq!(server.connections(), 1);
    assert!(run.elapsed < Duration::from_millis(900), "{run:?}");
}

#[test]
fn reset_on_accept_is_down() {
    let (server, run) = probe_script(vec![Step::Reset], "1");
    assert_down(&run);
    assert_eq!(server.connections(), 1);
    assert!(run.elapsed < Duration::from_millis(900), "{run:?}");
}

#[test]
fn silent_server_is_down_after_the_timeout() {
    let (server, run) = probe_script(vec![], "1");
    assert_down(&run);
    assert_eq!(server.connections(), 1);
    assert!(run.elapsed >= Duration::from_millis(900), "{run:?}");
    assert!(run.elapsed < Duration::from_millis(1600), "{run:?}");
}

#[test]
fn silent_server_with_fractional_timeout() {
    let (_server, run) = probe_script(vec![], "0.5");
    assert_down(&run);
    assert!(run.elapsed >= Duration::from_millis(400), "{run:?}");
    assert!(run.elapsed < Duration::from_millis(1100), "{run:?}");
}

#[test]
fn greeting_later_than_the_timeout_is_down() {
    let script = vec![Step::Sleep(Duration::from_millis(3000)), line("220 late")];
    let (_server, run) = probe_script(script, "1");
    assert_down(&run);
    assert!(run.elapsed >= Duration::from_millis(900), "{run:?}");
    assert!(run.elapsed < Duration::from_millis(1600), "{run:?}");
}

#[test]
fn unaccepted_connection_is_down_after_the_timeout() {
    // The kernel completes the handshake, but nobody ever accepts.
    let (_listener, addr) = silent_listener("127.0.0.1:0");
    let port = addr.port().to_string();
    let run = check(&["--port", &port, "--timeout", "1", "127.0.0.1"]);
    assert_down(&run);
    assert!(run.elapsed >= Duration::from_millis(900), "{run:?}");
    assert!(run.elapsed < Duration::from_millis(1600), "{run:?}");
}

#[test]
fn refused_port_is_down_fast() {
    let port = refused_addr().port().to_string();
    let run = check(&["--port", &port, "--timeout", "1", "127.0.0.1"]);
    assert_down(&run);
    assert!(run.elapsed < Duration::from_millis(500), "{run:?}");
}

// ---------------------------------------------------------------------------
// Several servers: parallel probes, list order
// ---------------------------------------------------------------------------

#[test]
fn two_silent_servers_then_an_up_one_are_probed_in_parallel() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", vec![]),
        ("127.0.0.3", vec![]),
        ("127.0.0.4", greets("220 ok")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "10:127.0.0.2",
        "10:127.0.0.3",
        "20:127.0.0.4",
    ]);
    assert_up(&run, "127.0.0.4");
    assert!(run.elapsed >= Duration::from_millis(900), "{run:?}");
    assert!(run.elapsed < Duration::from_millis(1600), "{run:?}");
    for server in &servers {
        assert_eq!(server.connections(), 1);
    }
}

#[test]
fn first_up_server_in_the_list_answers_at_once() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("220 first")),
        ("127.0.0.3", vec![]),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&["--port", &port, "--timeout", "1", "127.0.0.2", "127.0.0.3"]);
    assert_up(&run, "127.0.0.2");
    assert!(run.elapsed < Duration::from_millis(500), "{run:?}");
}

#[test]
fn up_server_after_a_silent_one_waits_for_its_timeout() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", vec![]),
        ("127.0.0.3", greets("220 second")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&["--port", &port, "--timeout", "1", "127.0.0.2", "127.0.0.3"]);
    assert_up(&run, "127.0.0.3");
    assert!(run.elapsed >= Duration::from_millis(900), "{run:?}");
    assert!(run.elapsed < Duration::from_millis(1600), "{run:?}");
}

#[test]
fn up_server_after_a_down_one_is_reported() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("554 no")),
        ("127.0.0.3", greets("220 yes")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "10:127.0.0.2",
        "20:127.0.0.3",
    ]);
    assert_up(&run, "127.0.0.3");
    assert!(run.elapsed < Duration::from_millis(900), "{run:?}");
}

#[test]
fn every_server_down_is_exit_0() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("554 no")),
        ("127.0.0.3", vec![Step::Close]),
        ("127.0.0.4", greets("421 later")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
    ]);
    assert_down(&run);
    for server in &servers {
        assert_eq!(server.connections(), 1);
    }
}

// ---------------------------------------------------------------------------
// --stop
// ---------------------------------------------------------------------------

#[test]
fn stop_same_prio_peer_does_not_count() {
    // --stop B 10:C 10:B: C is B's peer, so nothing counts.
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("220 C")),
        ("127.0.0.3", greets("220 B")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        "127.0.0.3",
        "10:127.0.0.2",
        "10:127.0.0.3",
    ]);
    assert_down(&run);
    assert_eq!(servers[1].connections(), 0, "the stop server is not probed");
}

#[test]
fn stop_lower_prio_server_before_it_counts() {
    // --stop B 10:C 20:B with C up: C.
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("220 C")),
        ("127.0.0.3", greets("220 B")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        "127.0.0.3",
        "10:127.0.0.2",
        "20:127.0.0.3",
    ]);
    assert_up(&run, "127.0.0.2");
    assert_eq!(servers[1].connections(), 0, "the stop server is not probed");
}

#[test]
fn stop_server_is_never_contacted_when_the_others_are_down() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("554 no")),
        ("127.0.0.3", greets("220 me")),
        ("127.0.0.4", greets("220 after")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        "127.0.0.3",
        "10:127.0.0.2",
        "20:127.0.0.3",
        "30:127.0.0.4",
    ]);
    assert_down(&run);
    assert_eq!(servers[0].connections(), 1);
    assert_eq!(servers[1].connections(), 0, "the stop server (this host)");
    assert_eq!(servers[2].connections(), 0, "a server after the stop");
}

#[test]
fn stop_with_refused_server_before_it() {
    // Nothing listens on 127.0.0.2 at the port: refused.
    let Some(servers) = same_port_or_skip(vec![("127.0.0.3", greets("220 me"))]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        "127.0.0.3",
        "10:127.0.0.2",
        "20:127.0.0.3",
    ]);
    assert_down(&run);
    assert_eq!(servers[0].connections(), 0, "the stop server (this host)");
}

#[test]
fn stop_matches_a_bracketed_literal_by_address() {
    // --stop 127.0.0.3 against the server written [127.0.0.3]: the same
    // address, so C (same prio) is its peer and nothing counts.
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("220 C")),
        ("127.0.0.3", greets("220 B")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        "127.0.0.3",
        "10:127.0.0.2",
        "10:[127.0.0.3]",
    ]);
    assert_down(&run);
    assert_eq!(servers[1].connections(), 0);
}

#[test]
fn stop_given_bracketed_matches_a_bare_literal() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("554 no")),
        ("127.0.0.3", greets("220 B")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        "[127.0.0.3]",
        "10:127.0.0.2",
        "20:127.0.0.3",
    ]);
    assert_down(&run);
    assert_eq!(servers[1].connections(), 0);
}

#[test]
fn stop_by_the_same_literal_text() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("220 C")),
        ("127.0.0.3", greets("220 B")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        "[127.0.0.3]",
        "10:127.0.0.2",
        "20:[127.0.0.3]",
    ]);
    assert_up(&run, "127.0.0.2");
    assert_eq!(servers[1].connections(), 0);
}

#[test]
fn stop_ipv6_literal_matches_bracketed_server() {
    if !ipv6_loopback_available() {
        eprintln!("SKIPPED: no [::1] here");
        return;
    }
    let stop_server = ScriptedServer::start("[::1]:0", greets("220 me"));
    let port = stop_server.port().to_string();
    // 127.0.0.1 on that port: refused (nothing listens there), so down.
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        "::1",
        "10:127.0.0.1",
        "20:[::1]",
    ]);
    assert_down(&run);
    assert_eq!(stop_server.connections(), 0);
}

#[test]
fn stop_ipv4_mapped_address_matches_the_ipv4_server() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("554 no")),
        ("127.0.0.3", greets("220 me")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        "::ffff:127.0.0.3",
        "10:127.0.0.2",
        "20:127.0.0.3",
    ]);
    assert_eq!(servers[1].connections(), 0, "the stop server is contacted");
    assert_down(&run);
}

#[test]
fn stop_absent_from_the_list_checks_every_server() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("554 no")),
        ("127.0.0.3", greets("220 yes")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        "127.0.0.9",
        "10:127.0.0.2",
        "20:127.0.0.3",
    ]);
    assert_up(&run, "127.0.0.3");
}

#[test]
fn stop_name_that_cannot_be_resolved_is_exit_2() {
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let stop = unresolvable_name();
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        &stop,
        "10:127.0.0.1",
    ]);
    assert_usage_error_one_line(&run);
    assert!(run.stderr.contains("--stop"), "{run:?}");
    assert!(run.elapsed < Duration::from_millis(900), "{run:?}");
}

#[test]
fn stop_name_that_cannot_be_resolved_is_exit_2_even_when_listed() {
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let stop = unresolvable_name();
    let listed = format!("10:{stop}");
    let run = check(&[
        "--port",
        &port,
        "--timeout",
        "1",
        "--stop",
        &stop,
        &listed,
        "20:127.0.0.1",
    ]);
    assert_usage_error_one_line(&run);
    assert!(run.stderr.contains("--stop"), "{run:?}");
}

#[test]
fn server_name_that_cannot_be_resolved_is_down() {
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let name = unresolvable_name();
    let first = format!("10:{name}");
    let run = check(&["--port", &port, "--timeout", "1", &first, "20:127.0.0.1"]);
    assert_up(&run, "127.0.0.1");
    let run = check(&["--port", &port, "--timeout", "1", &name]);
    assert_down(&run);
}

// ---------------------------------------------------------------------------
// IPv6, prio printing
// ---------------------------------------------------------------------------

#[test]
fn ipv6_bracketed_server_is_printed_as_given() {
    if !ipv6_loopback_available() {
        eprintln!("SKIPPED: no [::1] here");
        return;
    }
    let server = ScriptedServer::start("[::1]:0", greets("220 v6"));
    let port = server.port().to_string();
    let run = check(&["--port", &port, "--timeout", "1", "[::1]"]);
    assert_up(&run, "[::1]");
}

#[test]
fn ipv6_bracketed_server_with_prio_is_printed_without_it() {
    if !ipv6_loopback_available() {
        eprintln!("SKIPPED: no [::1] here");
        return;
    }
    let server = ScriptedServer::start("[::1]:0", greets("220 v6"));
    let port = server.port().to_string();
    let run = check(&["--port", &port, "--timeout", "1", "10:[::1]"]);
    assert_up(&run, "[::1]");
}

#[test]
fn ipv6_bare_server_is_printed_as_given() {
    if !ipv6_loopback_available() {
        eprintln!("SKIPPED: no [::1] here");
        return;
    }
    let server = ScriptedServer::start("[::1]:0", greets("220 v6"));
    let port = server.port().to_string();
    let run = check(&["--port", &port, "--timeout", "1", "::1"]);
    assert_up(&run, "::1");
}

#[test]
fn prio_is_not_printed() {
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let run = check(&["--port", &port, "--timeout", "1", "10:127.0.0.1"]);
    assert_up(&run, "127.0.0.1");
}

#[test]
fn bracketed_ipv4_is_printed_as_given() {
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let run = check(&["--port", &port, "--timeout", "1", "5:[127.0.0.1]"]);
    assert_up(&run, "[127.0.0.1]");
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

#[test]
fn bad_prio_is_exit_2() {
    let run = check(&["--timeout", "1", "abc:127.0.0.1"]);
    assert_usage_error_one_line(&run);
    assert!(run.stderr.contains("abc:127.0.0.1"), "{run:?}");
    let run = check(&["--timeout", "1", "65536:127.0.0.1"]);
    assert_usage_error_one_line(&run);
}

#[test]
fn bad_server_after_good_ones_is_exit_2_without_probing() {
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let run = check(&["--port", &port, "--timeout", "1", "127.0.0.1", "x:y"]);
    assert_usage_error_one_line(&run);
    assert_eq!(server.connections(), 0);
}

#[test]
fn empty_server_is_exit_2() {
    let run = check(&["--timeout", "1", ""]);
    assert_usage_error_one_line(&run);
    let run = check(&["--timeout", "1", "10:"]);
    assert_usage_error_one_line(&run);
}

#[test]
fn server_with_control_characters_is_exit_2() {
    let run = check(&["--timeout", "1", "127.0.0.1\r\nQUIT"]);
    assert_usage_error_one_line(&run);
}

#[test]
fn port_0_is_exit_2() {
    let run = check(&["--port", "0", "--timeout", "1", "127.0.0.1"]);
    assert_eq!(run.status, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
}

#[test]
fn unknown_option_is_exit_2() {
    let run = check(&["--bogus", "127.0.0.1"]);
    assert_eq!(run.status, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("--bogus"), "{run:?}");
}

#[test]
fn no_servers_is_exit_2() {
    let run = check(&[]);
    assert_eq!(run.status, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
    let run = check(&["--timeout", "1"]);
    assert_eq!(run.status, Some(2), "{run:?}");
}

#[test]
fn timeout_0_means_no_limit() {
    let (_server, run) = probe_script(greets("220 ok"), "0");
    assert_up(&run, "127.0.0.1");
}

#[test]
fn huge_timeout_is_no_panic() {
    let port = refused_addr().port().to_string();
    let run = check(&["--port", &port, "--timeout", "1e19", "127.0.0.1"]);
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    assert_eq!(run.status, Some(2), "more than a week is refused: {run:?}");
    assert_eq!(run.stdout, "");
}

#[test]
fn negative_or_bad_timeout_is_exit_2() {
    for bad in ["-1", "soon", "NaN", "inf"] {
        let run = check(&["--timeout", bad, "127.0.0.1"]);
        assert_eq!(run.status, Some(2), "--timeout {bad}: {run:?}");
        assert_eq!(run.stdout, "");
    }
    let run = check(&["--timeout=-1", "127.0.0.1"]);
    assert_eq!(run.status, Some(2), "{run:?}");
}

#[test]
fn empty_stop_is_exit_2() {
    let run = check(&["--stop", "", "--timeout", "1", "127.0.0.1"]);
    assert_usage_error_one_line(&run);
}

#[test]
fn help_is_exit_0_with_exit_status_section() {
    let run = check(&["--help"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.contains("Exit status"), "{run:?}");
    assert!(run.stdout.contains("--stop"), "{run:?}");
}

#[test]
fn version_is_exit_0() {
    let run = check(&["--version"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("smtpdcheck "), "{run:?}");
}

// ---------------------------------------------------------------------------
// Cache
// ---------------------------------------------------------------------------

#[test]
fn cache_remembers_an_up_server() {
    let home = temp_dir("cache-up");
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let args = ["--port", port.as_str(), "--timeout", "1", "127.0.0.1"];
    assert_up(&check_cached(&home, &args), "127.0.0.1");

    let file = cache_file(&home);
    let meta = fs::symlink_metadata(&file).expect("cache file written");
    assert!(meta.is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "file mode");
    let dir_meta = fs::symlink_metadata(file.parent().unwrap()).expect("dir");
    assert_eq!(dir_meta.permissions().mode() & 0o777, 0o700, "dir mode");
    let text = fs::read_to_string(&file).expect("read cache");
    assert_cache_format(&text);
    assert!(text.contains(&format!("127.0.0.1:{port} up ")), "{text:?}");

    drop(server); // now refused
    let args_v = ["-v", "--port", port.as_str(), "--timeout", "1", "127.0.0.1"];
    let run = check_cached(&home, &args_v);
    assert_up(&run, "127.0.0.1");
    assert!(run.stderr.contains("cached"), "{run:?}");

    let mut no_cache = vec!["--no-cache"];
    no_cache.extend(args);
    assert_down(&check_cached(&home, &no_cache));
    let _ = fs::remove_dir_all(home);
}

#[test]
fn no_cache_neither_reads_nor_writes() {
    let home = temp_dir("cache-none");
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let run = check_cached(
        &home,
        &["--no-cache", "--port", &port, "--timeout", "1", "127.0.0.1"],
    );
    assert_up(&run, "127.0.0.1");
    assert!(!home.join("smtpbox").exists(), "nothing written");
    let _ = fs::remove_dir_all(home);
}

#[test]
fn cache_remembers_a_down_server() {
    let home = temp_dir("cache-down");
    let server = ScriptedServer::start("127.0.0.1:0", vec![]); // silent
    let port = server.port().to_string();
    let args = ["-v", "--port", port.as_str(), "--timeout", "1", "127.0.0.1"];
    let first = check_cached(&home, &args);
    assert_down(&first);
    assert!(first.elapsed >= Duration::from_millis(900), "{first:?}");
    assert!(!first.stderr.contains("cached"), "{first:?}");

    let second = check_cached(&home, &args);
    assert_down(&second);
    assert!(second.stderr.contains("cached"), "{second:?}");
    assert!(second.elapsed < Duration::from_millis(500), "{second:?}");
    assert_eq!(
        server.connections(),
        1,
        "the cached down server is not contacted"
    );
    let _ = fs::remove_dir_all(home);
}

#[test]
fn cache_remembers_a_refused_server() {
    let home = temp_dir("cache-refused");
    let port = refused_addr().port().to_string();
    let args = ["-v", "--port", port.as_str(), "--timeout", "1", "127.0.0.1"];
    assert_down(&check_cached(&home, &args));
    let second = check_cached(&home, &args);
    assert_down(&second);
    assert!(second.stderr.contains("cached"), "{second:?}");
    let _ = fs::remove_dir_all(home);
}

#[test]
fn down_ttl_0_means_down_is_not_cached() {
    let home = temp_dir("cache-ttl0");
    let server = ScriptedServer::start("127.0.0.1:0", greets("554 no"));
    let port = server.port().to_string();
    let args = [
        "-v",
        "--cache-ttl",
        "0",
        "--port",
        port.as_str(),
        "--timeout",
        "1",
        "127.0.0.1",
    ];
    assert_down(&check_cached(&home, &args));
    let second = check_cached(&home, &args);
    assert_down(&second);
    assert!(!second.stderr.contains("cached"), "{second:?}");
    assert_eq!(server.connections(), 2);
    let _ = fs::remove_dir_all(home);
}

#[test]
fn up_ttl_expires() {
    let home = temp_dir("cache-expiry");
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let args = [
        "--cache-ttl-up",
        "1",
        "--port",
        port.as_str(),
        "--timeout",
        "1",
        "127.0.0.1",
    ];
    assert_up(&check_cached(&home, &args), "127.0.0.1");
    drop(server);
    thread::sleep(Duration::from_millis(1200));
    let run = check_cached(&home, &args);
    assert_down(&run);
    let _ = fs::remove_dir_all(home);
}

#[test]
fn cache_is_per_port() {
    let home = temp_dir("cache-port");
    let up = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let up_port = up.port().to_string();
    assert_up(
        &check_cached(&home, &["--port", &up_port, "--timeout", "1", "127.0.0.1"]),
        "127.0.0.1",
    );
    let refused = refused_addr().port().to_string();
    let run = check_cached(&home, &["--port", &refused, "--timeout", "1", "127.0.0.1"]);
    assert_down(&run);
    let _ = fs::remove_dir_all(home);
}

#[test]
fn corrupt_cache_file_is_ignored_and_rewritten() {
    let home = temp_dir("cache-corrupt");
    let file = private_cache_dir(&home);
    fs::write(&file, b"\xff\xfegarbage\n127.0.0.1:25 sideways\n\0\0\0").expect("write");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let run = check_cached(&home, &["--port", &port, "--timeout", "1", "127.0.0.1"]);
    assert_up(&run, "127.0.0.1");
    let text = fs::read_to_string(&file).expect("rewritten as text");
    assert!(text.starts_with(CACHE_HEADER), "{text:?}");
    assert_cache_format(&text);
    let _ = fs::remove_dir_all(home);
}

#[test]
fn cache_file_with_a_wrong_header_is_not_trusted() {
    // A file claiming the (refused) address is up, but not in our format.
    let home = temp_dir("cache-header");
    let file = private_cache_dir(&home);
    let port = refused_addr().port();
    fs::write(
        &file,
        format!("# some other format\n127.0.0.1:{port} up {}\n", now_ms()),
    )
    .expect("write");
    let port = port.to_string();
    let run = check_cached(&home, &["--port", &port, "--timeout", "1", "127.0.0.1"]);
    assert_down(&run);
    let _ = fs::remove_dir_all(home);
}

#[test]
fn valid_cache_entry_is_used() {
    // Shows that a fresh "up" entry written in the documented format is
    // read (the two tests around it rely on that to be meaningful).
    let home = temp_dir("cache-valid");
    let file = private_cache_dir(&home);
    let port = refused_addr().port();
    fs::write(
        &file,
        format!("{CACHE_HEADER}\n127.0.0.1:{port} up {}\n", now_ms()),
    )
    .expect("write");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
    let port = port.to_string();
    let run = check_cached(
        &home,
        &["-v", "--port", &port, "--timeout", "1", "127.0.0.1"],
    );
    assert_up(&run, "127.0.0.1");
    assert!(run.stderr.contains("cached"), "{run:?}");
    let _ = fs::remove_dir_all(home);
}

#[test]
fn cache_file_owned_by_another_user_is_not_trusted() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: only root can give a file to another user");
        return;
    }
    let home = temp_dir("cache-owner");
    let file = private_cache_dir(&home);
    let port = refused_addr().port();
    fs::write(
        &file,
        format!("{CACHE_HEADER}\n127.0.0.1:{port} up {}\n", now_ms()),
    )
    .expect("write");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).expect("chown");
    let port = port.to_string();
    let run = check_cached(&home, &["--port", &port, "--timeout", "1", "127.0.0.1"]);
    assert_down(&run);
    let _ = fs::remove_dir_all(home);
}

#[test]
fn symlinked_cache_file_is_not_followed() {
    let home = temp_dir("cache-symlink");
    let file = private_cache_dir(&home);
    let port = refused_addr().port();
    // If the link were followed, this would make the refused server "up".
    let elsewhere = home.join("elsewhere");
    let planted = format!("{CACHE_HEADER}\n127.0.0.1:{port} up {}\n", now_ms());
    fs::write(&elsewhere, &planted).expect("write");
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o600)).expect("chmod");
    std::os::unix::fs::symlink(&elsewhere, &file).expect("symlink");

    let port = port.to_string();
    let run = check_cached(&home, &["--port", &port, "--timeout", "1", "127.0.0.1"]);
    assert_down(&run);
    assert_eq!(
        fs::read_to_string(&elsewhere).expect("still there"),
        planted,
        "the link target is unchanged"
    );
    let _ = fs::remove_dir_all(home);
}

#[test]
fn cache_file_that_is_a_fifo_does_not_block() {
    let home = temp_dir("cache-fifo");
    let file = private_cache_dir(&home);
    let c_path = std::ffi::CString::new(file.to_str().expect("utf-8")).expect("no NUL");
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let run = check_cached(&home, &["--port", &port, "--timeout", "1", "127.0.0.1"]);
    assert_up(&run, "127.0.0.1");
    assert!(run.elapsed < Duration::from_secs(2), "{run:?}");
    let _ = fs::remove_dir_all(home);
}

#[test]
fn unwritable_cache_dir_does_not_change_the_answer() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("SKIPPED: root ignores directory modes");
        return;
    }
    let home = temp_dir("cache-ro");
    let dir = home.join("smtpbox");
    fs::create_dir(&dir).expect("mkdir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).expect("chmod");
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let run = check_cached(&home, &["--port", &port, "--timeout", "1", "127.0.0.1"]);
    assert_up(&run, "127.0.0.1");
    let refused = refused_addr().port().to_string();
    assert_down(&check_cached(
        &home,
        &["--port", &refused, "--timeout", "1", "127.0.0.1"],
    ));
    let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o700));
    let _ = fs::remove_dir_all(home);
}

#[test]
fn cache_dir_that_is_a_file_does_not_change_the_answer() {
    // Works as root too: `$XDG_CACHE_HOME/smtpbox` is a regular file.
    let home = temp_dir("cache-notdir");
    fs::write(home.join("smtpbox"), "not a directory\n").expect("write");
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let run = check_cached(
        &home,
        &["-v", "--port", &port, "--timeout", "1", "127.0.0.1"],
    );
    assert_up(&run, "127.0.0.1");
    let refused = refused_addr().port().to_string();
    assert_down(&check_cached(
        &home,
        &["--port", &refused, "--timeout", "1", "127.0.0.1"],
    ));
    assert_eq!(
        fs::read_to_string(home.join("smtpbox")).expect("read"),
        "not a directory\n"
    );
    let _ = fs::remove_dir_all(home);
}

#[test]
fn cache_dir_open_to_others_is_not_written() {
    let home = temp_dir("cache-open");
    let dir = home.join("smtpbox");
    fs::create_dir(&dir).expect("mkdir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let run = check_cached(&home, &["--port", &port, "--timeout", "1", "127.0.0.1"]);
    assert_up(&run, "127.0.0.1");
    assert!(!dir.join("smtpdcheck").exists(), "no cache in a shared dir");
    let _ = fs::remove_dir_all(home);
}

#[test]
fn relative_xdg_cache_home_is_ignored() {
    let home = temp_dir("cache-relative-home");
    let cwd = temp_dir("cache-relative-cwd");
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let mut child = Command::new(smtpbox_bin())
        .args(["smtpdcheck", "--port", &port, "--timeout", "1", "127.0.0.1"])
        .env("XDG_CACHE_HOME", "relative-cache")
        .env("HOME", &home)
        .current_dir(&cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    assert_eq!(wait_bounded(&mut child, Duration::from_secs(10)), Some(1));
    assert!(!cwd.join("relative-cache").exists(), "relative path used");
    assert!(
        home.join(".cache/smtpbox/smtpdcheck").is_file(),
        "falls back to $HOME/.cache"
    );
    let _ = fs::remove_dir_all(home);
    let _ = fs::remove_dir_all(cwd);
}

#[test]
fn concurrent_runs_share_the_cache_safely() {
    let home = Arc::new(temp_dir("cache-concurrent"));
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = Arc::new(server.port().to_string());
    let threads: Vec<_> = (0..30)
        .map(|_| {
            let (home, port) = (Arc::clone(&home), Arc::clone(&port));
            thread::spawn(move || {
                check_cached(&home, &["--port", &port, "--timeout", "5", "127.0.0.1"])
            })
        })
        .collect();
    for t in threads {
        let run = t.join().expect("runner thread");
        assert_up(&run, "127.0.0.1");
    }
    let dir = home.join("smtpbox");
    let text = fs::read_to_string(dir.join("smtpdcheck")).expect("cache file");
    assert_cache_format(&text);
    assert!(text.contains(&format!("127.0.0.1:{port} up ")), "{text:?}");
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n != "smtpdcheck")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let _ = fs::remove_dir_all(home.as_path());
}

// ---------------------------------------------------------------------------
// Output channels
// ---------------------------------------------------------------------------

#[test]
fn stdout_to_dev_null_still_exits_1() {
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let home = temp_dir("null-stdout");
    let mut child = Command::new(smtpbox_bin())
        .args(["smtpdcheck", "--port", &port, "--timeout", "1", "127.0.0.1"])
        .env("XDG_CACHE_HOME", &home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert_eq!(status, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = fs::remove_dir_all(home);
}

#[test]
fn stdout_broken_pipe_still_exits_1() {
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let home = temp_dir("epipe-stdout");
    let mut child = Command::new(smtpbox_bin())
        .args(["smtpdcheck", "--port", &port, "--timeout", "1", "127.0.0.1"])
        .env("XDG_CACHE_HOME", &home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Close the read end at once: the answer is written to a broken pipe.
    drop(child.stdout.take());
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert_eq!(status, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = fs::remove_dir_all(home);
}

#[test]
fn closed_stdout_still_exits_1_and_leaks_nothing_to_the_server() {
    use std::os::unix::process::CommandExt;
    let server = ScriptedServer::start("127.0.0.1:0", greets("220 ok"));
    let port = server.port().to_string();
    let home = temp_dir("closed-stdout");
    let mut cmd = Command::new(smtpbox_bin());
    cmd.args(["smtpdcheck", "--port", &port, "--timeout", "1", "127.0.0.1"])
        .env("XDG_CACHE_HOME", &home)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: close(2) is async-signal-safe; fd 1 is the child's own.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn");
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert_eq!(status, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_only_quit(&server);
    let _ = fs::remove_dir_all(home);
}

#[test]
fn verbose_prints_one_line_per_server() {
    let Some(servers) = same_port_or_skip(vec![
        ("127.0.0.2", greets("554 no")),
        ("127.0.0.3", greets("220 yes")),
    ]) else {
        return;
    };
    let port = servers[0].port().to_string();
    let run = check(&[
        "-v",
        "--port",
        &port,
        "--timeout",
        "1",
        "10:127.0.0.2",
        "20:127.0.0.3",
    ]);
    assert_up(&run, "127.0.0.3");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{run:?}");
    assert!(lines[0].contains("127.0.0.2"), "{run:?}");
    assert!(lines[0].contains("down"), "{run:?}");
    assert!(lines[0].contains("554"), "the reply is shown: {run:?}");
    assert!(lines[1].contains("127.0.0.3"), "{run:?}");
    assert!(lines[1].contains("up"), "{run:?}");
    assert!(!lines[1].contains("down"), "{run:?}");
}

#[test]
fn verbose_single_down_server() {
    let (_server, run) = probe_script(greets("421 busy"), "1");
    assert!(run.stderr.is_empty(), "quiet without -v: {run:?}");
    let server = ScriptedServer::start("127.0.0.1:0", greets("421 busy"));
    let port = server.port().to_string();
    let run = check(&["-v", "--port", &port, "--timeout", "1", "127.0.0.1"]);
    assert_down(&run);
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(run.stderr.contains("127.0.0.1"), "{run:?}");
    assert!(run.stderr.contains("down"), "{run:?}");
}
