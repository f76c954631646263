//! smtpdcheck: is a more preferred SMTP server up? (Mail Avenger contract)

use std::ffi::OsString;

/// The command-line definition.
pub fn command() -> clap::Command {
    clap::Command::new("smtpdcheck").version(env!("CARGO_PKG_VERSION"))
}

/// Runs smtpdcheck; returns its exit status.
pub fn run(_args: Vec<OsString>) -> u8 {
    2
}
