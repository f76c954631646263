//! Integration tests of the `smtpdcheck` applet: the built binary against
//! scripted servers on loopback (127.0.0.0/8, [::1]) only.
//!
//! Contract: exit 1 and the server's name (as given, without its prio) on
//! stdout when one is available; exit 0 and nothing on stdout when none is;
//! exit 2 on a usage or system error.
//!
//! No test causes a DNS query: servers are IP literals, and the only names
//! are ones the resolver refuses by syntax (a label longer than 63 octets).
//! Every run is bounded by a small `--timeout` (and by the harness's kill
//! timer); time bounds leave a wide margin for a loaded 2-core machine.

#[path = "../support/mod.rs"]
#[macro_use]
mod support;

mod cache;
mod greetings;
mod json;
mod output;
mod servers;
mod usage;

use std::ops::Range;
use std::time::Duration;

use support::*;

/// `smtpbox smtpdcheck ARGS` with a private cache.
fn check(args: &[&str]) -> Run {
    run_applet("smtpdcheck", args)
}

/// `smtpbox smtpdcheck --port PORT ARGS` against `target`, private cache.
fn check_at(target: &impl Target, args: &[&str]) -> Run {
    run_against("smtpdcheck", target, args, &[])
}

/// `smtpdcheck --port PORT --timeout 1 127.0.0.1` against `target`.
fn probe(target: &impl Target) -> Run {
    check_at(target, &["--timeout", "1", "127.0.0.1"])
}

/// A name the resolver refuses by syntax (a label of 70 octets), so using
/// it never sends a DNS query.
fn unresolvable_name() -> String {
    format!("{}.example", "a".repeat(70))
}

fn assert_up(run: &Run, name: &str) {
    assert_eq!(run.status, Some(1), "expected 'available': {run:#?}");
    assert_eq!(run.stdout, format!("{name}\n"), "{run:#?}");
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
}

/// The check that `name` is reported available.
fn up_as(name: &'static str) -> impl Fn(&Run) {
    move |run| assert_up(run, name)
}

fn down(run: &Run) {
    assert_eq!(run.status, Some(0), "expected 'none available': {run:#?}");
    assert_eq!(run.stdout, "", "{run:#?}");
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
}

/// A usage error: exit 2, nothing on stdout, exactly one line on stderr.
fn usage_error_one_line(run: &Run) {
    assert_eq!(run.status, Some(2), "{run:#?}");
    assert_eq!(run.stdout, "", "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {run:#?}");
    assert!(run.stderr.ends_with('\n'), "{run:#?}");
}

/// The run took `ms` milliseconds: at least the start, less than the end.
fn took<S: ?Sized>(ms: Range<u64>) -> impl Fn(&S, &Run) {
    move |_, run| {
        assert!(run.elapsed >= Duration::from_millis(ms.start), "{run:?}");
        assert!(run.elapsed < Duration::from_millis(ms.end), "{run:?}");
    }
}

/// Every line a server received, after all its connections ended: a probe
/// may say QUIT, and nothing else.
fn assert_only_quit(server: &TestServer) {
    assert!(server.wait_idle(IDLE), "connections ended");
    for l in server.received() {
        assert!(l.eq_ignore_ascii_case("QUIT"), "probe sent {l:?}");
    }
}
