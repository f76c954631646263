//! The hostile matrix: both applets against servers that stall, drip, flood,
//! lie or break the protocol, and against process-level faults (closed
//! stdout, SIGTERM, 200 concurrent runs on one cache, a huge cache file),
//! each with BOUNDS: exit status, wall time, peak RSS, no panic, exact
//! stdout.
//!
//! Rules: loopback only (127.0.0.1), no DNS (IP literals; etrn always gets
//! `--helo client.test`), every server has a lifetime and every run is
//! killed after [`KILL_AFTER`].
//!
//! # Measuring the child's own peak RSS
//!
//! `wait4(2)` reports `ru_maxrss` of the reaped child, but Linux starts that
//! value at the RSS of the memory image the child had when it called
//! `execve`: with `posix_spawn` (what `std::process::Command` uses) or
//! `fork`, that image is this test process, whose RSS (tens of MiB of test
//! threads and 10 MB payloads) would be reported as the applet's (checked:
//! /bin/true spawned by a 200 MiB process reads 200 MiB). So every run is
//! started through `/bin/sh` ([`SPAWN_SCRIPT`]), which forks the applet
//! from its own small image behind a gate, writes its pid to a file and
//! exits; this test process is a child subreaper (`PR_SET_CHILD_SUBREAPER`),
//! so the applet becomes our child, and is reaped here with
//! `wait4(pid, &status, 0, &rusage)`: its own peak RSS, with a floor of
//! about 1.5 MiB (the shell's), see `runner_measures_the_childs_own_peak_rss`.
//! Wall time runs from opening the gate to the exit. A timeout thread sends
//! SIGKILL after [`KILL_AFTER`]; the exit is first observed with
//! `waitid(WNOWAIT)`, the timeout thread is stopped and joined, and only
//! then is the child reaped, so the kill can never hit a recycled pid.

mod support;

use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, RwLock, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::tls::{Pki, handshake, is_retry};
use support::*;

// ---------------------------------------------------------------------------
// Bounds
// ---------------------------------------------------------------------------

/// The timeout given to every applet run of the scenario table.
const T: Duration = Duration::from_secs(1);
const T_ARG: &str = "1";
/// Added to every time bound: process start-up, scheduling on a loaded
/// 2-core machine.
const SLACK: Duration = Duration::from_millis(500);
/// Peak RSS allowed to one applet run.
const RSS_LIMIT_KIB: i64 = 16 * 1024;
/// Any run still alive after this is killed (and fails its test).
const KILL_AFTER: Duration = Duration::from_secs(30);
/// How long to wait for a server's connections to end before reading its log.
const IDLE: Duration = Duration::from_secs(5);

/// Scenario tests share it (read); the 200-process test takes it alone
/// (write), so its load cannot eat the other tests' time margins.
static HEAVY: RwLock<()> = RwLock::new(());

fn light() -> std::sync::RwLockReadGuard<'static, ()> {
    HEAVY.read().unwrap_or_else(|e| e.into_inner())
}

fn heavy() -> std::sync::RwLockWriteGuard<'static, ()> {
    HEAVY.write().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------

/// Where the applet's stdout goes.
enum Output {
    /// A pipe drained by a thread (captured).
    Piped,
    /// /dev/null.
    Null,
    /// This descriptor (e.g. the write end of a pipe whose read end is closed).
    Fd(OwnedFd),
    /// No fd 1 at all: the program starts with it closed.
    Closed,
}

impl Output {
    fn stdio(self) -> Stdio {
        match self {
            Output::Piped => Stdio::piped(),
            Output::Null | Output::Closed => Stdio::null(),
            Output::Fd(fd) => Stdio::from(fd),
        }
    }
}

/// One finished applet run.
#[derive(Debug)]
struct Measured {
    /// Exit code; `None` when ended by a signal.
    code: Option<i32>,
    /// The signal that ended it, if any.
    signal: Option<i32>,
    stdout: String,
    stderr: String,
    /// From spawning to the exit.
    wall: Duration,
    /// When the exit was seen.
    ended: Instant,
    /// The child's own peak RSS, KiB (`ru_maxrss` on Linux).
    maxrss_kib: i64,
    /// Killed by the runner after [`KILL_AFTER`].
    killed: bool,
}

impl Measured {
    fn stderr_lines(&self) -> usize {
        self.stderr.lines().count()
    }
}

/// Makes this process the reaper of its orphaned descendants (once).
fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag of
        // this process; the extra arguments are ignored.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        assert_eq!(
            rc,
            0,
            "prctl(PR_SET_CHILD_SUBREAPER): {}",
            io::Error::last_os_error()
        );
    });
}

/// Drains a pipe on a thread.
struct Drain {
    data: Arc<Mutex<Vec<u8>>>,
    thread: JoinHandle<()>,
}

impl Drain {
    fn start(mut pipe: impl Read + Send + 'static) -> Drain {
        let data = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&data);
        let thread = thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut chunk = [0u8; 4096];
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
            })
            .expect("spawn drain thread");
        Drain { data, thread }
    }

    /// The text, after EOF (bounded wait).
    fn finish(self) -> String {
        let end = Instant::now() + Duration::from_secs(2);
        while !self.thread.is_finished() && Instant::now() < end {
            thread::sleep(Duration::from_millis(2));
        }
        if self.thread.is_finished() {
            let _ = self.thread.join();
        }
        let data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&data).into_owned()
    }
}

/// A started applet run, not reaped yet.
struct Running {
    pid: libc::pid_t,
    /// The gate (see [`SPAWN_SCRIPT`]); `None` once open.
    gate: Option<std::process::ChildStdin>,
    /// When the gate was opened.
    start: Instant,
    stdout: Option<Drain>,
    stderr: Option<Drain>,
    stop_killer: Option<mpsc::Sender<()>>,
    killer: Option<JoinHandle<bool>>,
    scratch: PathBuf,
    reaped: bool,
}

/// Run by `/bin/sh -c` with `PIDFILE PROGRAM ARGS...`: forks a gate shell
/// (stdin: our pipe) that waits for EOF and then execs `PROGRAM ARGS` with
/// stdin /dev/null (and fd 1 closed when `HOSTILE_CLOSE_STDOUT` is set);
/// writes its pid to PIDFILE and exits. The gate keeps the
/// program from finishing (and being reaped by this shell, which collects
/// finished jobs) before this shell has exited and the program is ours, and
/// lets many runs start at the same instant.
const SPAWN_SCRIPT: &str = r#"f=$1; shift
exec 3<&0
/bin/sh -c 'read -r _ || :
if [ -n "$HOSTILE_CLOSE_STDOUT" ]; then exec "$@" </dev/null >&-; fi
exec "$@" </dev/null' hostile-gate "$@" <&3 3<&- &
echo $! > "$f""#;

/// Prepares `PROGRAM ARGS` (stdin /dev/null, stderr piped, stdout as
/// `stdout` says, `JOURNAL_STREAM` empty, `XDG_CACHE_HOME` = `cache_home`
/// or a fresh directory) behind a closed gate: call [`Running::open`].
/// See the module comment for why through /bin/sh.
fn prepare(
    program: &Path,
    args: &[&str],
    stdout: Output,
    stderr: Output,
    cache_home: Option<&Path>,
) -> Running {
    become_subreaper();
    let scratch = temp_dir("hostile-run");
    let pidfile = scratch.join("pid");
    let cache = match cache_home {
        Some(dir) => dir.to_path_buf(),
        None => {
            let dir = scratch.join("cache");
            fs::create_dir(&dir).expect("create cache home");
            dir
        }
    };
    let close_stdout = matches!(stdout, Output::Closed);
    let mut cmd = Command::new("/bin/sh");
    if close_stdout {
        cmd.env("HOSTILE_CLOSE_STDOUT", "1");
    }
    cmd.arg("-c")
        .arg(SPAWN_SCRIPT)
        .arg("hostile-spawn")
        .arg(&pidfile)
        .arg(program)
        .args(args)
        .env("XDG_CACHE_HOME", &cache)
        .env("JOURNAL_STREAM", "")
        .stdin(Stdio::piped())
        .stdout(stdout.stdio())
        .stderr(stderr.stdio());
    let mut sh = cmd.spawn().expect("spawn /bin/sh");
    // Our copy of a passed descriptor is closed with the Command.
    drop(cmd);
    let out = sh.stdout.take().map(Drain::start);
    let err = sh.stderr.take().map(Drain::start);
    let sh_end = Instant::now() + Duration::from_secs(10);
    loop {
        match sh.try_wait().expect("try_wait sh") {
            Some(status) => {
                assert!(status.success(), "the spawning shell failed: {status}");
                break;
            }
            None if Instant::now() > sh_end => {
                let _ = sh.kill();
                let _ = sh.wait();
                panic!("the spawning shell did not exit");
            }
            None => thread::sleep(Duration::from_millis(1)),
        }
    }
    let pid: libc::pid_t = fs::read_to_string(&pidfile)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    Running {
        pid,
        gate: sh.stdin.take(),
        start: Instant::now(),
        stdout: out,
        stderr: err,
        stop_killer: None,
        killer: None,
        scratch,
        reaped: false,
    }
}

/// Starts `smtpbox APPLET ARGS` at once (see [`prepare`]).
fn spawn(applet: &str, args: &[&str], stdout: Output, cache_home: Option<&Path>) -> Running {
    let argv: Vec<&str> = std::iter::once(applet)
        .chain(args.iter().copied())
        .collect();
    let mut running = prepare(&smtpbox_bin(), &argv, stdout, Output::Piped, cache_home);
    running.open();
    running
}

impl Running {
    /// Opens the gate: the program starts now, and is killed after
    /// [`KILL_AFTER`] unless it has exited.
    fn open(&mut self) {
        self.start = Instant::now();
        drop(self.gate.take());
        let (pid, start) = (self.pid, self.start);
        let (tx, rx) = mpsc::channel::<()>();
        let killer = thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let left = KILL_AFTER.saturating_sub(start.elapsed());
                match rx.recv_timeout(left) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        // SAFETY: `pid` is our unreaped child: it is reaped
                        // only after this thread has been joined.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                        true
                    }
                    _ => false,
                }
            })
            .expect("spawn killer thread");
        self.stop_killer = Some(tx);
        self.killer = Some(killer);
    }

    /// Sends `signal` to the applet (still ours: not reaped yet).
    fn signal(&self, signal: libc::c_int) {
        assert!(!self.reaped);
        // SAFETY: the pid is our unreaped child.
        let rc = unsafe { libc::kill(self.pid, signal) };
        assert_eq!(rc, 0, "kill: {}", io::Error::last_os_error());
    }

    /// Whether the applet has exited (without reaping it).
    fn exited(&self) -> bool {
        // SAFETY: an all-zero siginfo_t is a valid value to be filled in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer; WNOWAIT leaves the child unreaped.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                self.pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        assert_eq!(rc, 0, "waitid: {}", io::Error::last_os_error());
        // SAFETY: waitid filled `info` (si_pid stays 0 if nothing exited).
        unsafe { info.si_pid() != 0 }
    }

    /// Waits for the exit, stops the timeout thread, reaps with `wait4`.
    fn finish(mut self) -> Measured {
        assert!(self.gate.is_none(), "finish before open");
        loop {
            // SAFETY: as in `exited`.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: valid pointer; WNOWAIT leaves the child unreaped.
            let rc = unsafe {
                libc::waitid(
                    libc::P_PID,
                    self.pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if rc == 0 {
                break;
            }
            let err = io::Error::last_os_error();
            assert_eq!(err.kind(), ErrorKind::Interrupted, "waitid: {err}");
        }
        let ended = Instant::now();
        drop(self.stop_killer.take());
        let killed = self
            .killer
            .take()
            .is_some_and(|k| k.join().expect("killer thread"));
        let mut status: libc::c_int = 0;
        // SAFETY: an all-zero rusage is valid.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers; the pid is our exited, unreaped child.
        let rc = unsafe { libc::wait4(self.pid, &mut status, 0, &mut usage) };
        assert_eq!(rc, self.pid, "wait4: {}", io::Error::last_os_error());
        self.reaped = true;
        let (code, signal) = if libc::WIFEXITED(status) {
            (Some(libc::WEXITSTATUS(status)), None)
        } else if libc::WIFSIGNALED(status) {
            (None, Some(libc::WTERMSIG(status)))
        } else {
            (None, None)
        };
        let stdout = self.stdout.take().map(Drain::finish).unwrap_or_default();
        let stderr = self.stderr.take().map(Drain::finish).unwrap_or_default();
        Measured {
            code,
            signal,
            stdout,
            stderr,
            wall: ended - self.start,
            ended,
            maxrss_kib: usage.ru_maxrss,
            killed,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.reaped {
            drop(self.gate.take());
            drop(self.stop_killer.take());
            if let Some(k) = self.killer.take() {
                let _ = k.join();
            }
            let mut status = 0;
            // SAFETY: the pid is our unreaped child (the killer is joined).
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, &mut status, 0);
            }
        }
        let _ = fs::remove_dir_all(&self.scratch);
    }
}

/// Spawns and waits: `smtpbox APPLET ARGS` with a piped stdout.
fn measure(applet: &str, args: &[&str]) -> Measured {
    spawn(applet, args, Output::Piped, None).finish()
}

/// The runner reports the child's OWN peak RSS: `/bin/true` started while
/// this process holds 64 MiB reads as a few hundred KiB (the naive
/// `posix_spawn` + `wait4` would report >= 64 MiB), and a shell that grows a
/// 32 MiB string reads as more than 32 MiB.
#[test]
fn runner_measures_the_childs_own_peak_rss() {
    let _guard = light();
    let ballast = vec![1u8; 64 << 20];
    let mut small = prepare(
        Path::new("/bin/true"),
        &[],
        Output::Piped,
        Output::Piped,
        None,
    );
    small.open();
    let small = small.finish();
    let script = r#"x=$(head -c 33554432 /dev/zero | tr '\0' a); echo ${#x}"#;
    let mut big = prepare(
        Path::new("/bin/sh"),
        &["-c", script],
        Output::Piped,
        Output::Piped,
        None,
    );
    big.open();
    let big = big.finish();
    std::hint::black_box(&ballast);
    eprintln!(
        "HOSTILE | runner self-test: /bin/true {} KiB, 32 MiB shell {} KiB",
        small.maxrss_kib, big.maxrss_kib
    );
    assert_eq!(small.code, Some(0), "{small:#?}");
    assert!(small.maxrss_kib < 4 * 1024, "{small:#?}");
    assert_eq!(big.code, Some(0), "{big:#?}");
    assert_eq!(big.stdout, "33554432\n", "{big:#?}");
    assert!(big.maxrss_kib > 32 * 1024, "{big:#?}");
}

/// What every run must satisfy: not killed, no panic, peak RSS under the
/// limit, wall time within `bound`.
fn assert_sane(what: &str, m: &Measured, bound: Duration) {
    assert!(!m.killed, "{what}: killed after {KILL_AFTER:?}: {m:#?}");
    assert!(!m.stderr.contains("panicked"), "{what}: panicked: {m:#?}");
    assert!(
        m.maxrss_kib < RSS_LIMIT_KIB,
        "{what}: peak RSS {} KiB >= {RSS_LIMIT_KIB} KiB: {m:#?}",
        m.maxrss_kib
    );
    assert!(
        m.wall <= bound,
        "{what}: took {:?}, bound {bound:?}: {m:#?}",
        m.wall
    );
}

/// One row of the measurements table (shown with `--nocapture`).
fn row(scenario: &str, run: &str, expected: &str, m: &Measured, bound: Duration) {
    eprintln!(
        "HOSTILE | {scenario:<30} | {run:<32} | expect {expected:<4} | got {:<6} | {:>5} ms (bound {:>5} ms) | {:>6} KiB",
        m.code.map_or_else(
            || format!("sig{}", m.signal.unwrap_or(0)),
            |c| c.to_string()
        ),
        m.wall.as_millis(),
        bound.as_millis(),
        m.maxrss_kib
    );
}

// ---------------------------------------------------------------------------
// Servers: what they saw
// ---------------------------------------------------------------------------

/// One client line a server logged (or a `*EVENT` of ours), with its
/// connection number (from 1) and whether it came over TLS.
#[derive(Clone, Debug, PartialEq)]
struct Line {
    conn: usize,
    tls: bool,
    text: String,
}

/// A server of the table, started fresh for each run.
trait Target: Sync {
    fn port(&self) -> u16;
    fn connections(&self) -> usize;
    /// Every logged line, once the connections have ended (bounded wait).
    fn lines(&self) -> Vec<Line>;
    /// Every line logged so far.
    fn lines_now(&self) -> Vec<Line>;
}

impl Target for ScriptedServer {
    fn port(&self) -> u16 {
        ScriptedServer::port(self)
    }

    fn connections(&self) -> usize {
        ScriptedServer::connections(self)
    }

    fn lines(&self) -> Vec<Line> {
        assert!(self.wait_idle(IDLE), "server still busy: {:?}", self.log());
        self.lines_now()
    }

    fn lines_now(&self) -> Vec<Line> {
        self.log()
            .into_iter()
            .map(|entry| {
                let (n, text) = entry.split_once(' ').expect("#N line");
                Line {
                    conn: n[1..].parse().expect("connection number"),
                    tls: false,
                    text: text.to_owned(),
                }
            })
            .collect()
    }
}

/// The texts of connection `conn`.
fn texts_on(lines: &[Line], conn: usize) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.conn == conn)
        .map(|l| l.text.clone())
        .collect()
}

/// The `ETRN` lines, as `(conn, tls, text)`.
fn etrn_lines(lines: &[Line]) -> Vec<Line> {
    lines
        .iter()
        .filter(|l| l.text.to_ascii_uppercase().starts_with("ETRN"))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------
// A STARTTLS-capable server (std threads + rustls), bounded like the
// harness's: 20 s lifetime, 50 ms socket timeouts, stops on drop.
// ---------------------------------------------------------------------------

/// What the server does after `STARTTLS`.
#[derive(Clone)]
enum AfterStartTls {
    /// Answers `220 ready\r\n250 injected\r\n` in ONE write, then only logs.
    Inject,
    /// Answers `220 ready`, waits for the ClientHello, sends non-TLS bytes.
    Garbage,
    /// Answers `220 ready` and does a real TLS handshake with this PKI.
    Handshake(Arc<Pki>),
    /// Never answers STARTTLS (logs whatever else comes).
    Mute,
    /// Answers `220 ready`, then never answers the ClientHello.
    Stall,
}

struct TlsShared {
    stop: AtomicBool,
    deadline: Instant,
    accepted: AtomicUsize,
    active: AtomicUsize,
    log: Mutex<Vec<Line>>,
}

impl TlsShared {
    fn alive(&self) -> bool {
        !self.stop.load(Ordering::SeqCst) && Instant::now() < self.deadline
    }

    fn record(&self, conn: usize, tls: bool, text: &str) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Line {
                conn,
                tls,
                text: text.to_owned(),
            });
    }
}

struct StartTlsServer {
    port: u16,
    shared: Arc<TlsShared>,
    thread: Option<JoinHandle<()>>,
}

impl StartTlsServer {
    fn start(after: AfterStartTls) -> StartTlsServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("local_addr").port();
        let shared = Arc::new(TlsShared {
            stop: AtomicBool::new(false),
            deadline: Instant::now() + SERVER_LIFETIME,
            accepted: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = thread::spawn(move || {
            let mut workers = Vec::new();
            while thread_shared.alive() {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        let n = thread_shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
                        thread_shared.active.fetch_add(1, Ordering::SeqCst);
                        let (after, shared) = (after.clone(), Arc::clone(&thread_shared));
                        workers.push(thread::spawn(move || {
                            tls_connection(tcp, n, &after, &shared);
                            shared.active.fetch_sub(1, Ordering::SeqCst);
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
        });
        StartTlsServer {
            port,
            shared,
            thread: Some(thread),
        }
    }
}

impl Target for StartTlsServer {
    fn port(&self) -> u16 {
        self.port
    }

    fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    fn lines(&self) -> Vec<Line> {
        let end = Instant::now() + IDLE;
        while self.shared.active.load(Ordering::SeqCst) > 0 && Instant::now() < end {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            self.shared.active.load(Ordering::SeqCst),
            0,
            "server still busy"
        );
        self.lines_now()
    }

    fn lines_now(&self) -> Vec<Line> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for StartTlsServer {
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

/// What a read for one line gave.
enum Got {
    Line(String),
    /// EOF, error or server stop; carries the bytes of an unfinished line.
    End(usize),
}

fn read_line<S: Read>(s: &mut S, buf: &mut Vec<u8>, shared: &TlsShared) -> Got {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = buf.drain(..=pos).collect();
            let raw = raw.strip_suffix(b"\n").unwrap_or(&raw);
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            return Got::Line(String::from_utf8_lossy(raw).into_owned());
        }
        if !shared.alive() || buf.len() > MAX_LINE {
            return Got::End(buf.len());
        }
        match s.read(&mut chunk) {
            Ok(0) => return Got::End(buf.len()),
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e) if is_retry(&e) => {}
            Err(_) => return Got::End(buf.len()),
        }
    }
}

fn put<S: Write>(s: &mut S, mut bytes: &[u8], shared: &TlsShared) -> bool {
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

/// Logs every further line, and the size of an unfinished one, until EOF.
fn log_rest<S: Read>(s: &mut S, buf: &mut Vec<u8>, conn: usize, tls: bool, shared: &TlsShared) {
    loop {
        match read_line(s, buf, shared) {
            Got::Line(l) => shared.record(conn, tls, &l),
            Got::End(0) => return,
            Got::End(n) => {
                shared.record(conn, tls, &format!("*PARTIAL {n} bytes"));
                return;
            }
        }
    }
}

/// Answers EHLO/HELO/ETRN/QUIT; returns true at `STARTTLS` (when offered).
fn smtp_until_starttls<S: Read + Write>(
    s: &mut S,
    buf: &mut Vec<u8>,
    conn: usize,
    tls: bool,
    shared: &TlsShared,
) -> bool {
    let ehlo: &[u8] = if tls {
        b"250-tls.test\r\n250 ETRN\r\n"
    } else {
        b"250-tls.test\r\n250-STARTTLS\r\n250 ETRN\r\n"
    };
    loop {
        let l = match read_line(s, buf, shared) {
            Got::Line(l) => l,
            Got::End(0) => return false,
            Got::End(n) => {
                shared.record(conn, tls, &format!("*PARTIAL {n} bytes"));
                return false;
            }
        };
        shared.record(conn, tls, &l);
        let upper = l.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") {
            ehlo
        } else if upper.starts_with("HELO") {
            b"250 tls.test\r\n"
        } else if upper.starts_with("STARTTLS") && !tls {
            return true;
        } else if upper.starts_with("ETRN") {
            b"250 Queuing started\r\n"
        } else if upper.starts_with("QUIT") {
            put(s, b"221 bye\r\n", shared);
            return false;
        } else {
            b"500 unrecognized\r\n"
        };
        if !put(s, answer, shared) {
            return false;
        }
    }
}

fn tls_connection(mut tcp: TcpStream, conn: usize, after: &AfterStartTls, shared: &TlsShared) {
    if tcp.set_nonblocking(false).is_err()
        || tcp.set_read_timeout(Some(POLL)).is_err()
        || tcp.set_write_timeout(Some(POLL)).is_err()
        || tcp.set_nodelay(true).is_err()
    {
        return;
    }
    if !put(&mut tcp, b"220 tls.test ESMTP\r\n", shared) {
        return;
    }
    let mut buf = Vec::new();
    if !smtp_until_starttls(&mut tcp, &mut buf, conn, false, shared) {
        return;
    }
    match after {
        AfterStartTls::Mute => log_rest(&mut tcp, &mut buf, conn, false, shared),
        AfterStartTls::Stall => {
            if !put(&mut tcp, b"220 ready\r\n", shared) {
                return;
            }
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
        AfterStartTls::Inject => {
            if put(&mut tcp, b"220 ready\r\n250 injected\r\n", shared) {
                log_rest(&mut tcp, &mut buf, conn, false, shared);
            }
        }
        AfterStartTls::Garbage => {
            if !put(&mut tcp, b"220 ready\r\n", shared) {
                return;
            }
            // Wait for the ClientHello (anything), then answer with non-TLS.
            let mut chunk = [0u8; 4096];
            let end = Instant::now() + Duration::from_secs(5);
            loop {
                if !shared.alive() || Instant::now() > end {
                    return;
                }
                match tcp.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(_) => break,
                    Err(e) if is_retry(&e) => {}
                    Err(_) => return,
                }
            }
            shared.record(conn, false, "*CLIENTHELLO");
            let garbage = b"HTTP/1.1 400 Bad Request\r\n\r\nthis is not TLS at all\r\n";
            if put(&mut tcp, garbage, shared) {
                shared.record(conn, false, "*GARBAGE-SENT");
            }
            // Discard until the client gives up.
            while shared.alive() {
                match tcp.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if is_retry(&e) => {}
                    Err(_) => return,
                }
            }
        }
        AfterStartTls::Handshake(pki) => {
            if !put(&mut tcp, b"220 ready\r\n", shared) {
                return;
            }
            let mut tls = match handshake(&pki.config, tcp, || shared.alive()) {
                Ok(tls) => tls,
                Err(Some(why)) => {
                    shared.record(conn, false, &format!("*{why}"));
                    return;
                }
                Err(None) => return,
            };
            shared.record(conn, true, "*TLS-OK");
            let mut tls_buf = Vec::new();
            smtp_until_starttls(&mut tls, &mut tls_buf, conn, true, shared);
        }
    }
}

// ---------------------------------------------------------------------------
// The scenario table
// ---------------------------------------------------------------------------

/// How to build a scenario's server (a fresh one for each run).
#[derive(Clone)]
enum Spec {
    Script(Vec<Step>),
    StartTls(AfterStartTls),
}

impl Spec {
    fn start(&self) -> Box<dyn Target> {
        match self {
            Spec::Script(steps) => Box::new(ScriptedServer::start("127.0.0.1:0", steps.clone())),
            Spec::StartTls(after) => Box::new(StartTlsServer::start(after.clone())),
        }
    }

    fn pki(&self) -> Option<&Pki> {
        match self {
            Spec::StartTls(AfterStartTls::Handshake(pki)) => Some(pki),
            _ => None,
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
}

/// What a check of a run gets to look at.
struct Seen<'a> {
    lines: Vec<Line>,
    connections: usize,
    run: &'a Measured,
    /// When the server logged the first ETRN (polled every 5 ms).
    etrn_sent: Option<Instant>,
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

fn etrn_case(mode: Mode, status: i32, waits: u32, check: fn(&Seen)) -> EtrnCase {
    EtrnCase {
        mode,
        status,
        waits,
        check,
    }
}

struct Scenario {
    server: Spec,
    /// smtpdcheck's answer: up (exit 1, "127.0.0.1\n") or down (exit 0, "").
    up: bool,
    etrn: Vec<EtrnCase>,
}

fn run_scenario(name: &str, scenario: Scenario) {
    let _guard = light();
    // smtpdcheck: one overall limit T, so always within T + SLACK.
    {
        let server = scenario.server.start();
        let port = server.port().to_string();
        let args = [
            "--no-cache",
            "--port",
            &port,
            "--timeout",
            T_ARG,
            "127.0.0.1",
        ];
        let m = measure("smtpdcheck", &args);
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
    for case in &scenario.etrn {
        let server = scenario.server.start();
        let port = server.port().to_string();
        let scratch = temp_dir("hostile-ca");
        let mut args = vec![
            "--port".to_owned(),
            port,
            "--timeout".to_owned(),
            T_ARG.to_owned(),
            "--helo".to_owned(),
            "client.test".to_owned(),
            "--starttls".to_owned(),
        ];
        match case.mode {
            Mode::Off => args.push("off".to_owned()),
            Mode::Opportunistic => args.push("opportunistic".to_owned()),
            Mode::Require => args.push("require".to_owned()),
            Mode::RequireCa => {
                let pki = scenario.server.pki().expect("RequireCa needs a PKI");
                let ca = scratch.join("ca.pem");
                fs::write(&ca, &pki.ca_pem).expect("write CA file");
                args.push("require".to_owned());
                args.push("--ca-file".to_owned());
                args.push(ca.to_str().expect("utf-8 path").to_owned());
            }
        }
        args.push("127.0.0.1".to_owned());
        args.push("a.test".to_owned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let done = AtomicBool::new(false);
        let target: &dyn Target = server.as_ref();
        let (m, etrn_sent) = thread::scope(|s| {
            let watcher = s.spawn(|| {
                while !done.load(Ordering::SeqCst) {
                    if target
                        .lines_now()
                        .iter()
                        .any(|l| l.text.to_ascii_uppercase().starts_with("ETRN"))
                    {
                        return Some(Instant::now());
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                None
            });
            let m = measure("etrn", &args);
            done.store(true, Ordering::SeqCst);
            (m, watcher.join().expect("watcher"))
        });
        let _ = fs::remove_dir_all(&scratch);
        let what = format!("{name}: etrn --starttls {:?}", case.mode);
        let bound = T * case.waits + SLACK;
        row(
            name,
            &format!("etrn {:?}", case.mode),
            &case.status.to_string(),
            &m,
            bound,
        );
        assert_sane(&what, &m, bound);
        assert_eq!(m.code, Some(case.status), "{what}: {m:#?}");
        assert_eq!(m.stdout, "", "{what}: stdout without -v: {m:#?}");
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
}

// --- checks ----------------------------------------------------------------

fn nothing(_: &Seen) {}

/// The server never got an ETRN.
fn no_etrn(seen: &Seen) {
    assert!(etrn_lines(&seen.lines).is_empty(), "{:#?}", seen.lines);
}

/// One plaintext dialogue, done by the book: EHLO, one ETRN, QUIT.
fn plain_dialogue(seen: &Seen) {
    assert_eq!(seen.connections, 1, "{:#?}", seen.lines);
    assert_eq!(
        texts_on(&seen.lines, 1),
        ["EHLO client.test", "ETRN a.test", "QUIT"],
        "{:#?}",
        seen.lines
    );
    assert!(seen.lines.iter().all(|l| !l.tls));
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
    assert_eq!(etrn_lines(&seen.lines).len(), 1);
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
    no_etrn(seen);
    assert_eq!(seen.connections, 1, "{:#?}", seen.lines);
    assert_eq!(
        texts_on(&seen.lines, 1),
        ["EHLO client.test", "STARTTLS"],
        "{:#?}",
        seen.lines
    );
}

/// Opportunistic after a failed STARTTLS: the first connection ended at
/// STARTTLS, a fresh plaintext session did the work, stderr says so once.
fn opportunistic_falls_back(seen: &Seen) {
    assert_eq!(seen.connections, 2, "{:#?}", seen.lines);
    let first = texts_on(&seen.lines, 1);
    assert_eq!(first[..2], ["EHLO client.test", "STARTTLS"], "{first:#?}");
    assert!(
        first[2..].iter().all(|l| l.starts_with('*')),
        "no command after STARTTLS on the first connection: {first:#?}"
    );
    assert_eq!(
        texts_on(&seen.lines, 2),
        ["EHLO client.test", "ETRN a.test", "QUIT"],
        "{:#?}",
        seen.lines
    );
    assert!(seen.lines.iter().all(|l| !l.tls));
    assert_eq!(seen.run.stderr_lines(), 1, "{:#?}", seen.run);
    assert!(
        seen.run.stderr.contains("without TLS"),
        "the fallback is reported: {:#?}",
        seen.run
    );
}

/// Required TLS with a server that answers the ClientHello with garbage.
fn require_stops_at_garbage(seen: &Seen) {
    no_etrn(seen);
    assert_eq!(seen.connections, 1, "{:#?}", seen.lines);
    assert_eq!(
        texts_on(&seen.lines, 1),
        [
            "EHLO client.test",
            "STARTTLS",
            "*CLIENTHELLO",
            "*GARBAGE-SENT"
        ],
        "{:#?}",
        seen.lines
    );
}

/// Required TLS with a certificate for another name: the handshake was
/// refused by the client, no ETRN.
fn require_refuses_certificate(seen: &Seen) {
    no_etrn(seen);
    assert_eq!(seen.connections, 1, "{:#?}", seen.lines);
    let first = texts_on(&seen.lines, 1);
    assert_eq!(first[..2], ["EHLO client.test", "STARTTLS"], "{first:#?}");
    assert!(
        first.iter().any(|l| l.starts_with("*TLS-FAILED")),
        "{first:#?}"
    );
    assert!(!first.iter().any(|l| l == "*TLS-OK"), "{first:#?}");
}

/// Opportunistic TLS does not verify: the dialogue went on over TLS.
fn etrn_over_tls(seen: &Seen) {
    assert_eq!(seen.connections, 1, "{:#?}", seen.lines);
    let etrn = etrn_lines(&seen.lines);
    assert_eq!(etrn.len(), 1, "{:#?}", seen.lines);
    assert!(etrn[0].tls, "ETRN over TLS: {:#?}", seen.lines);
}

// --- payloads --------------------------------------------------------------

/// Deterministic pseudo-random bytes (xorshift64).
fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
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

// --- the table ---------------------------------------------------------------

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
// output) and `etrn --port P --timeout 1 --helo client.test --starttls MODE
// 127.0.0.1 a.test` per listed MODE (bound waits × T + 0.5 s; stdout empty;
// exit 3 = exactly one stderr line; exit 0 = silent stderr except the
// opportunistic fallback note). Every run: peak RSS < 16 MiB, no panic.
scenarios! {
    /// Accepts and never says anything. smtpdcheck: down (0) at T.
    /// etrn off: 3 after the greeting phase times out (waits 1).
    no_greeting_ever => Scenario {
        server: Spec::Script(vec![]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 1, nothing)],
    };

    /// `220 ok\r\n` dripped one byte every 0.5 s (3.5 s in all, > T): not a
    /// complete greeting within T. smtpdcheck: 0 at T. etrn off: 3 (waits 1).
    greeting_dripped_beyond_the_timeout => Scenario {
        server: Spec::Script(vec![Step::Drip {
            bytes: b"220 ok\r\n".to_vec(),
            every: Duration::from_millis(500),
        }]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 1, nothing)],
    };

    /// ~2 MB of `220-xxxxxxxx` continuation lines sent at once, never a
    /// last line: refused at the 4 KiB reply limit, at once.
    /// smtpdcheck: 0. etrn off: 3 (waits 0).
    endless_220_continuation_lines => Scenario {
        server: Spec::Script(vec![Step::Send(continuation_flood("220"))]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 0, nothing)],
    };

    /// One 10 MB line without CRLF: "reply too long" at once.
    /// smtpdcheck: 0. etrn off: 3 (waits 0).
    ten_megabyte_line_without_crlf => Scenario {
        server: Spec::Script(vec![Step::Send(vec![b'x'; 10 << 20])]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 0, nothing)],
    };

    /// 1 MB of seeded random binary instead of a greeting: malformed at
    /// once. smtpdcheck: 0. etrn off: 3 (waits 0).
    random_binary_greeting => Scenario {
        server: Spec::Script(vec![Step::Send(random_binary())]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 0, nothing)],
    };

    /// `220` with invalid UTF-8 in its text: a complete 220 greeting.
    /// smtpdcheck: up (1). etrn off: proceeds, ETRN accepted, 0 (waits 0).
    invalid_utf8_in_220_line => Scenario {
        server: Spec::Script(vec![
            Step::Send(b"220 \xff\xfe mail\xc3\x28 ready \x80\r\n".to_vec()),
            etrn_service(),
        ]),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 0, 0, plain_dialogue)],
    };

    /// `22 ok`: a two-digit code is not a reply. smtpdcheck: 0. etrn off: 3
    /// at once (waits 0).
    two_digit_reply_code => Scenario {
        server: Spec::Script(vec![line("22 ok")]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 0, nothing)],
    };

    /// `2200 ok`: a four-digit code is not a reply. smtpdcheck: 0. etrn off:
    /// 3 at once (waits 0).
    four_digit_reply_code => Scenario {
        server: Spec::Script(vec![line("2200 ok")]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 0, nothing)],
    };

    /// `220` alone (no text) is a complete greeting. smtpdcheck: up (1).
    /// etrn off: 0 (waits 0).
    bare_220_greeting => Scenario {
        server: Spec::Script(vec![line("220"), etrn_service()]),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 0, 0, plain_dialogue)],
    };

    /// Every server line ends in a bare LF (greeting, EHLO, ETRN, QUIT
    /// replies). smtpdcheck: up (1). etrn off: 0 (waits 0).
    lf_only_line_endings => Scenario {
        server: Spec::Script(vec![
            send("220 lf.test ESMTP\n"),
            expect("EHLO"),
            send("250-lf.test\n250 ETRN\n"),
            expect("ETRN"),
            send("250 Queuing started\n"),
            expect("QUIT"),
            send("221 bye\n"),
            Step::Close,
        ]),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 0, 0, plain_dialogue)],
    };

    /// FIN right after accept. smtpdcheck: 0 at once. etrn off: 3 (waits 0).
    close_right_after_accept => Scenario {
        server: Spec::Script(vec![Step::Close]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 0, nothing)],
    };

    /// RST right after accept. smtpdcheck: 0 at once. etrn off: 3 (waits 0).
    reset_on_accept => Scenario {
        server: Spec::Script(vec![Step::Reset]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 0, nothing)],
    };

    /// `220-first` then FIN: closed in the middle of the greeting.
    /// smtpdcheck: 0 at once. etrn off: 3 (waits 0).
    close_in_the_middle_of_a_reply => Scenario {
        server: Spec::Script(vec![send("220-first\r\n"), Step::Close]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 0, nothing)],
    };

    /// Good greeting, EHLO answered with ~2 MB of `250-` continuation
    /// lines. smtpdcheck: up (1), the greeting was fine. etrn off: 3 at the
    /// reply limit, never an ETRN (waits 0).
    ehlo_answered_with_endless_continuation => Scenario {
        server: Spec::Script(vec![
            line("220 flood.test ESMTP"),
            expect("EHLO"),
            Step::Send(continuation_flood("250")),
        ]),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 3, 0, no_etrn)],
    };

    /// The ETRN reply dripped one byte every 30 ms (0.6 s < T): complete in
    /// time. smtpdcheck: 1. etrn off: 0 (waits 1).
    etrn_reply_dripped_within_the_timeout => Scenario {
        server: Spec::Script(dripped_etrn_reply(Duration::from_millis(30))),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 0, 1, plain_dialogue)],
    };

    /// The ETRN reply dripped one byte every 150 ms (3 s > T): the ETRN
    /// phase times out. smtpdcheck: 1. etrn off: 3, exit within T + 0.5 s
    /// of the ETRN and not before T (waits 1).
    etrn_reply_dripped_beyond_the_timeout => Scenario {
        server: Spec::Script(dripped_etrn_reply(Duration::from_millis(150))),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 3, 1, etrn_timed_out)],
    };

    /// ETRN never answered. smtpdcheck: 1. etrn off: 3 within T + 0.5 s
    /// after the ETRN is sent (waits 1).
    etrn_never_answered => Scenario {
        server: Spec::Script(vec![
            line("220 mute.test ESMTP"),
            reply("EHLO", "250-mute.test\n250 ETRN"),
            expect("ETRN"),
        ]),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 3, 1, etrn_timed_out)],
    };

    /// `220 ok` ended by a bare CR, then silence: never a complete line.
    /// smtpdcheck: 0 at T. etrn off: 3 (waits 1).
    greeting_ended_by_cr_only => Scenario {
        server: Spec::Script(vec![send("220 ok\r")]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 1, nothing)],
    };

    /// `220-a` then `554 b`: a multi-line reply mixing codes is malformed.
    /// smtpdcheck: 0 at once. etrn off: 3 (waits 0).
    greeting_mixing_codes => Scenario {
        server: Spec::Script(vec![send("220-a\r\n554 b\r\n")]),
        up: false,
        etrn: vec![etrn_case(Mode::Off, 3, 0, nothing)],
    };

    /// NUL, ESC and invalid UTF-8 in the greeting, EHLO and ETRN reply
    /// texts: still well-formed replies. smtpdcheck: 1. etrn off: 0 (waits 0).
    control_bytes_and_invalid_utf8_in_every_reply => Scenario {
        server: Spec::Script(vec![
            Step::Send(b"220 a\0b\x1b[31m \xff\r\n".to_vec()),
            expect("EHLO"),
            Step::Send(b"250-\xff\xfe host\0\r\n250 ETRN\r\n".to_vec()),
            expect("ETRN"),
            Step::Send(b"250 \xc3\x28 queued\x1b\r\n".to_vec()),
            serve(&[]),
        ]),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 0, 0, plain_dialogue)],
    };

    /// Each of greeting, EHLO reply and ETRN reply comes after 0.7 s (< T
    /// each, 2.1 s > T in all): etrn's limit is per phase. smtpdcheck: 1 at
    /// 0.7 s. etrn off: 0 (waits 3).
    every_phase_slow_but_within_its_limit => Scenario {
        server: Spec::Script(vec![
            Step::Sleep(Duration::from_millis(700)),
            line("220 slow.test ESMTP"),
            expect("EHLO"),
            Step::Sleep(Duration::from_millis(700)),
            line("250-slow.test\n250 ETRN"),
            expect("ETRN"),
            Step::Sleep(Duration::from_millis(700)),
            line("250 Queuing started"),
            serve(&[]),
        ]),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 0, 3, plain_dialogue)],
    };

    /// EHLO never answered. smtpdcheck: 1. etrn off: 3 at T, no ETRN
    /// (waits 1).
    ehlo_never_answered => Scenario {
        server: Spec::Script(vec![line("220 mute.test ESMTP"), expect("EHLO")]),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 3, 1, no_etrn)],
    };

    /// EHLO answered with mixed codes (`250-x`, `550 ETRN`): malformed.
    /// smtpdcheck: 1. etrn off: 3 at once, no ETRN (waits 0).
    ehlo_reply_mixing_codes => Scenario {
        server: Spec::Script(vec![
            line("220 mixed.test ESMTP"),
            reply("EHLO", "250-mixed.test\n550 ETRN"),
        ]),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 3, 0, no_etrn)],
    };

    /// ETRN answered with ~2 MB of `250-` continuation lines: "reply too
    /// long". smtpdcheck: 1. etrn off: 3 at once (waits 0).
    etrn_reply_endless_continuation => Scenario {
        server: Spec::Script(vec![
            line("220 flood.test ESMTP"),
            reply("EHLO", "250-flood.test\n250 ETRN"),
            expect("ETRN"),
            Step::Send(continuation_flood("250")),
        ]),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 3, 0, nothing)],
    };

    /// ETRN accepted, QUIT never answered: the answer is already known.
    /// smtpdcheck: 1. etrn off: 0 after the QUIT phase's T (waits 1).
    quit_never_answered => Scenario {
        server: Spec::Script(vec![
            line("220 mute.test ESMTP"),
            reply("EHLO", "250-mute.test\n250 ETRN"),
            reply("ETRN", "250 Queuing started"),
            expect("QUIT"),
        ]),
        up: true,
        etrn: vec![etrn_case(Mode::Off, 0, 1, plain_dialogue)],
    };

    /// STARTTLS offered but never answered. smtpdcheck: 1. etrn off: 0.
    /// require: 3 at T, no ETRN. opportunistic: gives up on TLS at T, fresh
    /// plaintext session, 0 (waits 1, off 0).
    starttls_never_answered => Scenario {
        server: Spec::StartTls(AfterStartTls::Mute),
        up: true,
        etrn: vec![
            etrn_case(Mode::Off, 0, 0, off_ignores_starttls),
            etrn_case(Mode::Require, 3, 1, require_stops_after_starttls),
            etrn_case(Mode::Opportunistic, 0, 1, opportunistic_falls_back),
        ],
    };

    /// STARTTLS answered `220`, then the ClientHello is never answered.
    /// smtpdcheck: 1. etrn off: 0. require: 3 at T (handshake phase), no
    /// ETRN. opportunistic: plaintext retry after T, 0 (waits 1, off 0).
    starttls_handshake_stalled => Scenario {
        server: Spec::StartTls(AfterStartTls::Stall),
        up: true,
        etrn: vec![
            etrn_case(Mode::Off, 0, 0, off_ignores_starttls),
            etrn_case(Mode::Require, 3, 1, require_stops_after_starttls),
            etrn_case(Mode::Opportunistic, 0, 1, opportunistic_falls_back),
        ],
    };

    /// STARTTLS answered `220 ready\r\n250 injected\r\n` in one write.
    /// smtpdcheck: 1. etrn off: STARTTLS never sent, 0. etrn require: 3,
    /// nothing sent after STARTTLS, no ETRN. etrn opportunistic: the
    /// injected line is not acted on; a fresh plaintext session, 0 (all
    /// waits 0).
    starttls_response_injection => Scenario {
        server: Spec::StartTls(AfterStartTls::Inject),
        up: true,
        etrn: vec![
            etrn_case(Mode::Off, 0, 0, off_ignores_starttls),
            etrn_case(Mode::Require, 3, 0, require_stops_after_starttls),
            etrn_case(Mode::Opportunistic, 0, 0, opportunistic_falls_back),
        ],
    };

    /// STARTTLS answered `220`, then non-TLS bytes instead of a handshake.
    /// smtpdcheck: 1. etrn off: 0. require: 3, no ETRN. opportunistic:
    /// plaintext retry, 0 (all waits 0).
    starttls_then_garbage_instead_of_tls => Scenario {
        server: Spec::StartTls(AfterStartTls::Garbage),
        up: true,
        etrn: vec![
            etrn_case(Mode::Off, 0, 0, off_ignores_starttls),
            etrn_case(Mode::Require, 3, 0, require_stops_at_garbage),
            etrn_case(Mode::Opportunistic, 0, 0, opportunistic_falls_back),
        ],
    };

    /// A real TLS server whose certificate (signed by the given CA) is for
    /// 127.0.0.9, not 127.0.0.1. smtpdcheck: 1. etrn off: 0. require
    /// --ca-file: 3, the handshake is refused, no ETRN. opportunistic (no
    /// verification, RFC 7435): ETRN over TLS, 0 (all waits 0).
    starttls_certificate_for_the_wrong_name => Scenario {
        server: Spec::StartTls(AfterStartTls::Handshake(Arc::new(Pki::new("127.0.0.9")))),
        up: true,
        etrn: vec![
            etrn_case(Mode::Off, 0, 0, off_ignores_starttls),
            etrn_case(Mode::RequireCa, 3, 0, require_refuses_certificate),
            etrn_case(Mode::Opportunistic, 0, 0, etrn_over_tls),
        ],
    };
}

// ---------------------------------------------------------------------------
// Process-level faults
// ---------------------------------------------------------------------------

fn up_server() -> ScriptedServer {
    ScriptedServer::start("127.0.0.1:0", vec![line("220 up.test ESMTP")])
}

fn accepting_server() -> ScriptedServer {
    ScriptedServer::start(
        "127.0.0.1:0",
        vec![line("220 mx.test ESMTP"), etrn_service()],
    )
}

/// A pipe whose read end is already closed: its write end.
fn broken_pipe() -> OwnedFd {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned only here.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    write
}

fn smtpdcheck_up_with_stdout(what: &str, stdout: Output) {
    let _guard = light();
    let server = up_server();
    let port = server.port().to_string();
    let args = [
        "--no-cache",
        "--port",
        &port,
        "--timeout",
        T_ARG,
        "127.0.0.1",
    ];
    let m = spawn("smtpdcheck", &args, stdout, None).finish();
    row(what, "smtpdcheck", "1", &m, T + SLACK);
    assert_sane(what, &m, T + SLACK);
    assert_eq!(
        m.code,
        Some(1),
        "{what}: the answer is the exit status: {m:#?}"
    );
}

fn etrn_verbose_with_stdout(what: &str, stdout: Output) {
    let _guard = light();
    let server = accepting_server();
    let port = server.port().to_string();
    let args = [
        "-v",
        "--port",
        &port,
        "--timeout",
        T_ARG,
        "--helo",
        "client.test",
        "--starttls",
        "off",
        "127.0.0.1",
        "a.test",
    ];
    let m = spawn("etrn", &args, stdout, None).finish();
    row(what, "etrn -v", "0", &m, SLACK);
    assert_sane(what, &m, SLACK);
    assert_eq!(m.code, Some(0), "{what}: {m:#?}");
    // The dialogue went on to the end although nothing could be shown.
    assert!(server.wait_idle(IDLE));
    assert_eq!(
        server.received(),
        ["EHLO client.test", "ETRN a.test", "QUIT"],
        "{what}"
    );
}

/// stdout is /dev/null: smtpdcheck against an up server still exits 1.
#[test]
fn stdout_null_smtpdcheck_exits_1() {
    smtpdcheck_up_with_stdout("stdout_null", Output::Null);
}

/// stdout is a pipe whose read end is closed (EPIPE on the answer):
/// smtpdcheck still exits 1, no panic.
#[test]
fn stdout_broken_pipe_smtpdcheck_exits_1() {
    smtpdcheck_up_with_stdout("stdout_broken_pipe", Output::Fd(broken_pipe()));
}

/// fd 1 is closed: smtpdcheck still answers with its exit status.
#[test]
fn stdout_closed_smtpdcheck_exits_1() {
    smtpdcheck_up_with_stdout("stdout_closed", Output::Closed);
}

/// fd 1 is closed: `etrn -v` exits 0 and the server sees exactly the
/// dialogue.
#[test]
fn stdout_closed_etrn_verbose_exits_0() {
    etrn_verbose_with_stdout("stdout_closed", Output::Closed);
}

/// Starts `APPLET --port P --timeout 10 EXTRA...` against a server that
/// accepts and never speaks, so the applet is still running when looked at.
fn spawn_against_silent_server(
    applet: &str,
    extra: &[&str],
    stdout: Output,
) -> (ScriptedServer, Running) {
    let server = ScriptedServer::start("127.0.0.1:0", vec![]);
    let port = server.port().to_string();
    let mut args = vec!["--port", &port, "--timeout", "10"];
    args.extend_from_slice(extra);
    let running = spawn(applet, &args, stdout, None);
    (server, running)
}

/// fd 1 is closed at exec: the applet must put /dev/null there before it
/// opens anything, or its runtime, a socket or the cache file would become
/// "stdout" (src/main.rs). Checked in /proc while it waits on a silent
/// server.
fn stdout_closed_becomes_dev_null(applet: &str, extra: &[&str]) {
    let _guard = light();
    let (server, running) = spawn_against_silent_server(applet, extra, Output::Closed);
    let connected = server.wait_connections(1, Duration::from_secs(5));
    let fd1 = fs::read_link(format!("/proc/{}/fd/1", running.pid));
    running.signal(libc::SIGTERM);
    let m = running.finish();
    assert!(connected, "{applet} connected: {m:#?}");
    assert_eq!(
        fd1.ok(),
        Some(PathBuf::from("/dev/null")),
        "{applet}'s fd 1: {m:#?}"
    );
}

#[test]
fn stdout_closed_becomes_dev_null_smtpdcheck() {
    stdout_closed_becomes_dev_null("smtpdcheck", &["--no-cache", "127.0.0.1"]);
}

#[test]
fn stdout_closed_becomes_dev_null_etrn() {
    let args = [
        "--helo",
        "client.test",
        "--starttls",
        "off",
        "127.0.0.1",
        "a.test",
    ];
    stdout_closed_becomes_dev_null("etrn", &args);
}

/// stdout is /dev/null: `etrn -v` (transcript and result lines on stdout)
/// against an accepting server exits 0 and finishes the dialogue.
#[test]
fn stdout_null_etrn_verbose_exits_0() {
    etrn_verbose_with_stdout("stdout_null", Output::Null);
}

/// stdout is a broken pipe: `etrn -v` exits 0, no panic, whole dialogue.
#[test]
fn stdout_broken_pipe_etrn_verbose_exits_0() {
    etrn_verbose_with_stdout("stdout_broken_pipe", Output::Fd(broken_pipe()));
}

/// Runs `smtpbox APPLET ARGS` with stderr as given (stdout captured).
fn with_stderr(applet: &str, args: &[&str], stderr: Output) -> Measured {
    let argv: Vec<&str> = std::iter::once(applet)
        .chain(args.iter().copied())
        .collect();
    let mut running = prepare(&smtpbox_bin(), &argv, Output::Piped, stderr, None);
    running.open();
    running.finish()
}

/// etrn against a refused port: the failure line goes to stderr; its exit
/// status must stay 3 whatever stderr is.
fn etrn_unreachable_with_stderr(what: &str, stderr: Output) {
    let _guard = light();
    let port = refused_addr().port().to_string();
    let args = [
        "--port",
        &port,
        "--timeout",
        T_ARG,
        "--helo",
        "client.test",
        "--starttls",
        "off",
        "127.0.0.1",
        "a.test",
    ];
    let m = with_stderr("etrn", &args, stderr);
    row(what, "etrn (refused port)", "3", &m, SLACK);
    assert!(!m.killed, "{m:#?}");
    assert!(m.maxrss_kib < RSS_LIMIT_KIB, "{m:#?}");
    assert_eq!(m.code, Some(3), "{what}: documented status 3: {m:#?}");
    assert_eq!(m.stdout, "", "{what}");
}

/// `smtpdcheck -v` (one line per server on stderr) against an up server:
/// the answer (exit 1, name on stdout) must not depend on stderr.
fn smtpdcheck_verbose_with_stderr(what: &str, stderr: Output) {
    let _guard = light();
    let server = up_server();
    let port = server.port().to_string();
    let args = [
        "-v",
        "--no-cache",
        "--port",
        &port,
        "--timeout",
        T_ARG,
        "127.0.0.1",
    ];
    let m = with_stderr("smtpdcheck", &args, stderr);
    row(what, "smtpdcheck -v (up)", "1", &m, T + SLACK);
    assert!(!m.killed, "{m:#?}");
    assert!(m.maxrss_kib < RSS_LIMIT_KIB, "{m:#?}");
    assert_eq!(m.stdout, "127.0.0.1\n", "{what}: {m:#?}");
    assert_eq!(m.code, Some(1), "{what}: documented status 1: {m:#?}");
}

/// stderr is /dev/null: etrn's failure still exits 3.
#[test]
fn stderr_null_etrn_failure_exits_3() {
    etrn_unreachable_with_stderr("stderr_null", Output::Null);
}

/// stderr is /dev/null: `smtpdcheck -v` still exits 1.
#[test]
fn stderr_null_smtpdcheck_verbose_exits_1() {
    smtpdcheck_verbose_with_stderr("stderr_null", Output::Null);
}

/// stderr is a pipe whose read end is closed: the failure line gets EPIPE,
/// and the exit status must still be 3. Actual: `eprintln!` panics on the
/// write error ("failed printing to stderr"), exit 101 (a debug build;
/// `panic = "abort"` in release makes it SIGABRT).
#[test]
fn stderr_broken_pipe_etrn_failure_exits_3() {
    etrn_unreachable_with_stderr("stderr_broken_pipe", Output::Fd(broken_pipe()));
}

/// stderr is a broken pipe: `smtpdcheck -v` must still answer with exit 1.
/// Actual: the answer is printed, then `explain`'s `eprintln!` panics,
/// exit 101.
#[test]
fn stderr_broken_pipe_smtpdcheck_verbose_exits_1() {
    smtpdcheck_verbose_with_stderr("stderr_broken_pipe", Output::Fd(broken_pipe()));
}

/// SIGTERM 300 ms into a run waiting on a silent server (--timeout 10):
/// the process is gone within 1 s of the signal (any status, or killed by
/// the signal).
fn sigterm_ends_promptly(applet: &str, extra: &[&str]) {
    let _guard = light();
    let (server, running) = spawn_against_silent_server(applet, extra, Output::Piped);
    thread::sleep(Duration::from_millis(300));
    assert!(
        !running.exited(),
        "{applet} must still be waiting when signalled"
    );
    assert!(
        server.wait_connections(1, Duration::from_secs(5)),
        "{applet} connected"
    );
    running.signal(libc::SIGTERM);
    let sent = Instant::now();
    let m = running.finish();
    let after = m.ended.saturating_duration_since(sent);
    row(
        &format!("sigterm_{applet}"),
        "SIGTERM at 300 ms",
        "gone",
        &m,
        Duration::from_millis(1300),
    );
    assert!(!m.killed, "{m:#?}");
    assert!(
        after <= Duration::from_secs(1),
        "gone {after:?} after SIGTERM: {m:#?}"
    );
    assert!(!m.stderr.contains("panicked"), "{m:#?}");
    assert!(m.maxrss_kib < RSS_LIMIT_KIB, "{m:#?}");
    assert!(
        m.code.is_some() || m.signal == Some(libc::SIGTERM),
        "{m:#?}"
    );
}

#[test]
fn sigterm_during_smtpdcheck() {
    sigterm_ends_promptly("smtpdcheck", &["--no-cache", "127.0.0.1"]);
}

#[test]
fn sigterm_during_etrn() {
    sigterm_ends_promptly(
        "etrn",
        &[
            "--helo",
            "client.test",
            "--starttls",
            "off",
            "127.0.0.1",
            "a.test",
        ],
    );
}

/// The cache file's first line.
const CACHE_HEADER: &str = "# smtpbox smtpdcheck cache v1";

/// Checks the cache file's format: the header, then `ADDR up|down MS` lines.
fn assert_cache_format(text: &str) {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(CACHE_HEADER), "header: {text:?}");
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

/// How many processes this machine lets us run at once here (each costs
/// about 4 descriptors in this process and one socket in the server).
fn concurrency(wanted: usize) -> usize {
    // SAFETY: an all-zero rlimit is valid; getrlimit fills it.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    let by_fds = if rc == 0 {
        usize::try_from(limit.rlim_cur.saturating_sub(200) / 6).unwrap_or(wanted)
    } else {
        wanted
    };
    let n = wanted.min(by_fds).max(10);
    if n < wanted {
        eprintln!(
            "concurrency limited to {n} (RLIMIT_NOFILE {})",
            limit.rlim_cur
        );
    }
    n
}

/// 200 smtpdcheck runs at once sharing ONE XDG_CACHE_HOME against one up
/// server: all exit 1 with "127.0.0.1\n"; the cache file then parses and
/// no temporary file is left.
#[test]
fn two_hundred_concurrent_runs_share_one_cache() {
    let _guard = heavy();
    let server = up_server();
    let port = server.port().to_string();
    let home = temp_dir("hostile-shared-cache");
    let n = concurrency(200);
    // --timeout 5: the answer is what is checked here, not the timing.
    let args = ["--port", &port, "--timeout", "5", "127.0.0.1"];
    let argv: Vec<&str> = std::iter::once("smtpdcheck").chain(args).collect();
    let mut running: Vec<Running> = (0..n)
        .map(|_| {
            prepare(
                &smtpbox_bin(),
                &argv,
                Output::Piped,
                Output::Piped,
                Some(&home),
            )
        })
        .collect();
    // All gates open at once: n processes start together.
    let started = Instant::now();
    for r in &mut running {
        r.open();
    }
    let results: Vec<Measured> = running.into_iter().map(Running::finish).collect();
    let total = started.elapsed();
    let worst = results.iter().map(|m| m.wall).max().unwrap_or_default();
    let peak = results
        .iter()
        .map(|m| m.maxrss_kib)
        .max()
        .unwrap_or_default();
    eprintln!(
        "HOSTILE | {n} concurrent smtpdcheck: all reaped after {} ms, slowest {} ms, peak RSS {peak} KiB",
        total.as_millis(),
        worst.as_millis()
    );
    for (i, m) in results.iter().enumerate() {
        assert_sane(&format!("run {i}"), m, Duration::from_millis(5500));
        assert_eq!(m.code, Some(1), "run {i}: {m:#?}");
        assert_eq!(m.stdout, "127.0.0.1\n", "run {i}: {m:#?}");
    }
    let dir = home.join("smtpbox");
    let text = fs::read_to_string(dir.join("smtpdcheck")).expect("cache file");
    assert_cache_format(&text);
    assert!(text.contains(&format!("127.0.0.1:{port} up ")), "{text:?}");
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .expect("read cache dir")
        .map(|e| e.expect("entry").file_name())
        .filter(|name| name != "smtpdcheck")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let _ = fs::remove_dir_all(&home);
}

// ---------------------------------------------------------------------------
// Hostile cache files (tests/smtpdcheck.rs covers corrupt, foreign, symlink,
// FIFO and permission cases; not size)
// ---------------------------------------------------------------------------

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
}

/// Writes a 20 MB cache file (`head` then `body` repeated) in a private
/// `$home/smtpbox`; returns its path.
fn huge_cache(home: &Path, head: &[u8], body: &[u8]) -> PathBuf {
    let dir = home.join("smtpbox");
    fs::create_dir(&dir).expect("mkdir smtpbox");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod 0700");
    let path = dir.join("smtpdcheck");
    let mut file = fs::File::create(&path).expect("create cache file");
    file.write_all(head).expect("write");
    let mut written = head.len();
    while written < 20 << 20 {
        file.write_all(body).expect("write");
        written += body.len();
    }
    path
}

/// Runs smtpdcheck with the cache in `home`; asserts the answer and bounds:
/// the file is never read (too big), so it is as fast as without a cache.
fn check_with_huge_cache(what: &str, home: &Path, port: u16, up: bool) -> Measured {
    let port = port.to_string();
    let args = ["--port", &port, "--timeout", T_ARG, "127.0.0.1"];
    let m = spawn("smtpdcheck", &args, Output::Piped, Some(home)).finish();
    let expected = if up { 1 } else { 0 };
    row(
        what,
        "smtpdcheck + 20 MB cache",
        &expected.to_string(),
        &m,
        SLACK,
    );
    assert_sane(what, &m, SLACK);
    assert_eq!(m.code, Some(expected), "{what}: {m:#?}");
    assert_eq!(m.stdout, if up { "127.0.0.1\n" } else { "" }, "{what}");
    m
}

/// The file afterwards: replaced by a small, well-formed cache.
fn assert_replaced(path: &Path) {
    let len = fs::metadata(path).expect("cache file").len();
    assert!(len < 64 * 1024, "cache file still {len} bytes");
    assert_cache_format(&fs::read_to_string(path).expect("read cache"));
}

/// 20 MB of seeded binary garbage as the cache: ignored; up server → 1.
#[test]
fn huge_garbage_cache_file_changes_nothing() {
    let _guard = light();
    let server = up_server();
    let home = temp_dir("hostile-huge-garbage");
    let path = huge_cache(&home, b"", &seeded_bytes(42, 1 << 20));
    check_with_huge_cache("huge_garbage_cache", &home, server.port(), true);
    assert_eq!(
        server.connections(),
        1,
        "probed, not answered from the file"
    );
    assert_replaced(&path);
    let _ = fs::remove_dir_all(&home);
}

/// A 20 MB well-formed cache claiming the up server is down (fresh): too
/// big to be trusted, so the server is probed and reported up → 1.
#[test]
fn huge_cache_claiming_down_is_not_trusted() {
    let _guard = light();
    let server = up_server();
    let home = temp_dir("hostile-huge-down");
    let entry = format!("127.0.0.1:{} down {}\n", server.port(), now_ms());
    let path = huge_cache(
        &home,
        format!("{CACHE_HEADER}\n").as_bytes(),
        entry.repeat(4096).as_bytes(),
    );
    check_with_huge_cache("huge_cache_claims_down", &home, server.port(), true);
    assert_eq!(
        server.connections(),
        1,
        "probed, not answered from the file"
    );
    assert_replaced(&path);
    let _ = fs::remove_dir_all(&home);
}

/// A 20 MB well-formed cache claiming a refused port is up (fresh): not
/// trusted, the port is probed → none available (0).
#[test]
fn huge_cache_claiming_up_is_not_trusted() {
    let _guard = light();
    let addr = refused_addr();
    let home = temp_dir("hostile-huge-up");
    let entry = format!("127.0.0.1:{} up {}\n", addr.port(), now_ms());
    let path = huge_cache(
        &home,
        format!("{CACHE_HEADER}\n").as_bytes(),
        entry.repeat(4096).as_bytes(),
    );
    check_with_huge_cache("huge_cache_claims_up", &home, addr.port(), false);
    assert_replaced(&path);
    let _ = fs::remove_dir_all(&home);
}
