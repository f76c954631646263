//! etrn: ask a mail server to start delivering its queue for some hosts
//! (RFC 1985), the Solaris/illumos etrn(1M) contract with its faults fixed.

use std::ffi::OsString;

pub mod defaults;
pub mod etrn_hosts;
pub mod sendmail_cf;

/// The command-line definition.
pub fn command() -> clap::Command {
    clap::Command::new("etrn")
        .version(env!("CARGO_PKG_VERSION"))
        .about("ask a mail server to flush its queue for some hosts (RFC 1985)")
}

/// Runs etrn; returns its exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    match command().try_get_matches_from(args) {
        Ok(_) => {
            eprintln!("etrn: not implemented yet");
            2
        }
        Err(err) => {
            let _ = err.print();
            err.exit_code().clamp(0, 2) as u8
        }
    }
}
