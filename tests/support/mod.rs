//! Shared harness for integration tests: scripted SMTP servers on loopback
//! and helpers that run the built `smtpbox` binary with a hard time limit.
//!
//! Safety rules this module enforces, so that no test can hang or leak:
//!
//! * Servers bind only literal loopback addresses (127.0.0.0/8 or `[::1]`).
//!   Addresses are parsed, never resolved, so no DNS is ever done.
//! * Every server has a lifetime (default [`SERVER_LIFETIME`]); after it, the
//!   listener is closed and every connection thread ends by itself.
//! * Every blocking socket call uses a short timeout ([`POLL`]) so threads
//!   notice the stop flag; dropping a [`ScriptedServer`] stops it within ~1 s.
//! * Every child process is killed if it runs longer than [`RUN_TIMEOUT`].
//!
//! Use it from a test file with `mod support;`.
#![allow(dead_code)]

pub mod tls;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a server lives unless told otherwise.
pub const SERVER_LIFETIME: Duration = Duration::from_secs(20);
/// How long `Expect`/`ExpectAny`/`Reply` wait for one client line.
pub const EXPECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a child process may run before it is killed.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Granularity of every socket timeout and sleep, i.e. how quickly server
/// threads notice that they must stop.
pub const POLL: Duration = Duration::from_millis(50);
/// Longest client line the server accepts (excluding the LF).
pub const MAX_LINE: usize = 64 * 1024;

// ---------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------

/// One step of a per-connection script. Every accepted connection runs the
/// whole script from the start.
///
/// When the script runs out, the connection is *held*: it stays open (lines
/// the client sends are still logged) until the peer closes, the server's
/// lifetime ends, or the server is dropped. That is the implicit
/// [`Step::Hold`], so a "silent" server is just an empty script.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Write exactly these bytes (no CRLF added).
    Send(Vec<u8>),
    /// Write the bytes one at a time, pausing `every` between bytes.
    Drip { bytes: Vec<u8>, every: Duration },
    /// Read one line and log it. If it does not start with this prefix
    /// (ASCII case-insensitive), log `UNEXPECTED <line>` and close.
    /// EOF, timeout or an overlong line are logged as `UNEXPECTED <eof>`,
    /// `UNEXPECTED <timeout>`, `UNEXPECTED <overlong N bytes>` and close.
    Expect(String),
    /// Like `Expect`, but any line is accepted.
    ExpectAny,
    /// Pause (the connection stays open).
    Sleep(Duration),
    /// Close the connection normally (FIN) and end the script.
    Close,
    /// Close with a TCP RST (SO_LINGER 0) and end the script.
    Reset,
    /// `Expect(expect)` followed by sending `reply`; `reply` may hold several
    /// lines separated by `'\n'`, each is sent with CRLF. An empty reply
    /// sends nothing.
    Reply { expect: String, reply: String },
    /// Answer lines until QUIT: each line is logged and answered with the
    /// reply of the first entry whose key is an ASCII case-insensitive prefix
    /// of it (multi-line as in `Reply`), else `500 unrecognized`. QUIT is
    /// answered `221 bye` (or by a matching entry) and the connection closed.
    /// Ends when the client closes, or at the end of the server lifetime.
    ServeUntilQuit { replies: Vec<(String, String)> },
    /// Keep the connection open, logging client lines, until the peer closes
    /// or the server stops. Implicit at the end of every script.
    Hold,
}

/// `Step::Send` of the exact text (no CRLF added).
pub fn send(s: &str) -> Step {
    Step::Send(s.as_bytes().to_vec())
}

/// `Step::Send` of one or more `'\n'`-separated lines, each ending in CRLF.
pub fn line(s: &str) -> Step {
    Step::Send(crlf_lines(s))
}

/// `Step::Expect` with the given prefix.
pub fn expect(prefix: &str) -> Step {
    Step::Expect(prefix.to_string())
}

/// `Step::Reply`: expect a line starting with `expect`, then send `reply`.
pub fn reply(expect: &str, reply: &str) -> Step {
    Step::Reply {
        expect: expect.to_string(),
        reply: reply.to_string(),
    }
}

/// `Step::ServeUntilQuit` from `(prefix, reply)` pairs.
pub fn serve(replies: &[(&str, &str)]) -> Step {
    let replies = replies
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Step::ServeUntilQuit { replies }
}

/// Turns `"250-a\n250 b"` into `b"250-a\r\n250 b\r\n"`; empty text gives
/// nothing, so an empty reply means "send no reply".
fn crlf_lines(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if text.is_empty() {
        return out;
    }
    for l in text.split('\n') {
        out.extend_from_slice(l.trim_end_matches('\r').as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn starts_with_ci(line: &str, prefix: &str) -> bool {
    line.len() >= prefix.len()
        && line.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

// ---------------------------------------------------------------------------
// Server state shared between the owner, the accept thread and connections
// ---------------------------------------------------------------------------

struct Shared {
    stop: AtomicBool,
    deadline: Instant,
    /// Connections accepted so far (also the number of the latest one).
    accepted: AtomicUsize,
    /// Connections whose thread has not finished yet.
    active: AtomicUsize,
    /// `(connection number, line)` in arrival order across connections.
    log: Mutex<Vec<(usize, String)>>,
}

impl Shared {
    fn alive(&self) -> bool {
        !self.stop.load(Ordering::SeqCst) && Instant::now() < self.deadline
    }

    fn log(&self) -> MutexGuard<'_, Vec<(usize, String)>> {
        // A panicking connection thread must not hide the log from the test.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sleeps for `d` in `POLL` slices; returns false as soon as the server
/// must stop (so a long `Sleep` step cannot delay shutdown).
fn nap(shared: &Shared, d: Duration) -> bool {
    let end = Instant::now() + d;
    while shared.alive() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        thread::sleep(left.min(POLL));
    }
    false
}

/// Polls until `cond` holds or `timeout` passes.
fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits at most `limit` for the threads; stragglers are detached rather
/// than allowed to block the caller.
fn join_bounded(handles: Vec<JoinHandle<()>>, limit: Duration) {
    let end = Instant::now() + limit;
    for h in handles {
        while !h.is_finished() && Instant::now() < end {
            thread::sleep(Duration::from_millis(5));
        }
        if h.is_finished() {
            let _ = h.join();
        }
    }
}

// ---------------------------------------------------------------------------
// ScriptedServer
// ---------------------------------------------------------------------------

/// A TCP server on loopback that runs a [`Step`] script on every accepted
/// connection (each on its own thread) and logs every client line.
/// Dropping it stops everything within about a second.
pub struct ScriptedServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl ScriptedServer {
    /// Binds `bind` (a literal loopback address such as `"127.0.0.1:0"`,
    /// `"127.0.0.2:0"` or `"[::1]:0"`) and serves `script`. Panics on error.
    pub fn start(bind: &str, script: Vec<Step>) -> ScriptedServer {
        Self::start_with_lifetime(bind, script, SERVER_LIFETIME)
    }

    /// Like [`start`](Self::start) with a custom lifetime.
    pub fn start_with_lifetime(bind: &str, script: Vec<Step>, lifetime: Duration) -> Self {
        let addr = parse_loopback(bind);
        Self::try_start_inner(addr, script, lifetime)
            .unwrap_or_else(|e| panic!("cannot start scripted server on {addr}: {e}"))
    }

    /// Binds a fixed address (e.g. `127.0.0.3:<port>`). Panics on error.
    pub fn start_on(addr: SocketAddr, script: Vec<Step>) -> ScriptedServer {
        Self::try_start_on(addr, script)
            .unwrap_or_else(|e| panic!("cannot start scripted server on {addr}: {e}"))
    }

    /// Like [`start_on`](Self::start_on) but returns the bind error (for
    /// tests that want to skip when e.g. 127.0.0.2 is not usable).
    pub fn try_start_on(addr: SocketAddr, script: Vec<Step>) -> io::Result<ScriptedServer> {
        Self::try_start_inner(addr, script, SERVER_LIFETIME)
    }

    /// Starts one server per `(ip, script)` on a single shared port (e.g. to
    /// put several "MX hosts" on 127.0.0.2, 127.0.0.3 ...). Retries with a
    /// new port if one is taken. Returned in the same order.
    pub fn start_same_port(specs: Vec<(&str, Vec<Step>)>) -> Vec<ScriptedServer> {
        let ips: Vec<IpAddr> = specs.iter().map(|(ip, _)| parse_loopback_ip(ip)).collect();
        let mut last_err = None;
        for _attempt in 0..20 {
            let port = free_port();
            let mut servers = Vec::new();
            for (ip, (_, script)) in ips.iter().zip(&specs) {
                match Self::try_start_on(SocketAddr::new(*ip, port), script.clone()) {
                    Ok(s) => servers.push(s),
                    Err(e) => {
                        last_err = Some(e);
                        break;
                    }
                }
            }
            if servers.len() == specs.len() {
                return servers;
            }
            // Partial success: `servers` is dropped (and stopped) here.
        }
        panic!("cannot start servers on one shared port: {last_err:?}");
    }

    fn try_start_inner(
        addr: SocketAddr,
        script: Vec<Step>,
        lifetime: Duration,
    ) -> io::Result<Self> {
        assert_loopback(addr.ip());
        let listener = TcpListener::bind(addr)?;
        // Non-blocking accept lets the accept loop poll the stop flag.
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            deadline: Instant::now() + lifetime,
            accepted: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        });
        let thread_shared = Arc::clone(&shared);
        let script = Arc::new(script);
        let accept_thread = thread::Builder::new()
            .name(format!("scripted-server-{addr}"))
            .spawn(move || accept_loop(listener, script, thread_shared))?;
        Ok(ScriptedServer {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        })
    }

    /// The bound address (with the real port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every logged line, in order, as `#<connection> <line>`.
    pub fn log(&self) -> Vec<String> {
        self.shared
            .log()
            .iter()
            .map(|(n, l)| format!("#{n} {l}"))
            .collect()
    }

    /// Every logged line, in order, without the connection prefix.
    pub fn received(&self) -> Vec<String> {
        self.shared.log().iter().map(|(_, l)| l.clone()).collect()
    }

    /// Logged lines of one connection (numbered from 1).
    pub fn received_on(&self, conn: usize) -> Vec<String> {
        self.shared
            .log()
            .iter()
            .filter(|(n, _)| *n == conn)
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// The `UNEXPECTED ...` entries (script deviations), with prefixes.
    pub fn unexpected(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|l| {
                l.split_once(' ')
                    .is_some_and(|(_, r)| r.starts_with("UNEXPECTED "))
            })
            .collect()
    }

    /// Number of connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` connections were accepted.
    pub fn wait_connections(&self, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, || self.connections() >= n)
    }

    /// Waits until a logged line starts with `prefix` (case-insensitive).
    pub fn wait_received(&self, prefix: &str, timeout: Duration) -> bool {
        wait_until(timeout, || {
            self.received().iter().any(|l| starts_with_ci(l, prefix))
        })
    }

    /// Waits until every accepted connection has finished (peer closed or
    /// script closed), so the log is complete.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        wait_until(timeout, || self.shared.active.load(Ordering::SeqCst) == 0)
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept_thread.take() {
            // The accept thread itself waits (bounded) for its connections.
            join_bounded(vec![h], Duration::from_secs(2));
        }
    }
}

fn parse_loopback(bind: &str) -> SocketAddr {
    let addr: SocketAddr = bind.parse().unwrap_or_else(|_| {
        panic!("bind address {bind:?} must be a literal like 127.0.0.1:0 or [::1]:0 (no DNS)")
    });
    assert_loopback(addr.ip());
    addr
}

fn parse_loopback_ip(ip: &str) -> IpAddr {
    let ip: IpAddr = ip
        .parse()
        .unwrap_or_else(|_| panic!("{ip:?} is not a literal IP address"));
    assert_loopback(ip);
    ip
}

fn assert_loopback(ip: IpAddr) {
    let ok = match ip {
        IpAddr::V4(v4) => v4.octets()[0] == 127,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    };
    assert!(
        ok,
        "test servers may only bind 127.0.0.0/8 or [::1], not {ip}"
    );
}

fn accept_loop(listener: TcpListener, script: Arc<Vec<Step>>, shared: Arc<Shared>) {
    let mut workers = Vec::new();
    while shared.alive() {
        match listener.accept() {
            Ok((stream, _)) => {
                let n = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
                shared.active.fetch_add(1, Ordering::SeqCst);
                let (script, shared) = (Arc::clone(&script), Arc::clone(&shared));
                workers.push(thread::spawn(move || {
                    // Decrement `active` however the connection ends.
                    let _guard = ActiveGuard(Arc::clone(&shared));
                    if let Some(conn) = Conn::new(stream, n, shared) {
                        conn.run(&script);
                    }
                }));
            }
            // WouldBlock: nothing pending. Other errors (e.g. EMFILE or an
            // aborted handshake) are transient for our purposes.
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
    // Close the port first so clients are refused, then let connections end.
    drop(listener);
    join_bounded(workers, Duration::from_secs(1));
}

struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------
// One connection
// ---------------------------------------------------------------------------

/// What reading one client line produced.
enum Input {
    Line(String),
    /// The peer closed (or the connection failed) with no partial line.
    Closed,
    /// The per-line time limit passed.
    TimedOut,
    /// No LF within `MAX_LINE` bytes; carries the length seen.
    Overlong(usize),
    /// The server is stopping (drop or end of lifetime).
    Stopped,
}

/// Whether the script goes on after a step.
#[derive(PartialEq)]
enum Flow {
    Continue,
    Done,
}

struct Conn {
    stream: TcpStream,
    /// Bytes read but not yet consumed as lines (clients may pipeline).
    buf: Vec<u8>,
    number: usize,
    shared: Arc<Shared>,
}

impl Conn {
    fn new(stream: TcpStream, number: usize, shared: Arc<Shared>) -> Option<Conn> {
        // Short timeouts so every blocking call returns to check the stop
        // flag; NODELAY so `Drip` really sends one byte per segment.
        stream.set_nonblocking(false).ok()?;
        stream.set_read_timeout(Some(POLL)).ok()?;
        stream.set_write_timeout(Some(POLL)).ok()?;
        stream.set_nodelay(true).ok()?;
        Some(Conn {
            stream,
            buf: Vec::new(),
            number,
            shared,
        })
    }

    /// Runs the script, then holds the connection (implicit `Step::Hold`).
    fn run(mut self, script: &[Step]) {
        for step in script {
            if self.step(step) == Flow::Done {
                return;
            }
        }
        self.hold();
    }

    fn step(&mut self, step: &Step) -> Flow {
        match step {
            Step::Send(bytes) => self.write(bytes),
            Step::Drip { bytes, every } => self.drip(bytes, *every),
            Step::Expect(prefix) => self.expect(prefix),
            Step::ExpectAny => self.expect(""),
            Step::Sleep(d) => flow(nap(&self.shared, *d)),
            Step::Close => {
                // FIN first; the socket itself is closed when `self` drops.
                let _ = self.stream.shutdown(Shutdown::Write);
                Flow::Done
            }
            Step::Reset => {
                set_linger_zero(&self.stream);
                Flow::Done
            }
            Step::Reply { expect, reply } => match self.expect(expect) {
                Flow::Continue => self.write(&crlf_lines(reply)),
                Flow::Done => Flow::Done,
            },
            Step::ServeUntilQuit { replies } => self.serve_until_quit(replies),
            Step::Hold => self.hold(),
        }
    }

    fn record(&self, line: &str) {
        self.shared.log().push((self.number, line.to_string()));
    }

    /// Logs a script deviation and closes the connection.
    fn deviate(&mut self, what: &str) -> Flow {
        self.record(&format!("UNEXPECTED {what}"));
        let _ = self.stream.shutdown(Shutdown::Write);
        Flow::Done
    }

    fn expect(&mut self, prefix: &str) -> Flow {
        let limit = Instant::now() + EXPECT_TIMEOUT;
        match self.read_line(limit) {
            Input::Line(l) => {
                self.record(&l);
                if starts_with_ci(&l, prefix) {
                    Flow::Continue
                } else {
                    self.deviate(&l)
                }
            }
            Input::Closed => self.deviate("<eof>"),
            Input::TimedOut => self.deviate("<timeout>"),
            Input::Overlong(n) => self.deviate(&format!("<overlong {n} bytes>")),
            Input::Stopped => Flow::Done,
        }
    }

    fn serve_until_quit(&mut self, replies: &[(String, String)]) -> Flow {
        loop {
            let l = match self.read_line(self.shared.deadline) {
                Input::Line(l) => l,
                Input::Overlong(n) => return self.deviate(&format!("<overlong {n} bytes>")),
                Input::Closed | Input::TimedOut | Input::Stopped => return Flow::Done,
            };
            self.record(&l);
            let matched = replies.iter().find(|(k, _)| starts_with_ci(&l, k));
            let is_quit = starts_with_ci(&l, "QUIT");
            let answer = match (matched, is_quit) {
                (Some((_, r)), _) => r.as_str(),
                (None, true) => "221 bye",
                (None, false) => "500 unrecognized",
            };
            if self.write(&crlf_lines(answer)) == Flow::Done {
                return Flow::Done;
            }
            if is_quit {
                let _ = self.stream.shutdown(Shutdown::Write);
                return Flow::Done;
            }
        }
    }

    /// Keeps the connection open, logging lines, until the peer closes or
    /// the server stops.
    fn hold(&mut self) -> Flow {
        loop {
            match self.read_line(self.shared.deadline) {
                Input::Line(l) => self.record(&l),
                Input::Overlong(n) => self.record(&format!("UNEXPECTED <overlong {n} bytes>")),
                Input::Closed | Input::TimedOut | Input::Stopped => return Flow::Done,
            }
        }
    }

    fn drip(&mut self, bytes: &[u8], every: Duration) -> Flow {
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 && !nap(&self.shared, every) {
                return Flow::Done;
            }
            if self.write(std::slice::from_ref(b)) == Flow::Done {
                return Flow::Done;
            }
        }
        Flow::Continue
    }

    /// Writes everything, retrying on write timeouts while the server lives.
    /// (`write_all` would lose track of partial writes on a timeout.)
    fn write(&mut self, mut bytes: &[u8]) -> Flow {
        while !bytes.is_empty() {
            if !self.shared.alive() {
                return Flow::Done;
            }
            match self.stream.write(bytes) {
                Ok(0) => return Flow::Done,
                Ok(n) => bytes = &bytes[n..],
                Err(e) if is_retry(&e) => {}
                Err(_) => return Flow::Done,
            }
        }
        Flow::Continue
    }

    /// Reads one LF-terminated line (CR stripped, lossy UTF-8) by `limit`.
    /// A partial line followed by EOF is returned as a line.
    fn read_line(&mut self, limit: Instant) -> Input {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                if pos > MAX_LINE {
                    return self.overlong();
                }
                let raw: Vec<u8> = self.buf.drain(..=pos).collect();
                return Input::Line(decode_line(&raw));
            }
            if self.buf.len() > MAX_LINE {
                return self.overlong();
            }
            if !self.shared.alive() {
                return Input::Stopped;
            }
            if Instant::now() >= limit {
                return Input::TimedOut;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) if self.buf.is_empty() => return Input::Closed,
                Ok(0) => return Input::Line(decode_line(&std::mem::take(&mut self.buf))),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_retry(&e) => {}
                Err(_) => return Input::Closed,
            }
        }
    }

    fn overlong(&mut self) -> Input {
        let n = self.buf.len();
        self.buf.clear();
        Input::Overlong(n)
    }
}

fn flow(go_on: bool) -> Flow {
    if go_on { Flow::Continue } else { Flow::Done }
}

fn decode_line(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    String::from_utf8_lossy(raw).into_owned()
}

/// Errors that only mean "the short socket timeout expired, try again".
fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

/// SO_LINGER {on, 0}: closing the socket then sends RST instead of FIN.
fn set_linger_zero(stream: &TcpStream) {
    let lg = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is open (owned by `stream`) and the pointer/length
    // describe a live, correctly sized `linger` value.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const lg).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt(SO_LINGER) failed: {}",
        io::Error::last_os_error()
    );
}

// ---------------------------------------------------------------------------
// Plain sockets
// ---------------------------------------------------------------------------

/// A port that is free on 127.0.0.1 right now (bind :0, read, release).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// A loopback address where nothing listens, so connecting is refused.
pub fn refused_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// A listener that is never accepted: the kernel completes the handshake
/// but no greeting ever comes. Keep the listener alive while it is needed.
pub fn silent_listener(bind: &str) -> (TcpListener, SocketAddr) {
    let addr = parse_loopback(bind);
    let l = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    let addr = l.local_addr().expect("local_addr");
    (l, addr)
}

/// Whether `[::1]` can be bound here (IPv6 may be disabled in containers).
pub fn ipv6_loopback_available() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

// ---------------------------------------------------------------------------
// Running programs
// ---------------------------------------------------------------------------

/// Outcome of one child process.
#[derive(Debug)]
pub struct Run {
    /// Exit code; `None` if killed (by us on timeout, or by a signal).
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Wall time from spawn to exit (or kill).
    pub elapsed: Duration,
    /// True if the harness killed the child after its time limit.
    pub timed_out: bool,
}

impl Run {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// Path of the `smtpbox` binary built by cargo for these tests.
pub fn smtpbox_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_smtpbox"))
}

/// Runs `smtpbox APPLET ARGS...` (stdin /dev/null, private XDG_CACHE_HOME).
pub fn run_applet(applet: &str, args: &[&str]) -> Run {
    run_applet_with(applet, args, &[], true)
}

/// Like [`run_applet`] with extra environment variables. `stdin_null`
/// true: stdin is /dev/null; false: stdin is an empty pipe (EOF at once).
pub fn run_applet_with(applet: &str, args: &[&str], env: &[(&str, &str)], stdin_null: bool) -> Run {
    let input: Option<&[u8]> = if stdin_null { None } else { Some(b"") };
    run_program(
        &smtpbox_bin(),
        &applet_argv(applet, args),
        env,
        input,
        RUN_TIMEOUT,
    )
}

/// Runs `smtpbox APPLET ARGS...` with `input` written to a stdin pipe.
pub fn run_applet_input(applet: &str, args: &[&str], input: &[u8]) -> Run {
    run_program(
        &smtpbox_bin(),
        &applet_argv(applet, args),
        &[],
        Some(input),
        RUN_TIMEOUT,
    )
}

/// Runs any program (e.g. a symlink to smtpbox named after an applet).
pub fn run_link(link_path: &Path, args: &[&str]) -> Run {
    run_program(link_path, args, &[], None, RUN_TIMEOUT)
}

fn applet_argv<'a>(applet: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    std::iter::once(applet)
        .chain(args.iter().copied())
        .collect()
}

/// The general runner. `stdin`: `None` = /dev/null, `Some(bytes)` = a pipe
/// fed those bytes then closed. Captures output; kills the child after
/// `timeout`. Sets `XDG_CACHE_HOME` to a fresh directory (removed after the
/// run) unless `env` sets it.
pub fn run_program(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Run {
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let own_cache =
        (!env.iter().any(|(k, _)| *k == "XDG_CACHE_HOME")).then(|| temp_dir("xdg-cache"));
    if let Some(dir) = &own_cache {
        cmd.env("XDG_CACHE_HOME", dir);
    }
    cmd.envs(env.iter().copied());

    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A thread, so a child that never reads cannot block us; it ends
        // with EPIPE once the child exits.
        let data = data.to_vec();
        thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let out = Collector::start(child.stdout.take().expect("stdout pipe"));
    let err = Collector::start(child.stderr.take().expect("stderr pipe"));

    let (status, timed_out) = loop {
        match child.try_wait() {
            Ok(Some(st)) => break (st.code(), false),
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break (None, true);
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("waiting for {}: {e}", program.display()),
        }
    };
    let elapsed = start.elapsed();
    let run = Run {
        status,
        stdout: out.finish(),
        stderr: err.finish(),
        elapsed,
        timed_out,
    };
    if let Some(dir) = own_cache {
        let _ = std::fs::remove_dir_all(dir);
    }
    run
}

/// Drains a child's pipe on a thread into a shared buffer, so the child
/// never blocks on a full pipe and we can stop waiting at any time.
struct Collector {
    data: Arc<Mutex<Vec<u8>>>,
    thread: JoinHandle<()>,
}

impl Collector {
    fn start(mut pipe: impl Read + Send + 'static) -> Collector {
        let data = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&data);
        let thread = thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => sink
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
        Collector { data, thread }
    }

    /// Waits (bounded: a grandchild could keep the pipe open) for EOF.
    fn finish(self) -> String {
        join_bounded(vec![self.thread], Duration::from_secs(2));
        let data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&data).into_owned()
    }
}

/// Creates a fresh, unique directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("smtpbox-test-{}-{n}-{tag}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return dir,
            // Left over from an earlier process with the same pid: skip it.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create {}: {e}", dir.display()),
        }
    }
}
