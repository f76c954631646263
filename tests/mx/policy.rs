//! `smtpdcheck --postfix-policy`: Postfix's policy protocol on stdin and
//! stdout. Each RCPT is decided as `--mx` decides for the recipient's
//! domain (through the scripted DNS server): DEFER_IF_PERMIT naming a more
//! preferred MX that is up, else DUNNO; every other request, every error
//! and every timeout is DUNNO (fail open). Nothing ever goes to stderr (it
//! is the peer's socket under spawn(8)). A malformed request, or EOF inside
//! one, closes the connection unanswered; bytes that are not UTF-8 do not
//! make a request malformed.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::dns::*;
use crate::support::*;
use crate::*;

const DUNNO: &str = "action=DUNNO\n\n";

/// A RCPT request for `recipient`, as smtpd sends it (`server_address`:
/// the address the SMTP client reached, i.e. this MX).
fn rcpt(recipient: &str, server_address: &str) -> String {
    format!(
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
         client_address=192.0.2.9\nsender=s@example.org\nrecipient={recipient}\n\
         server_address={server_address}\n\n"
    )
}

/// The answer naming `server` as the one to use.
fn defer(server: &str) -> String {
    format!("action=DEFER_IF_PERMIT Service temporarily unavailable, please use {server}\n\n")
}

/// `smtpdcheck --postfix-policy --port PORT --timeout 2 --no-cache
/// --cache-ttl-up 0 EXTRA` fed `requests`, in the private namespace of `dns`.
fn policy(dns: &DnsServer, port: &str, extra: &[&str], requests: &[u8]) -> Option<Run> {
    let binary = smtpbox_bin();
    let fixed = [
        path_arg(&binary),
        "smtpdcheck",
        "--postfix-policy",
        "--port",
        port,
    ];
    let quiet = ["--timeout", "2", "--no-cache", "--cache-ttl-up", "0"];
    let argv = [&fixed[..], &quiet, extra].concat();
    let resolv_conf = dns.resolv_conf(QUICK_RESOLVER);
    run_with_resolver(&resolv_conf, &argv, Some(requests), RUN_LIMIT)
}

/// The service fed `requests` while the primary of [`backup_zone`]
/// (127.0.0.2) plays `primary`; checks the answers are `expected`, that
/// stderr stays empty, and the exit status 0 at the end of input.
fn answers<R: AsRef<[u8]>>(primary: Vec<Step>, requests: &[R], expected: &[&str]) -> Option<Run> {
    let (_primary, dns, port) = server_and_dns("127.0.0.2", primary, backup_zone())?;
    let input: Vec<u8> = requests.iter().flat_map(|r| r.as_ref()).copied().collect();
    let run = policy(&dns, &port, &[], &input)?;
    let asked = dns.asked_lines();
    assert_eq!(run.stdout, expected.concat(), "{run:#?}\nDNS: {asked:#?}");
    assert_eq!(run.stderr, "", "nothing on stderr: {run:#?}");
    assert_eq!(run.status, Some(0), "{run:#?}");
    Some(run)
}

#[test]
fn rcpt_is_deferred_while_the_primary_is_up_and_dunno_otherwise() {
    let requests = [
        rcpt("u@d.test", "127.0.0.1"),
        rcpt("u@null.test", "127.0.0.1"),
        rcpt("u@nx.test", "127.0.0.1"),
        // The MX that was reached is the primary itself: no one to defer to.
        rcpt("u@d.test", "127.0.0.2"),
        // This host is no MX of other.test (mail it relays): its MX being
        // up is no reason to defer.
        rcpt("u@other.test", "127.0.0.1"),
        "protocol_state=MAIL\nsender=s@example.org\n\n".to_owned(),
        rcpt("", "127.0.0.1"),
        // No server_address (Postfix before 3.2): this host's own
        // addresses end the list, and 127.0.0.1 is MX 20.
        "protocol_state=RCPT\nrecipient=u@d.test\n\n".to_owned(),
    ];
    let deferred = defer("mx1.d.test");
    let expected = [
        deferred.as_str(),
        DUNNO,
        DUNNO,
        DUNNO,
        DUNNO,
        DUNNO,
        DUNNO,
        deferred.as_str(),
    ];
    answers(up(), &requests, &expected);
}

#[test]
fn bytes_that_are_not_utf8_are_answered_and_the_connection_kept() {
    // Postfix passes 8-bit envelope bytes through unless strict_smtputf8
    // is set: such a request is well formed. A recipient that is not UTF-8
    // is never looked up (DUNNO, although d.test's primary is up); a name
    // that is not UTF-8 is one the service does not know, and is ignored.
    // `~` stands for the byte.
    let with_byte = |request: String, byte: u8| -> Vec<u8> {
        request
            .bytes()
            .map(|b| if b == b'~' { byte } else { b })
            .collect()
    };
    let requests = [
        with_byte(
            "protocol_state=MAIL\nsender=~@example.org\n\n".to_owned(),
            0xe9,
        ),
        with_byte(rcpt("~@d.test", "127.0.0.1"), 0x80),
        with_byte(
            rcpt("u@d.test", "127.0.0.1").replace("protocol_name", "~name"),
            0xff,
        ),
        rcpt("u@d.test", "127.0.0.1").into_bytes(),
    ];
    let deferred = defer("mx1.d.test");
    let expected = [DUNNO, DUNNO, deferred.as_str(), deferred.as_str()];
    answers(up(), &requests, &expected);
}

#[test]
fn rcpt_is_dunno_when_the_primary_is_down_or_dns_is_silent() {
    let requests = [
        rcpt("u@d.test", "127.0.0.1"),
        rcpt("u@silent.test", "127.0.0.1"),
    ];
    let start = Instant::now();
    if answers(down(), &requests, &[DUNNO, DUNNO]).is_some() {
        // The silent lookup costs at most its --timeout (2 s), and fails open.
        assert!(start.elapsed() < Duration::from_secs(4));
    }
}

#[test]
fn a_stop_name_is_looked_up_once_for_many_requests() {
    // --stop by name: its addresses are kept like an MX host's, so the
    // requests after the first decide without asking DNS for it again.
    let Some((_primary, dns, port)) = server_and_dns("127.0.0.2", up(), backup_zone()) else {
        return;
    };
    let requests = [
        rcpt("u@d.test", ""),
        rcpt("v@d.test", ""),
        rcpt("w@d.test", ""),
    ];
    let stop = ["--stop", "mx2.d.test"];
    let Some(run) = policy(&dns, &port, &stop, requests.concat().as_bytes()) else {
        return;
    };
    let deferred = defer("mx1.d.test");
    assert_eq!(run.stdout, deferred.repeat(3), "{run:#?}");
    let asked = dns.asked_lines();
    // The first request looks the name up for the stop and for MX 20
    // (once when the two lookups overlap, as they usually do; twice on a
    // busy machine); the others ask nothing. Asking per request would be
    // three or more.
    let stop_asked = asked
        .iter()
        .filter(|l| l.ends_with(" A mx2.d.test"))
        .count();
    assert!((1..=2).contains(&stop_asked), "{asked:#?}");
}

#[test]
fn a_thousand_requests_on_one_connection_get_a_thousand_answers() {
    let Some(dns) = DnsServer::start_or_skip(backup_zone()) else {
        return;
    };
    let port = free_port().to_string();
    let states = ["CONNECT", "EHLO", "MAIL", "DATA", "END-OF-MESSAGE", "VRFY"];
    let requests: String = (0..1000)
        .map(|i| {
            format!(
                "protocol_state={}\nqueue_id=Q{i}\n\n",
                states[i % states.len()]
            )
        })
        .collect();
    let Some(run) = policy(&dns, &port, &[], requests.as_bytes()) else {
        return;
    };
    assert_eq!(run.stdout, DUNNO.repeat(1000));
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(run.status, Some(0));
}

#[test]
fn malformed_or_unfinished_requests_close_the_connection_unanswered() {
    let good = "protocol_state=MAIL\n\n";
    let huge = format!(
        "protocol_state=RCPT\nrecipient={}@d.test\n\n",
        "x".repeat(70_000)
    );
    let many = "a=b\n".repeat(1001) + "\n";
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "a line without '='",
            format!("{good}protocol_state=RCPT\nno equals\n\n{good}").into(),
        ),
        ("over 64 KiB", format!("{good}{huge}{good}").into()),
        (
            "over 1,000 attributes",
            format!("{good}{many}{good}").into(),
        ),
        (
            "EOF inside a request",
            format!("{good}protocol_state=RCPT\nrecipient=u@d.test\n").into(),
        ),
    ];
    let Some(dns) = DnsServer::start_or_skip(backup_zone()) else {
        return;
    };
    let port = free_port().to_string();
    for (case, requests) in cases {
        let Some(run) = policy(&dns, &port, &[], &requests) else {
            return;
        };
        assert_eq!(run.stdout, DUNNO, "{case}: only the good request: {run:#?}");
        assert_eq!(run.stderr, "", "{case}: {run:#?}");
        assert_eq!(run.status, Some(0), "{case}: {run:#?}");
    }
}

/// The service with no cache file, as a command for a test to connect.
fn service() -> Command {
    let mut command = Command::new(smtpbox_bin());
    command.args([
        "smtpdcheck",
        "--postfix-policy",
        "--no-cache",
        "--timeout",
        "2",
    ]);
    command
}

#[test]
fn an_idle_peer_is_waited_for_and_answered() {
    // smtpd keeps the connection between messages: idleness is normal.
    let mut child = service()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the service");
    let mut input = child.stdin.take().expect("stdin");
    let mut output = BufReader::new(child.stdout.take().expect("stdout"));
    let mut answer = |request: &str| {
        input.write_all(request.as_bytes()).expect("send a request");
        input.flush().expect("flush");
        let (mut action, mut empty) = (String::new(), String::new());
        output.read_line(&mut action).expect("read the action");
        output.read_line(&mut empty).expect("read the empty line");
        action + &empty
    };
    assert_eq!(answer("protocol_state=MAIL\n\n"), DUNNO);
    // The pause is what is tested, not a wait for anything: a peer idle
    // for a while between requests is still served.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(answer("protocol_state=END-OF-MESSAGE\n\n"), DUNNO);
    drop(input); // EOF: the service ends
    let status = wait_bounded(&mut child, Duration::from_secs(5));
    assert_eq!(status, Some(0));
    let stderr = PipeDrain::start(child.stderr.take().expect("stderr")).finish();
    assert_eq!(stderr, "");
}

#[test]
fn a_socket_on_stdin_and_stdout_is_served_as_spawn_connects_it() {
    // spawn(8) hands the service one UNIX socket as stdin, stdout and
    // stderr; answers go back on it, and nothing else does.
    use std::os::unix::net::UnixStream;
    let (ours, theirs) = UnixStream::pair().expect("a socket pair");
    let stdin = theirs.try_clone().expect("dup");
    let stderr = theirs.try_clone().expect("dup");
    let mut child = service()
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(stdin)))
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stderr(Stdio::from(std::os::fd::OwnedFd::from(stderr)))
        .spawn()
        .expect("start the service");
    ours.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut writer = ours.try_clone().expect("dup");
    writer
        .write_all(b"protocol_state=MAIL\n\nprotocol_state=RCPT\nrecipient=\n\n")
        .expect("send two requests");
    let mut reader = BufReader::new(ours);
    let mut got = String::new();
    while got.len() < 2 * DUNNO.len() {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read an answer") == 0 {
            break;
        }
        got.push_str(&line);
    }
    assert_eq!(got, DUNNO.repeat(2));
    writer.shutdown(std::net::Shutdown::Write).expect("EOF");
    let status = wait_bounded(&mut child, Duration::from_secs(5));
    assert_eq!(status, Some(0));
    // Nothing more came on the socket (no stderr line, no stray answer).
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
    assert_eq!(rest, "");
}
