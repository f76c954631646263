//! The hostile matrix: every applet against servers that stall, drip, flood,
//! lie or break the protocol, and against process-level faults (closed
//! stdout, SIGTERM, 200 concurrent runs on one cache, a huge cache file),
//! each with BOUNDS: exit status, wall time, peak RSS, no panic, exact
//! stdout.
//!
//! Rules: loopback only (127.0.0.1), no DNS (IP literals; etrn and
//! check_mx always get `--helo client.test`), every server has a lifetime
//! and every run is killed after [`KILL_AFTER`]. How a run is measured:
//! `runner.rs`.

#[path = "../support/mod.rs"]
#[macro_use]
mod support;

mod cache;
mod process;
mod runner;
mod scenarios;

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use runner::Measured;

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

/// Scenario tests share it (read); the 200-process test takes it alone
/// (write), so its load cannot eat the other tests' time margins.
static HEAVY: RwLock<()> = RwLock::new(());

fn light() -> RwLockReadGuard<'static, ()> {
    HEAVY.read().unwrap_or_else(|e| e.into_inner())
}

fn heavy() -> RwLockWriteGuard<'static, ()> {
    HEAVY.write().unwrap_or_else(|e| e.into_inner())
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
