//! The applet table: the one registration point for every applet.
//!
//! Adding an applet means one folder under `applets/`, one `#[path]` module
//! line in `lib.rs` and one row in [`APPLETS`].

use std::ffi::OsString;

use clap::CommandFactory;

use crate::applet::AppletResult;
use crate::report::Reporter;
use crate::{check_mx, etrn, smtpdcheck};

/// One applet: what the dispatcher, `--list`, `--install` and the generated
/// documentation need to know about it.
pub struct Applet {
    /// The name it is called by (argv\[0\] basename or `smtpbox NAME`).
    pub name: &'static str,
    /// One line for `smtpbox --help`.
    pub summary: &'static str,
    /// Where its link belongs, relative to `/` (busybox's `--list-full`).
    pub install_dir: &'static str,
    /// Manual section of its page.
    pub man_section: u8,
    /// Its full command-line definition (for help, man pages, completions).
    pub command: fn() -> clap::Command,
    /// Runs it with the whole argument vector (argv\[0\] first), printing
    /// through the reporter (prefixed with its name); returns the exit
    /// status or the error for the dispatcher to report.
    pub run: fn(Vec<OsString>, &mut Reporter) -> AppletResult,
}

/// Every applet, sorted by name (a unit test keeps it so).
pub const APPLETS: &[Applet] = &[
    Applet {
        name: "check_mx",
        summary: "check every MX host of a domain: greeting, STARTTLS, certificate (Nagios plugin)",
        install_dir: "usr/lib/nagios/plugins",
        man_section: 1,
        command: check_mx::Cli::command,
        run: check_mx::run,
    },
    Applet {
        name: "etrn",
        summary: "ask a mail server to flush its queue for some hosts (RFC 1985)",
        install_dir: "usr/sbin",
        man_section: 8,
        command: etrn::Cli::command,
        run: etrn::run,
    },
    Applet {
        name: "smtpdcheck",
        summary: "tell whether a more preferred SMTP server is up",
        install_dir: "usr/bin",
        man_section: 1,
        command: smtpdcheck::Cli::command,
        run: smtpdcheck::run,
    },
];

/// Looks an applet up by its exact name.
pub fn find(name: &str) -> Option<&'static Applet> {
    APPLETS.iter().find(|applet| applet.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applet::AppletError;

    #[test]
    fn table_is_sorted_and_unique() {
        let names: Vec<_> = APPLETS.iter().map(|a| a.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let cases: [(&str, &[&[&str]]); 2] = [
            (
                "etrn",
                &[
                    &["--starttls", "sometimes", "mx"],
                    &["--timeout", "-3", "mx"],
                    &["--port", "0", "mx"],
                    &[],
                ],
            ),
            (
                "smtpdcheck",
                &[
                    &["--timeout", "-1", "a"],
                    &["--timeout", "soon", "a"],
                    &["--timeout", "NaN", "a"],
                    &["--port", "0", "a"],
                    &["--bogus", "a"],
                    &[],
                ],
            ),
        ];
        for (name, bad) in cases {
            let applet = find(name).expect("a registered applet");
            for args in bad {
                let argv = std::iter::once(name).chain(args.iter().copied());
                let refused = (applet.command)().try_get_matches_from(argv);
                let status = refused.map_err(|e| AppletError::from(e).status());
                assert_eq!(status.err(), Some(crate::exit::USAGE), "{name} {args:?}");
            }
        }
    }

    #[test]
    fn every_command_is_named_after_its_applet() {
        for applet in APPLETS {
            let command = (applet.command)();
            assert_eq!(command.get_name(), applet.name);
            command.debug_assert();
        }
    }
}
