//! smtpbox: a busybox-style SMTP toolkit for mail administrators.
//!
//! # Layout
//!
//! A run flows top-down through four layers:
//!
//! - [`dispatch`]: the argv\[0\] step. Picks an applet by the name the binary
//!   was called under (`smtpdcheck`, `etrn`) or by `smtpbox APPLET ...`, and
//!   implements `--list`, `--list-full` and `--install`.
//! - [`registry`]: the applet table, the single place an applet is
//!   registered, and the only file that mounts the `applets/` folders.
//! - the applets (`applets/<name>/`, mounted as [`smtpdcheck`] and
//!   [`etrn`]): each owns its command line, its contract (output,
//!   exit codes) and its pure decision logic.
//! - [`smtp`]: the shared dialogue core: resolution, Happy Eyeballs
//!   connection, bounded reply reading, EHLO/HELO, STARTTLS, QUIT, and the
//!   `-v` transcript.
//!
//! [`args`] holds the value parsers the applets share; [`runtime`] holds the process-level helpers every applet needs (the
//! current-thread runtime that never waits for a stuck DNS thread, stdout
//! that survives a closed pipe).

/// `eprintln!` that never panics: when stderr is closed or a broken pipe
/// the message is lost, never the exit status (`eprintln!` would panic).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub mod args;
pub mod dispatch;
pub mod registry;
pub mod runtime;
pub mod smtp;

// The applets, mounted from `applets/` (the only `#[path]` lines).
#[path = "../applets/etrn/mod.rs"]
pub mod etrn;
#[path = "../applets/smtpdcheck/mod.rs"]
pub mod smtpdcheck;
