//! Self-tests of the integration-test harness in `tests/support`, using plain
//! std clients (not the smtpbox binary). Every test finishes in well under
//! 5 s: client sockets have short timeouts and servers are dropped promptly.

mod support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use support::*;

const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// A client with a bounded read timeout, split into reader and writer.
fn connect(addr: SocketAddr) -> (BufReader<TcpStream>, TcpStream) {
    let s = TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).expect("connect");
    s.set_read_timeout(Some(CLIENT_TIMEOUT))
        .expect("read timeout");
    s.set_write_timeout(Some(CLIENT_TIMEOUT))
        .expect("write timeout");
    (BufReader::new(s.try_clone().expect("clone the socket")), s)
}

fn read_line(r: &mut BufReader<TcpStream>) -> String {
    let mut l = String::new();
    r.read_line(&mut l).expect("read line");
    l
}

fn write_line(w: &mut TcpStream, l: &str) {
    w.write_all(format!("{l}\r\n").as_bytes()).expect("write");
}

/// `/bin/sh -c SCRIPT` through [`run_program`].
fn sh(script: &str, env: &[(&str, &str)], stdin: Option<&[u8]>, timeout: Duration) -> Run {
    run_program(Path::new("/bin/sh"), &["-c", script], env, stdin, timeout)
}

/// Reads until EOF; panics on timeout or error.
fn assert_eof(r: &mut BufReader<TcpStream>) {
    let mut rest = String::new();
    r.read_to_string(&mut rest).expect("expected EOF");
    assert_eq!(rest, "");
}

#[test]
fn greeting_and_reply_exchange_is_logged() {
    let server = script_server(vec![
        line("220 hi"),
        reply("EHLO", "250-hi\n250 OK"),
        expect("QUIT"),
        line("221 bye"),
        Step::Close,
    ]);
    let (mut r, mut w) = connect(server.addr());
    assert_eq!(read_line(&mut r), "220 hi\r\n");
    write_line(&mut w, "ehlo me");
    assert_eq!(read_line(&mut r), "250-hi\r\n");
    assert_eq!(read_line(&mut r), "250 OK\r\n");
    write_line(&mut w, "QUIT");
    assert_eq!(read_line(&mut r), "221 bye\r\n");
    assert_eof(&mut r);
    assert_eq!(server.log(), ["#1 ehlo me", "#1 QUIT"]);
    assert_eq!(server.received(), ["ehlo me", "QUIT"]);
    assert_eq!(server.connections(), 1);
    assert!(server.unexpected().is_empty());
}

#[test]
fn unexpected_line_is_logged_and_closes() {
    let server = script_server(vec![expect("HELO"), line("250 never")]);
    let (mut r, mut w) = connect(server.addr());
    write_line(&mut w, "NOOP");
    assert_eof(&mut r);
    assert_eq!(server.received(), ["NOOP", "UNEXPECTED NOOP"]);
    assert_eq!(server.unexpected(), ["#1 UNEXPECTED NOOP"]);
}

#[test]
fn every_connection_runs_the_script_and_is_numbered() {
    let server = script_server(vec![line("220 x"), expect("A"), Step::Close]);
    for word in ["A1", "A2"] {
        let (mut r, mut w) = connect(server.addr());
        assert_eq!(read_line(&mut r), "220 x\r\n");
        write_line(&mut w, word);
        assert_eof(&mut r);
    }
    assert_eq!(server.log(), ["#1 A1", "#2 A2"]);
    assert_eq!(server.received_on(2), ["A2"]);
    assert!(server.wait_idle(CLIENT_TIMEOUT));
}

#[test]
fn drip_delivers_bytes_slowly() {
    let greeting = b"220 slow\r\n";
    let every = Duration::from_millis(30);
    let server = script_server(vec![Step::Drip {
        bytes: greeting.to_vec(),
        every,
    }]);
    let (mut r, _w) = connect(server.addr());
    let start = Instant::now();
    let (mut got, mut reads) = (Vec::new(), 0);
    while got.len() < greeting.len() {
        let mut buf = [0u8; 64];
        let n = r.get_mut().read(&mut buf).expect("read");
        assert!(n > 0, "unexpected EOF");
        got.extend_from_slice(&buf[..n]);
        reads += 1;
    }
    assert_eq!(got, greeting);
    assert!(
        start.elapsed() >= every * 8,
        "too fast: {:?}",
        start.elapsed()
    );
    assert!(reads >= 5, "bytes arrived in only {reads} reads");
}

/// Connects to `addr` (the handshake completes) and finds that nothing
/// is said within 200 ms: the client's read times out.
fn assert_silent(addr: SocketAddr) {
    let s = TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).expect("handshake");
    let short = Some(Duration::from_millis(200));
    s.set_read_timeout(short).expect("set a read timeout");
    let err = (&s).read(&mut [0u8; 16]).expect_err("silence, not data");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
}

#[test]
fn silent_server_lets_client_read_time_out() {
    let server = script_server(vec![]);
    assert_silent(server.addr());
    assert!(server.wait_connections(1, CLIENT_TIMEOUT));
}

#[test]
fn silent_listener_completes_handshake_but_never_greets() {
    let (_listener, addr) = silent_listener("127.0.0.1:0");
    assert_silent(addr);
}

#[test]
fn refused_addr_refuses() {
    let err = TcpStream::connect_timeout(&refused_addr(), CLIENT_TIMEOUT).expect_err("connected");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn refused_addr_cannot_be_taken_by_a_server() {
    let taken = TcpListener::bind(refused_addr()).expect_err("bound the held port");
    assert_eq!(taken.kind(), ErrorKind::AddrInUse);
    assert_eq!(refused_addr(), refused_addr(), "one address per process");
}

#[test]
fn not_ready_for_resets_the_first_connections_then_plays_the_script() {
    let server = script_server(vec![Step::NotReadyFor(2), line("220 ready")]);
    for _ in 0..2 {
        let (mut r, _w) = connect(server.addr());
        let err = r.read(&mut [0u8; 16]).expect_err("expected a reset");
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    }
    let (mut r, _w) = connect(server.addr());
    assert_eq!(read_line(&mut r), "220 ready\r\n");
    assert_eq!(server.connections(), 3);
}

#[test]
fn connections_settled_counts_a_connection_not_yet_accepted() {
    let server = script_server(vec![]);
    // connect returns once the kernel has queued the connection, maybe
    // before the server's accept loop has taken it.
    let _client = connect(server.addr());
    assert_eq!(server.connections_settled(), 1);
    assert_eq!(script_server(vec![]).connections_settled(), 0);
}

#[test]
fn lines_are_stamped_when_logged() {
    let server = script_server(vec![expect("A"), expect("B")]);
    let (r, mut w) = connect(server.addr());
    let before = Instant::now();
    write_line(&mut w, "A");
    assert!(server.wait_received("A", CLIENT_TIMEOUT));
    let between = Instant::now();
    write_line(&mut w, "B");
    drop((r, w));
    let lines = server.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(before <= lines[0].at && lines[0].at <= between, "{lines:?}");
    assert!(between <= lines[1].at, "{lines:?}");
}

#[test]
fn reset_gives_client_econnreset() {
    let server = script_server(vec![line("220 x"), expect("PING"), Step::Reset]);
    let (mut r, mut w) = connect(server.addr());
    assert_eq!(read_line(&mut r), "220 x\r\n");
    write_line(&mut w, "PING");
    let err = r
        .get_mut()
        .read(&mut [0u8; 16])
        .expect_err("expected a reset");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
}

#[test]
fn drop_stops_server_promptly() {
    let server = script_server(vec![Step::Sleep(Duration::from_secs(15))]);
    let addr = server.addr();
    let (mut r, _w) = connect(addr);
    assert!(server.wait_connections(1, CLIENT_TIMEOUT));
    let start = Instant::now();
    drop(server);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "drop took {:?}",
        start.elapsed()
    );
    // The held connection is closed and the port no longer accepts.
    assert_eof(&mut r);
    let err = TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).expect_err("still listening");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn lifetime_ends_server_by_itself() {
    let server = TestServer::start_with_lifetime("127.0.0.1:0", vec![], Duration::from_millis(200));
    let (mut r, _w) = connect(server.addr());
    assert_eof(&mut r);
    let refused = wait_until(Duration::from_secs(2), || {
        TcpStream::connect_timeout(&server.addr(), CLIENT_TIMEOUT).is_err()
    });
    assert!(refused, "port still open after the lifetime");
}

#[test]
fn serve_until_quit_answers_and_logs() {
    let server = script_server(vec![
        line("220 ready"),
        serve(&[
            ("EHLO", "250-x\n250 ETRN"),
            ("ETRN a.test", "250 queued"),
            ("ETRN", "458 no"),
        ]),
    ]);
    let (mut r, mut w) = connect(server.addr());
    assert_eq!(read_line(&mut r), "220 ready\r\n");
    let exchanges: [(&str, &[&str]); 5] = [
        ("EHLO me", &["250-x", "250 ETRN"]),
        ("etrn a.test", &["250 queued"]),
        ("ETRN b.test", &["458 no"]),
        ("FOO", &["500 unrecognized"]),
        ("QUIT", &["221 bye"]),
    ];
    for (cmd, answer) in exchanges {
        write_line(&mut w, cmd);
        for expected in answer {
            assert_eq!(
                read_line(&mut r),
                format!("{expected}\r\n"),
                "answer to {cmd}"
            );
        }
    }
    assert_eof(&mut r);
    assert_eq!(
        server.received(),
        ["EHLO me", "etrn a.test", "ETRN b.test", "FOO", "QUIT"]
    );
}

#[test]
fn servers_share_one_port_on_loopback_aliases() {
    // 127.0.0.2/.3 work on Linux; skip where they do not.
    let two_and_three = vec![
        ("127.0.0.2", vec![line("220 two")]),
        ("127.0.0.3", vec![line("220 three")]),
    ];
    let Some(servers) = same_port_or_skip(two_and_three) else {
        return;
    };
    assert_eq!(servers[0].port(), servers[1].port());
    for (server, greeting) in servers.iter().zip(["220 two\r\n", "220 three\r\n"]) {
        let (mut r, _w) = connect(server.addr());
        assert_eq!(read_line(&mut r), greeting);
    }
}

#[test]
fn the_shared_port_is_held_refused_where_asked() {
    let two = vec![("127.0.0.2", vec![line("220 two")])];
    let Some((servers, held)) = same_port_refusing_or_skip(two, &["127.0.0.3"]) else {
        return;
    };
    let three = held[0].addr();
    assert_eq!(three, SocketAddr::from(([127, 0, 0, 3], servers[0].port())));
    let err = TcpStream::connect_timeout(&three, CLIENT_TIMEOUT).expect_err("connected");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    let taken = TcpListener::bind(three).expect_err("bound the held port");
    assert_eq!(taken.kind(), ErrorKind::AddrInUse);
}

#[test]
fn ipv6_loopback_server_works_when_available() {
    let Some(server) = ipv6_server(vec![line("220 v6")]) else {
        return;
    };
    let (mut r, _w) = connect(server.addr());
    assert_eq!(read_line(&mut r), "220 v6\r\n");
}

#[test]
#[should_panic(expected = "may only bind")]
fn non_loopback_bind_is_rejected() {
    let _ = TestServer::start("0.0.0.0:0", vec![]);
}

#[test]
fn run_program_captures_output_and_status() {
    let run = run_link(
        Path::new("/bin/sh"),
        &["-c", "echo out; echo err >&2; exit 3"],
    );
    assert_eq!(run.status, Some(3));
    assert_eq!(run.stdout, "out\n");
    assert_eq!(run.stderr, "err\n");
    assert!(!run.timed_out);
}

#[test]
fn run_program_sets_private_cache_dir_and_stdin() {
    let script = r#"test -d "$XDG_CACHE_HOME" && echo "$XDG_CACHE_HOME"; cat"#;
    let run = sh(script, &[], Some(b"input"), RUN_TIMEOUT);
    assert!(run.success(), "{run:?}");
    let (cache, rest) = run.stdout.split_once('\n').expect("two parts");
    assert!(cache.contains("smtpbox-test-"), "{cache}");
    assert_eq!(rest, "input");
    assert!(!Path::new(cache).exists(), "private cache dir not removed");

    let mine = TempDir::new("own-cache");
    let env = [("XDG_CACHE_HOME", mine.arg())];
    let run = sh("echo $XDG_CACHE_HOME", &env, None, RUN_TIMEOUT);
    assert_eq!(run.stdout.trim(), mine.arg());
}

#[test]
fn run_program_kills_after_timeout() {
    // `exec` so the shell does not leave a grandchild holding the pipes.
    let run = sh("exec sleep 10", &[], None, Duration::from_millis(300));
    assert_eq!(run.status, None);
    assert!(run.timed_out);
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
}

#[test]
fn temp_dir_is_removed_even_when_its_test_fails() {
    let mut made = None;
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let dir = TempDir::new("doomed");
        dir.file("inside", "left behind?\n");
        made = Some(dir.to_path_buf());
        panic!("the test fails while its TempDir is alive");
    }));
    assert!(failed.is_err());
    let made = made.expect("the directory was made");
    assert!(!made.exists(), "{} left behind", made.display());
}
