//! Running the built `smtpbox` (or any program) with a hard time limit and
//! captured output, and pointing an applet at a test server's port.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::RUN_TIMEOUT;
use super::files::TempDir;
use super::server::{TestServer, join_bounded};

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

/// What an applet is pointed at with `--port`: a test server, or a bare
/// loopback address (e.g. a refused port).
pub trait Target {
    fn port(&self) -> u16;
}

impl Target for TestServer {
    fn port(&self) -> u16 {
        TestServer::port(self)
    }
}

impl Target for SocketAddr {
    fn port(&self) -> u16 {
        SocketAddr::port(self)
    }
}

/// `smtpbox APPLET --port PORT ARGS...` with `env` added, the port taken
/// from `target` (stdin /dev/null, private XDG_CACHE_HOME unless `env`
/// sets one).
pub fn run_against(applet: &str, target: &impl Target, args: &[&str], env: &[(&str, &str)]) -> Run {
    let port = target.port().to_string();
    let mut all = vec!["--port", port.as_str()];
    all.extend_from_slice(args);
    run_applet_with(applet, &all, env, true)
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
    let argv = [&[applet], args].concat();
    run_program(&smtpbox_bin(), &argv, env, input, RUN_TIMEOUT)
}

/// Runs any program (e.g. a symlink to smtpbox named after an applet).
pub fn run_link(link_path: &Path, args: &[&str]) -> Run {
    run_program(link_path, args, &[], None, RUN_TIMEOUT)
}

/// Variables the applets read that the test runner's own environment must
/// not decide (a developer's ETRN_HOSTS would win over a defaults file;
/// cargo run under systemd has a JOURNAL_STREAM): never passed on, though
/// `env` may set them.
pub const NOT_INHERITED: [&str; 2] = ["ETRN_HOSTS", "JOURNAL_STREAM"];

/// The general runner. `stdin`: `None` = /dev/null, `Some(bytes)` = a pipe
/// fed those bytes then closed. Captures output; kills the child after
/// `timeout`. Sets `XDG_CACHE_HOME` to a fresh directory (removed after the
/// run) unless `env` sets it; leaves out [`NOT_INHERITED`].
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
        (!env.iter().any(|(k, _)| *k == "XDG_CACHE_HOME")).then(|| TempDir::new("xdg-cache"));
    if let Some(dir) = &own_cache {
        cmd.env("XDG_CACHE_HOME", dir.path());
    }
    for name in NOT_INHERITED {
        cmd.env_remove(name);
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
    let out = PipeDrain::start(child.stdout.take().expect("stdout pipe"));
    let err = PipeDrain::start(child.stderr.take().expect("stderr pipe"));

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
    Run {
        status,
        stdout: out.finish(),
        stderr: err.finish(),
        elapsed,
        timed_out,
    }
}

/// Drains a child's pipe on a thread into a shared buffer, so the child
/// never blocks on a full pipe and we can stop waiting at any time.
pub struct PipeDrain {
    data: Arc<Mutex<Vec<u8>>>,
    thread: JoinHandle<()>,
}

impl PipeDrain {
    pub fn start(mut pipe: impl Read + Send + 'static) -> PipeDrain {
        let data = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&data);
        // A small stack: the hostile tests drain hundreds of pipes at once.
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
            .expect("spawn a pipe drain thread");
        PipeDrain { data, thread }
    }

    /// The text, after EOF (a bounded wait: a grandchild could keep the
    /// pipe open).
    pub fn finish(self) -> String {
        join_bounded(vec![self.thread], Duration::from_secs(2));
        let data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&data).into_owned()
    }
}

/// The run exited with `code`.
pub fn exits(code: i32) -> impl Fn(&Run) {
    move |run| assert_eq!(run.status, Some(code), "{run:?}")
}

/// stdout is exactly `text`.
pub fn stdout_is(text: &'static str) -> impl Fn(&Run) {
    move |run| assert_eq!(run.stdout, text, "{run:?}")
}

/// stdout contains `text`.
pub fn stdout_has(text: &'static str) -> impl Fn(&Run) {
    move |run| assert!(run.stdout.contains(text), "{run:?}")
}

/// stdout starts with `text`.
pub fn stdout_starts(text: &'static str) -> impl Fn(&Run) {
    move |run| assert!(run.stdout.starts_with(text), "{run:?}")
}

/// stderr is exactly `text`.
pub fn stderr_is(text: &'static str) -> impl Fn(&Run) {
    move |run| assert_eq!(run.stderr, text, "{run:?}")
}

/// stderr contains `text`.
pub fn stderr_has(text: &'static str) -> impl Fn(&Run) {
    move |run| assert!(run.stderr.contains(text), "{run:?}")
}

/// Waits (bounded) for a child spawned by a test itself; its exit code.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<i32> {
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
