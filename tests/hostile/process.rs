//! Process-level faults: stdout or stderr closed, /dev/null or a broken
//! pipe; SIGTERM while waiting; 200 concurrent runs on one cache.

use std::fs;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::runner::{Measured, Output, Running, argv, prepare, spawn};
use crate::support::*;
use crate::{RSS_LIMIT_KIB, SLACK, T, T_ARG, assert_sane, heavy, light, row};

/// etrn's arguments after `--port P`: `head`, then one client and no TLS.
fn etrn_a_test<'a>(head: &[&'a str]) -> Vec<&'a str> {
    let no_tls = ["--helo", "client.test", "--starttls", "off"];
    [head, &no_tls, &["127.0.0.1", "a.test"]].concat()
}

/// A pipe whose read end is already closed: its write end.
fn broken_pipe() -> Output {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned only here.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Output::Fd(write)
}

fn up_server() -> TestServer {
    greeting_server("220 up.test ESMTP")
}

/// `smtpdcheck [-v] --no-cache --timeout T 127.0.0.1` against an up server,
/// with stdout and stderr as given.
fn smtpdcheck_up(verbose: bool, stdout: Output, stderr: Output) -> Measured {
    let server = up_server();
    let args = ["-v", "--no-cache", "--timeout", T_ARG, "127.0.0.1"];
    let args = if verbose { &args[..] } else { &args[1..] };
    spawn(&argv("smtpdcheck", &server, args), stdout, stderr, None).finish()
}

fn smtpdcheck_up_with_stdout(what: &str, stdout: Output) {
    let _guard = light();
    let m = smtpdcheck_up(false, stdout, Output::Piped);
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
    let args = etrn_a_test(&["-v", "--timeout", T_ARG]);
    let m = spawn(&argv("etrn", &server, &args), stdout, Output::Piped, None).finish();
    row(what, "etrn -v", "0", &m, SLACK);
    assert_sane(what, &m, SLACK);
    assert_eq!(m.code, Some(0), "{what}: {m:#?}");
    // The dialogue went on to the end although nothing could be shown.
    assert!(server.wait_idle(IDLE));
    let dialogue = ["EHLO client.test", "ETRN a.test", "QUIT"];
    assert_eq!(server.received(), dialogue, "{what}");
}

/// etrn against a refused port: the failure line goes to stderr; its exit
/// status must stay 3 whatever stderr is.
fn etrn_unreachable_with_stderr(what: &str, stderr: Output) {
    let _guard = light();
    let args = etrn_a_test(&["--timeout", T_ARG]);
    let argv = argv("etrn", &refused_addr(), &args);
    let m = spawn(&argv, Output::Piped, stderr, None).finish();
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
    let m = smtpdcheck_up(true, Output::Piped, stderr);
    row(what, "smtpdcheck -v (up)", "1", &m, T + SLACK);
    assert!(!m.killed, "{m:#?}");
    assert!(m.maxrss_kib < RSS_LIMIT_KIB, "{m:#?}");
    assert_eq!(m.stdout, "127.0.0.1\n", "{what}: {m:#?}");
    assert_eq!(m.code, Some(1), "{what}: documented status 1: {m:#?}");
}

/// Starts `APPLET --port P --timeout 10 EXTRA...` against a server that
/// accepts and never speaks, so the applet is still running when looked at.
fn spawn_against_silent_server(
    applet: &str,
    extra: &[&str],
    stdout: Output,
) -> (TestServer, Running) {
    let server = script_server(vec![]);
    let args = [&["--timeout", "10"], extra].concat();
    let running = spawn(&argv(applet, &server, &args), stdout, Output::Piped, None);
    (server, running)
}

/// fd 1 is closed at exec: the applet must put /dev/null there before it
/// opens anything, or its runtime, a socket or the cache file would become
/// "stdout" (src/main.rs). Checked in /proc while it waits on a silent
/// server.
fn stdout_closed_becomes_dev_null(what: &str, applet: &str, extra: &[&str]) {
    let _guard = light();
    let (server, running) = spawn_against_silent_server(applet, extra, Output::Closed);
    let connected = server.wait_connections(1, Duration::from_secs(5));
    let fd1 = fs::read_link(format!("/proc/{}/fd/1", running.pid));
    running.signal(libc::SIGTERM);
    let m = running.finish();
    assert!(connected, "{what}: {applet} connected: {m:#?}");
    assert_eq!(
        fd1.ok(),
        Some(PathBuf::from("/dev/null")),
        "{applet}'s fd 1: {m:#?}"
    );
}

/// SIGTERM once a run has connected to a silent server and waits on it
/// (--timeout 10): the process is gone within 1 s of the signal (any
/// status, or killed by the signal).
fn sigterm_ends_promptly(what: &str, applet: &str, extra: &[&str]) {
    let _guard = light();
    let (server, running) = spawn_against_silent_server(applet, extra, Output::Piped);
    assert!(
        server.wait_connections(1, Duration::from_secs(5)),
        "{applet} connected"
    );
    assert!(
        !running.exited(),
        "{applet} must still be waiting when signalled"
    );
    running.signal(libc::SIGTERM);
    let sent = Instant::now();
    let m = running.finish();
    let after = m.ended.saturating_duration_since(sent);
    let bound = m.wall.saturating_sub(after) + Duration::from_secs(1);
    row(what, "SIGTERM once connected", "gone", &m, bound);
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

/// One test per fault: each runs its check with the test's name as the
/// label of its row in the measurements table.
macro_rules! faults {
    ($($(#[$doc:meta])* $name:ident => $check:ident($($arg:expr),*);)*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            $check(stringify!($name), $($arg),*);
        }
    )*};
}

faults! {
    /// stdout is /dev/null: smtpdcheck against an up server still exits 1.
    stdout_null_smtpdcheck_exits_1 => smtpdcheck_up_with_stdout(Output::Null);
    /// stdout is a pipe whose read end is closed (EPIPE on the answer):
    /// smtpdcheck still exits 1, no panic.
    stdout_broken_pipe_smtpdcheck_exits_1 => smtpdcheck_up_with_stdout(broken_pipe());
    /// fd 1 is closed: smtpdcheck still answers with its exit status.
    stdout_closed_smtpdcheck_exits_1 => smtpdcheck_up_with_stdout(Output::Closed);
    /// fd 1 is closed: `etrn -v` exits 0 and the server sees exactly the
    /// dialogue.
    stdout_closed_etrn_verbose_exits_0 => etrn_verbose_with_stdout(Output::Closed);
    /// stdout is /dev/null: `etrn -v` (transcript and result lines on
    /// stdout) against an accepting server exits 0 and finishes the
    /// dialogue.
    stdout_null_etrn_verbose_exits_0 => etrn_verbose_with_stdout(Output::Null);
    /// stdout is a broken pipe: `etrn -v` exits 0, no panic, whole dialogue.
    stdout_broken_pipe_etrn_verbose_exits_0 => etrn_verbose_with_stdout(broken_pipe());
    /// fd 1 closed at exec becomes /dev/null in smtpdcheck.
    stdout_closed_becomes_dev_null_smtpdcheck =>
        stdout_closed_becomes_dev_null("smtpdcheck", &["--no-cache", "127.0.0.1"]);
    /// fd 1 closed at exec becomes /dev/null in etrn.
    stdout_closed_becomes_dev_null_etrn =>
        stdout_closed_becomes_dev_null("etrn", &etrn_a_test(&[]));
    /// stderr is /dev/null: etrn's failure still exits 3.
    stderr_null_etrn_failure_exits_3 => etrn_unreachable_with_stderr(Output::Null);
    /// stderr is /dev/null: `smtpdcheck -v` still exits 1.
    stderr_null_smtpdcheck_verbose_exits_1 => smtpdcheck_verbose_with_stderr(Output::Null);
    /// stderr is a pipe whose read end is closed: the failure line gets
    /// EPIPE, and the exit status must still be 3. (Once, `eprintln!`
    /// panicked on the write error: exit 101, or SIGABRT in release.)
    stderr_broken_pipe_etrn_failure_exits_3 => etrn_unreachable_with_stderr(broken_pipe());
    /// stderr is a broken pipe: `smtpdcheck -v` must still answer with
    /// exit 1. (Once, `explain`'s `eprintln!` panicked after the answer.)
    stderr_broken_pipe_smtpdcheck_verbose_exits_1 =>
        smtpdcheck_verbose_with_stderr(broken_pipe());
    /// SIGTERM while smtpdcheck waits on a silent server.
    sigterm_during_smtpdcheck =>
        sigterm_ends_promptly("smtpdcheck", &["--no-cache", "127.0.0.1"]);
    /// SIGTERM while etrn waits on a silent server.
    sigterm_during_etrn => sigterm_ends_promptly("etrn", &etrn_a_test(&[]));
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
    let home = TempDir::new("hostile-shared-cache");
    let n = concurrency(200);
    // --timeout 5: the answer is what is checked here, not the timing.
    let argv = argv("smtpdcheck", &server, &["--timeout", "5", "127.0.0.1"]);
    let binary = smtpbox_bin();
    let mut running: Vec<Running> = (0..n)
        .map(|_| prepare(&binary, &argv, Output::Piped, Output::Piped, Some(&home)))
        .collect();
    // All gates open at once: n processes start together.
    let started = Instant::now();
    for r in &mut running {
        r.open();
    }
    let results: Vec<Measured> = running.into_iter().map(Running::finish).collect();
    let total = started.elapsed();
    let worst = results.iter().map(|m| m.wall).max().unwrap_or_default();
    let peak = results.iter().map(|m| m.maxrss_kib).max();
    eprintln!(
        "HOSTILE | {n} concurrent smtpdcheck: all reaped after {} ms, slowest {} ms, peak RSS {} KiB",
        total.as_millis(),
        worst.as_millis(),
        peak.unwrap_or_default()
    );
    for (i, m) in results.iter().enumerate() {
        assert_sane(&format!("run {i}"), m, Duration::from_millis(5500));
        assert_eq!(m.code, Some(1), "run {i}: {m:#?}");
        assert_eq!(m.stdout, "127.0.0.1\n", "run {i}: {m:#?}");
    }
    assert_cache_says_up(&home, &server);
}
