//! Shared harness for integration tests: scripted SMTP servers and a
//! STARTTLS server on loopback, and helpers that run the built `smtpbox`
//! binary with a hard time limit.
//!
//! Safety rules this module enforces, so that no test can hang or leak:
//!
//! * Servers bind only literal loopback addresses (127.0.0.0/8 or `[::1]`).
//!   Addresses are parsed, never resolved, so no DNS is ever done.
//! * Every server has a lifetime (default [`SERVER_LIFETIME`]); after it, the
//!   listener is closed and every connection thread ends by itself.
//! * Every blocking socket call uses a short timeout ([`POLL`]) so threads
//!   notice the stop flag; dropping a [`TestServer`] stops it within ~1 s.
//! * Every child process is killed if it runs longer than [`RUN_TIMEOUT`].
//! * Temporary directories are [`TempDir`]s, removed even when a test fails.
//!
//! Use it from a test file with `mod support;` (`#[macro_use]` on it for
//! [`run_table!`]); from a test directory add `#[path = "../support/mod.rs"]`.
// Each test crate uses its own part of the harness.
#![allow(dead_code, unused_imports)]

mod conn;
pub mod dns;
pub mod files;
pub mod filter;
pub mod https;
pub mod json;
pub mod mx;
pub mod plugin;
pub mod prometheus;
pub mod run;
pub mod script;
pub mod server;
pub mod skip;
pub mod starttls;
pub mod tls;

pub use files::*;
pub use mx::*;
pub use plugin::*;
pub use run::*;
pub use script::*;
pub use server::*;
pub use skip::*;
pub use starttls::*;
pub use tls::{Leaf, Pki};

use std::time::Duration;

/// How long a server lives unless told otherwise.
pub const SERVER_LIFETIME: Duration = Duration::from_secs(20);
/// How long `Expect`/`ExpectAny`/`Reply` wait for one client line.
pub const EXPECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a child process may run before it is killed.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Granularity of every socket timeout and sleep, i.e. how quickly server
/// threads notice that they must stop.
pub const POLL: Duration = Duration::from_millis(50);
/// Longest client line the server accepts (excluding the LF).
pub const MAX_LINE: usize = 64 * 1024;
/// How long to wait for a server's connections to end before reading its
/// complete log (the client is gone by then; this only covers scheduling).
pub const IDLE: Duration = Duration::from_secs(5);

/// A table of tests that run a program with no server: one `#[test]` per
/// name, each running `$run(&ARGS)` for every row and applying the row's
/// checks (`Fn(&Run)`, e.g. [`exits`], [`stdout_is`]) to the result. The
/// test's output names the row that failed.
#[allow(unused_macros)] // not every test crate has such a table
macro_rules! run_table {
    ($run:path; $($(#[$doc:meta])* $name:ident { $($args:expr => $($check:expr),+;)+ })*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            $(
                eprintln!("row: {:?}", $args);
                let run = $run(&$args);
                $( ($check)(&run); )+
            )+
        }
    )*};
}
