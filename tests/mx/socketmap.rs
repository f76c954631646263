//! `smtpdcheck --sendmail-socketmap`: Sendmail's socket map protocol on a
//! listening UNIX socket given as stdin (as inetd's `wait` mode, or
//! systemd's socket, gives it). A key naming a domain whose more preferred
//! MX is up gets `OK MX`; anything else, every error and every timeout
//! `NOTFOUND` (fail open); a request that breaks the framing closes its
//! connection. Connections are served side by side.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::dns::*;
use crate::support::*;
use crate::*;

/// A running service, the socket it serves, and the primary's server.
struct Running {
    service: Service,
    socket: std::path::PathBuf,
    _dir: TempDir,
    _dns: DnsServer,
    _primary: TestServer,
}

/// The service on a fresh socket while the primary (127.0.0.2) plays
/// `primary`; `None` when it cannot run here (skipped).
fn start(primary: Vec<Step>) -> Option<Running> {
    start_limited(primary, None)
}

/// [`start`], with at most `max_files` open descriptors when given.
fn start_limited(primary: Vec<Step>, max_files: Option<u32>) -> Option<Running> {
    let (primary, dns, port) = server_and_dns("127.0.0.2", primary, backup_zone())?;
    let dir = TempDir::new("socketmap");
    let socket = dir.join("socketmap");
    let listener = UnixListener::bind(&socket).expect("bind the socket");
    let binary = smtpbox_bin();
    let limit = max_files.map(|n| format!("--nofile={n}:{n}"));
    let prlimit = match &limit {
        Some(limit) => vec!["prlimit", limit.as_str(), "--"],
        None => Vec::new(),
    };
    let service_argv = [
        path_arg(&binary),
        "smtpdcheck",
        "--sendmail-socketmap",
        "--port",
        &port,
        "--timeout",
        "2",
        "--no-cache",
    ];
    let argv = [&prlimit[..], &service_argv].concat();
    let stdin = Stdio::from(std::os::fd::OwnedFd::from(listener));
    let service = Service::start(&dns.resolv_conf(QUICK_RESOLVER), &argv, stdin)?;
    Some(Running {
        service,
        socket,
        _dir: dir,
        _dns: dns,
        _primary: primary,
    })
}

/// A sendmail process's connection to the map.
struct MapClient(UnixStream);

impl MapClient {
    fn connect(running: &Running) -> MapClient {
        let stream = UnixStream::connect(&running.socket).expect("connect to the map");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a read timeout");
        MapClient(stream)
    }

    /// Sends `payload` as a netstring and reads the reply's payload.
    fn ask(&mut self, payload: &str) -> String {
        let request = format!("{}:{payload},", payload.len());
        self.0.write_all(request.as_bytes()).expect("send");
        self.reply()
            .unwrap_or_else(|| panic!("no reply to {payload:?}"))
    }

    /// One netstring reply; `None` at EOF.
    fn reply(&mut self) -> Option<String> {
        let mut length = String::new();
        let mut byte = [0u8; 1];
        loop {
            if self.0.read(&mut byte).ok()? == 0 {
                return None;
            }
            match byte[0] {
                b':' => break,
                digit => length.push(char::from(digit)),
            }
        }
        let length: usize = length.parse().expect("a netstring length");
        let mut payload = vec![0u8; length + 1];
        self.0
            .read_exact(&mut payload)
            .expect("the payload and ','");
        assert_eq!(payload.pop(), Some(b','), "a netstring ends with ','");
        Some(String::from_utf8(payload).expect("ASCII"))
    }
}

#[test]
fn keys_get_ok_naming_the_primary_or_notfound() {
    let Some(running) = start(up()) else {
        return;
    };
    let mut map = MapClient::connect(&running);
    // (request payload, reply payload)
    let cases = [
        // the domain as sendmail canonified it, resolved or not
        ("smtpdcheck d.test.", "OK mx1.d.test"),
        ("smtpdcheck D.TEST", "OK mx1.d.test"),
        // a whole address
        ("smtpdcheck u@d.test", "OK mx1.d.test"),
        ("smtpdcheck null.test", "NOTFOUND "),
        // this host is no MX of other.test: nothing more preferred
        ("smtpdcheck other.test", "NOTFOUND "),
        ("smtpdcheck nx.test", "NOTFOUND "),
        ("smtpdcheck [127.0.0.2]", "NOTFOUND "),
        ("smtpdcheck ", "NOTFOUND "),
        ("nospace", "PERM request has no space before its key"),
    ];
    for (request, reply) in cases {
        assert_eq!(map.ask(request), reply, "{request}");
    }
}

#[test]
fn a_down_primary_and_a_silent_dns_fail_open_within_the_timeout() {
    let Some(running) = start(down()) else {
        return;
    };
    let mut map = MapClient::connect(&running);
    assert_eq!(map.ask("smtpdcheck d.test"), "NOTFOUND ");
    let start = Instant::now();
    assert_eq!(map.ask("smtpdcheck silent.test"), "NOTFOUND ");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn connections_are_served_side_by_side() {
    let Some(running) = start(up()) else {
        return;
    };
    // One sendmail process waits on a silent DNS (2 s, --timeout)...
    let mut slow = MapClient::connect(&running);
    slow.0
        .write_all(b"22:smtpdcheck silent.test,")
        .expect("send");
    // ...while another is answered at once.
    let mut quick = MapClient::connect(&running);
    let start = Instant::now();
    assert_eq!(quick.ask("smtpdcheck d.test"), "OK mx1.d.test");
    let quick_took = start.elapsed();
    assert_eq!(slow.reply().as_deref(), Some("NOTFOUND "));
    assert!(
        quick_took < Duration::from_secs(1),
        "held up by the other connection: {quick_took:?}"
    );
}

#[test]
fn a_broken_frame_closes_only_its_connection() {
    let Some(mut running) = start(up()) else {
        return;
    };
    for garbage in [&b"x:"[..], b"5:hello;", b"99999:", b"-1:"] {
        let mut map = MapClient::connect(&running);
        map.0.write_all(garbage).expect("send");
        assert_eq!(map.reply(), None, "{garbage:?}: closed");
    }
    let mut map = MapClient::connect(&running);
    assert_eq!(map.ask("smtpdcheck d.test"), "OK mx1.d.test");
    assert!(running.service.is_running());
    drop(map);
    // Nothing on stderr: lines go to syslog.
    let _ = running.service.child.kill();
    let _ = running.service.child.wait();
    let stderr = running.service.child.stderr.take().expect("stderr");
    assert_eq!(PipeDrain::start(stderr).finish(), "");
}

/// The CPU time (user and system) a process has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("its stat");
    // After the parenthesised command: state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(") ").expect("a stat line").1;
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks = |i: usize| fields[i - 3].parse::<u64>().expect("a number");
    ticks(14) + ticks(15)
}

#[test]
fn out_of_descriptors_it_waits_instead_of_spinning_and_recovers() {
    // More connections than it may open descriptors: accept fails with
    // EMFILE while they stay queued. The service must pause rather than
    // retry at once (a busy loop), and serve again once they close.
    let Some(running) = start_limited(up(), Some(24)) else {
        return;
    };
    let mut first = MapClient::connect(&running);
    assert_eq!(first.ask("smtpdcheck d.test"), "OK mx1.d.test");
    let crowd: Vec<UnixStream> = (0..40)
        .map(|_| UnixStream::connect(&running.socket).expect("queued"))
        .collect();
    let pid = running.service.child.id();
    let before = cpu_ticks(pid);
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(1) {
        // Over a second of EMFILE, a busy loop uses about 100 ticks.
        std::thread::sleep(Duration::from_millis(20));
        if cpu_ticks(pid) - before > 30 {
            break;
        }
    }
    let used = cpu_ticks(pid) - before;
    assert!(used <= 30, "{used} ticks of CPU in a second of EMFILE");
    drop(crowd);
    drop(first);
    let mut again = MapClient::connect(&running);
    assert_eq!(again.ask("smtpdcheck d.test"), "OK mx1.d.test");
}

#[test]
fn without_a_socket_it_says_so_and_exits_2() {
    // stdin is /dev/null: no socket. Said on stderr, before syslog.
    let run = run_applet_with("smtpdcheck", &["--sendmail-socketmap"], &[], true);
    assert_eq!(run.status, Some(2), "{run:#?}");
    assert_eq!(
        run.stderr,
        "smtpdcheck: --sendmail-socketmap: no socket: give one from systemd (LISTEN_FDS) or as stdin\n"
    );
}
