//! Output channels: the answer is the exit status, whatever stdout is
//! (/dev/null, a broken pipe, closed), and `-v` explains on stderr.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;
use crate::*;

/// What is done to smtpdcheck's stdout.
enum Stdout {
    DevNull,
    /// A pipe whose read end we close at once: the answer gets EPIPE.
    BrokenPipe,
    /// No fd 1 at all.
    Closed,
}

/// `smtpdcheck --port P --timeout 1 127.0.0.1` against an up server with
/// stdout as `how` says: still exit 1, no panic. The server, for more
/// checks.
fn still_exits_1_with(how: Stdout) -> TestServer {
    let server = greeting_server("220 ok");
    let home = TempDir::new("stdout-fault");
    let port = server.port().to_string();
    let mut cmd = Command::new(smtpbox_bin());
    cmd.args(["smtpdcheck", "--port", &port, "--timeout", "1", "127.0.0.1"])
        .env("XDG_CACHE_HOME", home.path())
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    match how {
        Stdout::DevNull => cmd.stdout(Stdio::null()),
        Stdout::BrokenPipe => cmd.stdout(Stdio::piped()),
        // SAFETY: close(2) is async-signal-safe; fd 1 is the child's own.
        Stdout::Closed => unsafe {
            cmd.pre_exec(|| {
                libc::close(1);
                Ok(())
            })
        },
    };
    let mut child = cmd.spawn().expect("spawn");
    // Close the read end at once: the answer is written to a broken pipe.
    drop(child.stdout.take());
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    let mut pipe = child.stderr.take().expect("stderr");
    pipe.read_to_string(&mut stderr).expect("read stderr");
    assert_eq!(status, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    server
}

#[test]
fn stdout_to_dev_null_still_exits_1() {
    still_exits_1_with(Stdout::DevNull);
}

#[test]
fn stdout_broken_pipe_still_exits_1() {
    still_exits_1_with(Stdout::BrokenPipe);
}

#[test]
fn closed_stdout_still_exits_1_and_leaks_nothing_to_the_server() {
    let server = still_exits_1_with(Stdout::Closed);
    assert_only_quit(&server);
}

#[test]
fn verbose_single_down_server() {
    let server = greeting_server("421 busy");
    let quiet = probe(&server);
    assert!(quiet.stderr.is_empty(), "quiet without -v: {quiet:?}");
    let run = check_at(&server, &["-v", "--timeout", "1", "127.0.0.1"]);
    down(&run);
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(run.stderr.contains("127.0.0.1"), "{run:?}");
    assert!(run.stderr.contains("down"), "{run:?}");
}
