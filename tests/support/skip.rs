//! Tests that cannot run here say so, and fail where they must run.
//!
//! Some tests need what a developer's machine may lack (root, `unshare`,
//! `man`, IPv6 loopback...). Such a test calls [`skip`] and returns: with
//! plain `cargo test` it passes, printing `SKIPPED: TEST: cannot WHAT here`
//! on stderr; with `SMTPBOX_NO_SKIP=1` (CI sets it, where everything is
//! installed and the tests run as root) the same call fails the test, so a
//! test never passes there without having run.

use std::fmt::Display;
use std::io::Write;

/// The environment variable that turns every skip into a failure.
pub const NO_SKIP: &str = "SMTPBOX_NO_SKIP";

/// The running test cannot `what` here: says so on stderr and returns (the
/// caller then returns), or panics when [`NO_SKIP`] is `1`.
pub fn skip(what: impl Display) {
    // libtest names each test's thread after the test.
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    if std::env::var_os(NO_SKIP).is_some_and(|v| v == "1") {
        panic!("{test}: cannot {what} here, and {NO_SKIP}=1 forbids skipping");
    }
    // Straight to fd 2: libtest captures `eprintln!` of a passing test,
    // and a skip must show in a plain `cargo test`.
    let note = format!("SKIPPED: {test}: cannot {what} here\n");
    let _ = std::io::stderr().write_all(note.as_bytes());
}

/// Whether the tests run as root.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// True as root; else the test is skipped ([`skip`]): it cannot `what`
/// without root.
pub fn root_or_skip(what: &str) -> bool {
    let root = running_as_root();
    if !root {
        skip(format_args!("{what} without root"));
    }
    root
}
