//! Integration tests of the `etrn` applet: the built binary against scripted
//! SMTP servers on loopback (127.0.0.0/8) only.
//!
//! Contract (see `etrn --help`): exit 0 when every ETRN got a 2xx, 1 when
//! the server answered but ETRN is unsupported or refused, 2 for usage and
//! configuration errors (nothing is sent), 3 when the server is unreachable,
//! does not greet 220, times out, or required TLS fails.
//!
//! No test causes a DNS query: every run passes `--helo client.test` (else
//! etrn looks up this host's canonical name), servers are IP literals, and
//! the only name looked up is `localhost` (for `-b`), which /etc/hosts
//! answers. Every server has a bounded lifetime, every run a small
//! `--timeout` and the harness's kill timer; time bounds leave a wide
//! margin for a loaded 2-core machine.

#[path = "../support/mod.rs"]
#[macro_use]
mod support;

mod auth;
mod boot;
mod etrn_hosts;
mod json;
mod session;
mod starttls;
mod usage;

use support::*;

/// `smtpbox etrn ARGS`. JOURNAL_STREAM is set empty so that stderr lines
/// never get sd-daemon prefixes, whatever the test runner's environment.
fn etrn(args: &[&str]) -> Run {
    run_applet_with("etrn", args, &[("JOURNAL_STREAM", "")], true)
}

/// `smtpbox etrn --port PORT --helo client.test ARGS` against `target`.
fn etrn_to(target: &impl Target, args: &[&str]) -> Run {
    etrn_to_env(target, args, &[])
}

/// `etrn --port PORT --helo client.test OPTIONS 127.0.0.1 a.test`: asks
/// the server at 127.0.0.1 to flush a.test.
fn etrn_a_test(target: &impl Target, options: &[&str]) -> Run {
    etrn_to(target, &[options, &["127.0.0.1", "a.test"]].concat())
}

/// [`etrn_to`] with extra environment variables.
fn etrn_to_env(target: &impl Target, args: &[&str], env: &[(&str, &str)]) -> Run {
    let args = [&["--helo", "client.test"], args].concat();
    let env = [&[("JOURNAL_STREAM", "")], env].concat();
    run_against("etrn", target, &args, &env)
}

/// [`etrn_to_env`] with `--local-port` taken from `local`: the MTA that
/// `-b` waits for.
fn etrn_with_local(
    target: &impl Target,
    local: &impl Target,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let local = local.port().to_string();
    let args = [&["--local-port", local.as_str()], args].concat();
    etrn_to_env(target, &args, env)
}

fn no_panic(run: &Run) {
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
    assert!(!run.timed_out, "killed by the harness: {run:#?}");
}

fn assert_status(run: &Run, status: i32) {
    no_panic(run);
    assert_eq!(run.status, Some(status), "{run:#?}");
}

/// A usage error: exit 2, nothing on stdout, a message on stderr.
fn assert_usage(run: &Run) {
    assert_status(run, 2);
    assert_eq!(run.stdout, "", "{run:#?}");
    assert!(!run.stderr.trim().is_empty(), "a message: {run:#?}");
}

/// Asserts that `server` never got a connection (none was waiting to be
/// accepted either: etrn has exited).
fn assert_never_connected(server: &TestServer) {
    assert_eq!(server.connections_settled(), 0, "{:?}", server.log());
}

/// The one stderr line of a run, or a failure.
fn one_stderr_line(run: &Run) -> &str {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{run:#?}");
    lines[0]
}

/// Asserts that some stderr line is as `wanted` says.
fn assert_stderr_any(run: &Run, wanted: impl Fn(&str) -> bool) {
    assert!(run.stderr.lines().any(wanted), "{run:#?}");
}

/// Asserts that stderr has this exact line (etrn's per-group summaries).
fn assert_stderr_line(run: &Run, wanted: &str) {
    assert_stderr_any(run, |l| l == wanted);
}

/// The `--etrn-hosts` summary of a group whose `n` ETRN were all accepted
/// with `250 Queuing started`.
fn all_accepted(server: &str, n: usize) -> String {
    format!("etrn: {server}: {n} of {n} ETRN accepted (250 Queuing started)")
}
