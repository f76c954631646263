//! The runner: one applet run with its exit status, output, wall time and
//! its OWN peak RSS.
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

use std::fs;
use std::io::{self, ErrorKind};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Once, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::support::*;
use crate::{KILL_AFTER, light};

/// Where the applet's stdout goes.
pub enum Output {
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
pub struct Measured {
    /// Exit code; `None` when ended by a signal.
    pub code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// From spawning to the exit.
    pub wall: Duration,
    /// When the exit was seen.
    pub ended: Instant,
    /// The child's own peak RSS, KiB (`ru_maxrss` on Linux).
    pub maxrss_kib: i64,
    /// Killed by the runner after [`KILL_AFTER`].
    pub killed: bool,
}

impl Measured {
    pub fn stderr_lines(&self) -> usize {
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

/// A started applet run, not reaped yet.
pub struct Running {
    pub pid: libc::pid_t,
    /// The gate (see [`SPAWN_SCRIPT`]); `None` once open.
    gate: Option<std::process::ChildStdin>,
    /// When the gate was opened.
    start: Instant,
    stdout: Option<PipeDrain>,
    stderr: Option<PipeDrain>,
    stop_killer: Option<mpsc::Sender<()>>,
    killer: Option<JoinHandle<bool>>,
    /// The pid file and the default cache home: held only to be removed
    /// (on drop, after the reaping).
    _scratch: TempDir,
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
pub fn prepare(
    program: &Path,
    args: &[String],
    stdout: Output,
    stderr: Output,
    cache_home: Option<&Path>,
) -> Running {
    become_subreaper();
    let scratch = TempDir::new("hostile-run");
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
    let out = sh.stdout.take().map(PipeDrain::start);
    let err = sh.stderr.take().map(PipeDrain::start);
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
        _scratch: scratch,
        reaped: false,
    }
}

/// `APPLET --port PORT ARGS...`, the port taken from `target`.
pub fn argv(applet: &str, target: &impl Target, args: &[&str]) -> Vec<String> {
    let port = target.port().to_string();
    let head = [applet, "--port", port.as_str()].into_iter();
    head.chain(args.iter().copied())
        .map(str::to_owned)
        .collect()
}

/// Starts `smtpbox ARGV` at once (see [`prepare`]).
pub fn spawn(argv: &[String], stdout: Output, stderr: Output, home: Option<&Path>) -> Running {
    let mut running = prepare(&smtpbox_bin(), argv, stdout, stderr, home);
    running.open();
    running
}

impl Running {
    /// Opens the gate: the program starts now, and is killed after
    /// [`KILL_AFTER`] unless it has exited.
    pub fn open(&mut self) {
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
    pub fn signal(&self, signal: libc::c_int) {
        assert!(!self.reaped);
        // SAFETY: the pid is our unreaped child.
        let rc = unsafe { libc::kill(self.pid, signal) };
        assert_eq!(rc, 0, "kill: {}", io::Error::last_os_error());
    }

    /// Whether the applet has exited (without reaping it).
    pub fn exited(&self) -> bool {
        let info = self.peek_exit(libc::WNOHANG).expect("waitid");
        // SAFETY: waitid filled `info` (si_pid stays 0 if nothing exited).
        unsafe { info.si_pid() != 0 }
    }

    /// `waitid(WEXITED | WNOWAIT | extra)`: observes the exit, if any, and
    /// leaves the child unreaped (so its pid cannot be recycled yet).
    fn peek_exit(&self, extra: libc::c_int) -> io::Result<libc::siginfo_t> {
        // SAFETY: an all-zero siginfo_t is a valid value to be filled in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let (id, options) = (
            self.pid as libc::id_t,
            libc::WEXITED | libc::WNOWAIT | extra,
        );
        // SAFETY: valid pointer; WNOWAIT leaves the child unreaped.
        let rc = unsafe { libc::waitid(libc::P_PID, id, &mut info, options) };
        if rc == 0 {
            Ok(info)
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Waits for the exit, stops the timeout thread, reaps with `wait4`.
    pub fn finish(mut self) -> Measured {
        assert!(self.gate.is_none(), "finish before open");
        // Blocks until the exit; a signal may interrupt the wait.
        while let Err(err) = self.peek_exit(0) {
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
        let stdout = self
            .stdout
            .take()
            .map(PipeDrain::finish)
            .unwrap_or_default();
        let stderr = self
            .stderr
            .take()
            .map(PipeDrain::finish)
            .unwrap_or_default();
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
    }
}

/// Spawns and waits: `smtpbox APPLET --port PORT ARGS` with output
/// captured.
pub fn measure(applet: &str, target: &impl Target, args: &[&str]) -> Measured {
    let argv = argv(applet, target, args);
    spawn(&argv, Output::Piped, Output::Piped, None).finish()
}

/// `PROGRAM ARGS` through [`prepare`] (output captured), started at once
/// and waited for.
fn run_through_prepare(program: &str, args: &[String]) -> Measured {
    let mut running = prepare(Path::new(program), args, Output::Piped, Output::Piped, None);
    running.open();
    running.finish()
}

/// The runner reports the child's OWN peak RSS: `/bin/true` started while
/// this process holds 64 MiB reads as a few hundred KiB (the naive
/// `posix_spawn` + `wait4` would report >= 64 MiB), and a shell that grows a
/// 32 MiB string reads as more than 32 MiB.
#[test]
fn runner_measures_the_childs_own_peak_rss() {
    let _guard = light();
    let ballast = vec![1u8; 64 << 20];
    let small = run_through_prepare("/bin/true", &[]);
    let script = r#"x=$(head -c 33554432 /dev/zero | tr '\0' a); echo ${#x}"#;
    let big = run_through_prepare("/bin/sh", &["-c".to_owned(), script.to_owned()]);
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
