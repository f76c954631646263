//! smtpbox: a busybox-style SMTP toolkit for mail administrators.
//!
//! # Layout
//!
//! A run flows top-down through four layers:
//!
//! - [`dispatch`]: the argv\[0\] step. Picks an applet by the name the binary
//!   was called under (`smtpdcheck`, `etrn`, `check_mx`) or by `smtpbox APPLET ...`,
//!   implements `--list`, `--list-full` and `--install`, and reports an
//!   applet's error in one place.
//! - [`registry`]: the applet table, the single place an applet is
//!   registered.
//! - the applets ([`smtpdcheck`], [`etrn`], [`check_mx`], from `applets/<name>/`): each
//!   owns its command line, its contract and its pure decision logic.
//! - the shared core: [`applet`] (what `run` returns), [`exit`] (every exit
//!   status), [`report`] (every line printed), [`names`] (host names, IP
//!   literals, ETRN arguments), [`netrc`] and [`secret`] (credentials),
//!   [`args`] (shared option values), [`files`] (the bounded file reader),
//!   [`dns`] (queries through the system resolver, answers parsed),
//!   [`json`] (what the `--json` documents share),
//!   [`runtime`] (the async runtime that never waits for a stuck lookup)
//!   and [`smtp`] (the dialogue: resolution, Happy Eyeballs, bounded
//!   replies, EHLO/HELO, STARTTLS, AUTH, QUIT, `-v`).

pub mod applet;
pub mod args;
pub mod dispatch;
pub mod dns;
pub mod exit;
pub mod files;
pub mod json;
pub mod names;
pub mod netrc;
pub mod registry;
pub mod report;
pub mod runtime;
pub mod secret;
pub mod smtp;

// The applets, mounted from `applets/` (the only `#[path]` lines).
#[path = "../applets/check_mx/mod.rs"]
pub mod check_mx;
#[path = "../applets/etrn/mod.rs"]
pub mod etrn;
#[path = "../applets/smtpdcheck/mod.rs"]
pub mod smtpdcheck;
