//! The loopback test server: it accepts connections, serves each on its own
//! thread (a [`Step`] script here, the STARTTLS dialogue in `starttls.rs`),
//! logs every client line, and stops within about a second when dropped or
//! when its lifetime ends. Also the plain-socket helpers (a refused port,
//! a listener that never accepts).

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::conn::Conn;
use super::script::{Step, starts_with_ci};
use super::{IDLE, SERVER_LIFETIME};

/// One client line a server logged (or a `*EVENT` of the STARTTLS server),
/// with its connection number (from 1), whether it came over TLS, and
/// when it was logged.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub conn: usize,
    pub tls: bool,
    pub text: String,
    pub at: Instant,
}

impl Line {
    /// An `ETRN ...` command, in any case.
    pub fn is_etrn(&self) -> bool {
        starts_with_ci(&self.text, "ETRN")
    }

    /// `tls:TEXT` or `plain:TEXT`, for asserting which channel a line used.
    pub fn tagged(&self) -> String {
        let channel = if self.tls { "tls" } else { "plain" };
        format!("{channel}:{}", self.text)
    }
}

/// The texts of connection `conn` (numbered from 1) among `lines`.
pub fn texts_on(lines: &[Line], conn: usize) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.conn == conn)
        .map(|l| l.text.clone())
        .collect()
}

/// State shared by the owner, the accept thread and the connections.
pub(super) struct Shared {
    stop: AtomicBool,
    pub(super) deadline: Instant,
    /// Connections accepted so far (also the number of the latest one).
    accepted: AtomicUsize,
    /// Connections whose thread has not finished yet.
    active: AtomicUsize,
    /// Times the accept loop found no connection waiting.
    empty_polls: AtomicUsize,
    /// Every logged line, in arrival order across connections.
    log: Mutex<Vec<Line>>,
}

impl Shared {
    pub(super) fn alive(&self) -> bool {
        !self.stop.load(Ordering::SeqCst) && Instant::now() < self.deadline
    }

    pub(super) fn record(&self, conn: usize, tls: bool, text: &str) {
        let (text, at) = (text.to_owned(), Instant::now());
        self.log().push(Line {
            conn,
            tls,
            text,
            at,
        });
    }

    fn log(&self) -> MutexGuard<'_, Vec<Line>> {
        // A panicking connection thread must not hide the log from the test.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What serves one accepted connection, on the connection's own thread.
pub(super) type Handler = dyn Fn(Conn<TcpStream>) + Send + Sync;

/// A TCP server on loopback that serves every accepted connection on its
/// own thread and logs every client line. Dropping it stops everything
/// within about a second.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Binds `bind` (a literal loopback address such as `"127.0.0.1:0"`,
    /// `"127.0.0.2:0"` or `"[::1]:0"`) and plays `script` on every
    /// connection. Panics on error.
    pub fn start(bind: &str, script: Vec<Step>) -> TestServer {
        Self::start_with_lifetime(bind, script, SERVER_LIFETIME)
    }

    /// Like [`start`](Self::start) with a custom lifetime.
    pub fn start_with_lifetime(bind: &str, script: Vec<Step>, lifetime: Duration) -> Self {
        Self::start_on_with_lifetime(parse_loopback(bind), script, lifetime)
    }

    /// Binds a fixed address (e.g. `127.0.0.3:<port>`). Panics on error.
    pub fn start_on(addr: SocketAddr, script: Vec<Step>) -> TestServer {
        Self::start_on_with_lifetime(addr, script, SERVER_LIFETIME)
    }

    fn start_on_with_lifetime(addr: SocketAddr, script: Vec<Step>, lifetime: Duration) -> Self {
        Self::serve(addr, lifetime, scripted(script))
            .unwrap_or_else(|e| panic!("cannot start scripted server on {addr}: {e}"))
    }

    /// Like [`start_on`](Self::start_on) but returns the bind error (for
    /// tests that want to skip when e.g. 127.0.0.2 is not usable).
    pub fn try_start_on(addr: SocketAddr, script: Vec<Step>) -> io::Result<TestServer> {
        Self::serve(addr, SERVER_LIFETIME, scripted(script))
    }

    /// Starts one server per `(ip, script)` on a single shared port (e.g. to
    /// put several "MX hosts" on 127.0.0.2, 127.0.0.3 ...): the first binds
    /// a port the kernel picks, the others that port; all over again if one
    /// of them finds it taken. Returned in the same order.
    pub fn start_same_port(specs: Vec<(&str, Vec<Step>)>) -> Vec<TestServer> {
        Self::start_same_port_refusing(specs, &[]).0
    }

    /// [`start_same_port`](Self::start_same_port), and that port held
    /// ([`HeldPort`]) on each IPv4 address of `refused`, so connecting there
    /// is refused for as long as the holds live.
    pub fn start_same_port_refusing(
        specs: Vec<(&str, Vec<Step>)>,
        refused: &[&str],
    ) -> (Vec<TestServer>, Vec<HeldPort>) {
        let ips: Vec<IpAddr> = specs.iter().map(|(ip, _)| parse_loopback_ip(ip)).collect();
        let refused: Vec<Ipv4Addr> = refused.iter().map(|ip| parse_loopback_v4(ip)).collect();
        let mut last_err = None;
        for _attempt in 0..20 {
            match Self::try_same_port(&ips, &specs, &refused) {
                Ok(started) => return started,
                // Whatever was started is dropped (and stopped) here.
                Err(e) => last_err = Some(e),
            }
        }
        panic!("cannot start servers on one shared port: {last_err:?}");
    }

    /// One attempt of [`start_same_port_refusing`](Self::start_same_port_refusing).
    fn try_same_port(
        ips: &[IpAddr],
        specs: &[(&str, Vec<Step>)],
        refused: &[Ipv4Addr],
    ) -> io::Result<(Vec<TestServer>, Vec<HeldPort>)> {
        let mut port = 0;
        let mut servers = Vec::new();
        for (ip, (_, script)) in ips.iter().zip(specs) {
            let server = Self::try_start_on(SocketAddr::new(*ip, port), script.clone())?;
            port = server.port();
            servers.push(server);
        }
        let mut held = Vec::new();
        for ip in refused {
            let hold = HeldPort::hold(*ip, port)?;
            port = hold.addr().port();
            held.push(hold);
        }
        Ok((servers, held))
    }

    /// Binds `addr` and serves every connection with `handler` until the
    /// server is dropped or `lifetime` has passed.
    pub(super) fn serve(
        addr: SocketAddr,
        lifetime: Duration,
        handler: Arc<Handler>,
    ) -> io::Result<TestServer> {
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
            empty_polls: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        });
        let thread_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("test-server-{addr}"))
            .spawn(move || accept_loop(listener, handler, thread_shared))?;
        Ok(TestServer {
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

    /// Every line logged so far, in order.
    pub fn lines_now(&self) -> Vec<Line> {
        self.shared.log().clone()
    }

    /// Every logged line, once every connection has ended (so the log is
    /// complete); fails the test if they are still busy after [`IDLE`].
    pub fn lines(&self) -> Vec<Line> {
        assert!(self.wait_idle(IDLE), "server still busy: {:?}", self.log());
        self.lines_now()
    }

    /// Every logged line so far, as `#<connection> <line>`.
    pub fn log(&self) -> Vec<String> {
        let lines = self.lines_now();
        lines
            .iter()
            .map(|l| format!("#{} {}", l.conn, l.text))
            .collect()
    }

    /// Every line logged so far, without the connection prefix.
    pub fn received(&self) -> Vec<String> {
        self.lines_now().into_iter().map(|l| l.text).collect()
    }

    /// Logged lines of one connection (numbered from 1) so far.
    pub fn received_on(&self, conn: usize) -> Vec<String> {
        texts_on(&self.lines_now(), conn)
    }

    /// Every logged line once the connections have ended, without prefix.
    pub fn received_when_idle(&self) -> Vec<String> {
        self.lines().into_iter().map(|l| l.text).collect()
    }

    /// The `ETRN ...` lines, once the connections have ended.
    pub fn etrn_lines(&self) -> Vec<String> {
        let lines = self.lines().into_iter().filter(Line::is_etrn);
        lines.map(|l| l.text).collect()
    }

    /// The client lines (no `*EVENT`s) of connection `conn` as
    /// `tls:LINE` / `plain:LINE`, once the connections have ended.
    pub fn tagged_lines_on(&self, conn: usize) -> Vec<String> {
        let lines = self.lines().into_iter();
        let client = lines.filter(|l| l.conn == conn && !l.text.starts_with('*'));
        client.map(|l| l.tagged()).collect()
    }

    /// The `UNEXPECTED ...` entries (script deviations), with prefixes.
    pub fn unexpected(&self) -> Vec<String> {
        let log = self.log().into_iter();
        log.filter(|l| {
            l.split_once(' ')
                .is_some_and(|(_, r)| r.starts_with("UNEXPECTED "))
        })
        .collect()
    }

    /// Number of connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// The connections accepted once every connection that was already
    /// waiting to be accepted has been (after the client has exited, say):
    /// the accept loop has found nothing waiting since this call. Fails the
    /// test if the accept loop does not get there within [`IDLE`].
    pub fn connections_settled(&self) -> usize {
        let shared = &self.shared;
        let seen = shared.empty_polls.load(Ordering::SeqCst);
        // The first empty poll counted after `seen` may have begun before
        // this call; the second began after it.
        let settled = wait_until(IDLE, || {
            !shared.alive() || shared.empty_polls.load(Ordering::SeqCst) >= seen + 2
        });
        assert!(settled, "the accept loop is stuck: {:?}", self.log());
        self.connections()
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

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept_thread.take() {
            // The accept thread itself waits (bounded) for its connections.
            join_bounded(vec![h], Duration::from_secs(2));
        }
    }
}

/// The handler that plays `script` on every connection.
fn scripted(script: Vec<Step>) -> Arc<Handler> {
    Arc::new(move |conn: Conn<TcpStream>| conn.run(&script))
}

fn accept_loop(listener: TcpListener, handler: Arc<Handler>, shared: Arc<Shared>) {
    let mut workers = Vec::new();
    while shared.alive() {
        match listener.accept() {
            Ok((stream, _)) => {
                let n = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
                shared.active.fetch_add(1, Ordering::SeqCst);
                let (handler, shared) = (Arc::clone(&handler), Arc::clone(&shared));
                workers.push(thread::spawn(move || {
                    // Decrement `active` however the connection ends.
                    let _guard = ActiveGuard(Arc::clone(&shared));
                    if let Some(conn) = Conn::new(stream, n, shared) {
                        handler(conn);
                    }
                }));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                shared.empty_polls.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(10));
            }
            // Other errors (e.g. EMFILE or an aborted handshake) are
            // transient for our purposes.
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

/// Polls (every 10 ms) until `cond` holds or `timeout` passes; whether it
/// held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
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
pub(super) fn join_bounded<T>(handles: Vec<JoinHandle<T>>, limit: Duration) {
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

fn parse_loopback_v4(ip: &str) -> Ipv4Addr {
    match parse_loopback_ip(ip) {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(_) => panic!("{ip}: a port is held only on IPv4 loopback"),
    }
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

/// A port held on one IPv4 loopback address by a socket that is bound but
/// not listening: connecting there is refused as to a closed port, but no
/// other socket can bind that address and port meanwhile (ours does not
/// set SO_REUSEADDR), nor take it as the source port of a connection, so
/// it stays refused while this lives. (A port found free and released, by
/// contrast, could be taken by another test at once.)
pub struct HeldPort {
    _socket: OwnedFd,
    addr: SocketAddr,
}

impl HeldPort {
    /// Holds `ip:port` (port 0: one the kernel picks).
    pub fn hold(ip: Ipv4Addr, port: u16) -> io::Result<HeldPort> {
        assert_loopback(IpAddr::V4(ip));
        // SAFETY: socket(2) has no preconditions; the result is checked.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(ip).to_be(),
            },
            sin_zero: [0; 8],
        };
        let mut len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let raw = (&raw mut sin).cast::<libc::sockaddr>();
        // SAFETY: `raw` points to a sockaddr_in of `len` bytes, read by
        // bind and written by getsockname.
        let bound =
            unsafe { libc::bind(fd, raw, len) == 0 && libc::getsockname(fd, raw, &mut len) == 0 };
        if !bound {
            return Err(io::Error::last_os_error());
        }
        let addr = SocketAddr::from((ip, u16::from_be(sin.sin_port)));
        Ok(HeldPort {
            _socket: socket,
            addr,
        })
    }

    /// The held (refused) address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// An address on 127.0.0.1 where connecting is refused, the same for the
/// whole test process, which holds it ([`HeldPort`]) to the end.
pub fn refused_addr() -> SocketAddr {
    static HELD: OnceLock<HeldPort> = OnceLock::new();
    let held = HELD.get_or_init(|| {
        HeldPort::hold(Ipv4Addr::LOCALHOST, 0)
            .unwrap_or_else(|e| panic!("hold a port on 127.0.0.1: {e}"))
    });
    held.addr()
}

/// The port of [`refused_addr`] (for a test that has no server to point
/// an applet at).
pub fn free_port() -> u16 {
    refused_addr().port()
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
