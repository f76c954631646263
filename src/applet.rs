//! The applet contract, in the spirit of uutils' `UResult`: an applet's
//! `run` returns its exit status, or an [`AppletError`] that carries its
//! exit status and message. The dispatcher reports the error, in one
//! place, as `NAME: message` (or as clap's own text for the command line).

use std::ffi::OsString;
use std::fmt::{self, Display};
use std::io::{self, Write};
use std::mem::ManuallyDrop;

use crate::exit;
use crate::report::Reporter;

/// What an applet's `run` returns.
pub type AppletResult = Result<u8, AppletError>;

/// Why an applet stopped before it could give its contract's answer.
#[derive(Debug)]
pub enum AppletError {
    /// From clap: a usage error, or the text of `--help`/`--version`;
    /// `usage_status` is the exit status of a usage error (see
    /// [`AppletError::with_usage_status`]).
    CommandLine {
        error: clap::Error,
        usage_status: u8,
    },
    /// Anything else: one line for stderr, and the exit status.
    Failed { status: u8, message: String },
}

impl AppletError {
    /// A usage or configuration error ([`exit::USAGE`]).
    pub fn usage(message: impl Display) -> AppletError {
        AppletError::new(exit::USAGE, message)
    }

    /// An error that exits with `status`.
    pub fn new(status: u8, message: impl Display) -> AppletError {
        AppletError::Failed {
            status,
            message: message.to_string(),
        }
    }

    /// The same error, but a command-line usage error exits with `status`
    /// instead of [`exit::USAGE`] (a monitoring plugin's usage error is
    /// UNKNOWN); `--help` and `--version` still exit 0.
    pub fn with_usage_status(self, status: u8) -> AppletError {
        match self {
            AppletError::CommandLine { error, .. } => AppletError::CommandLine {
                error,
                usage_status: status,
            },
            other => other,
        }
    }

    /// The exit status it stands for.
    pub fn status(&self) -> u8 {
        match self {
            AppletError::CommandLine {
                error,
                usage_status,
            } if error.use_stderr() => *usage_status,
            AppletError::CommandLine { .. } => exit::SUCCESS,
            AppletError::Failed { status, .. } => *status,
        }
    }

    /// Prints it (clap's text as clap formats it, anything else through
    /// the reporter) and returns the exit status.
    pub fn report(self, reporter: &Reporter) -> u8 {
        let status = self.status();
        match self {
            AppletError::CommandLine { error, .. } => {
                let _ = error.print();
                // clap writes through std's buffered stdout; the rest of
                // the program does not (report.rs), so it is flushed here.
                let _ = io::stdout().flush();
            }
            AppletError::Failed { message, .. } => reporter.error(message),
        }
        status
    }
}

impl From<clap::Error> for AppletError {
    fn from(error: clap::Error) -> AppletError {
        AppletError::CommandLine {
            error,
            usage_status: exit::USAGE,
        }
    }
}

impl Display for AppletError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppletError::CommandLine { error, .. } => write!(f, "{}", error.kind()),
            AppletError::Failed { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for AppletError {}

/// Parses an applet's command line (argv\[0\] first).
///
/// As clap's `try_parse_from`, except that the command clap builds and
/// the matches are never dropped: a run parses once, the exit frees them,
/// and freeing their hundreds of small allocations one by one cost a
/// cache hit 2.5 % of its instructions (docs/performance.md).
pub fn parse_command_line<T, I>(args: I) -> Result<T, AppletError>
where
    T: clap::Parser,
    I: IntoIterator,
    I::Item: Into<OsString> + Clone,
{
    let command = ManuallyDrop::new(T::command()).try_get_matches_from_mut(args);
    let mut matches = ManuallyDrop::new(command?);
    T::from_arg_matches_mut(&mut matches)
        .map_err(|error| AppletError::from(error.format(&mut T::command())))
}

/// Parses `args` as typed after the applet's `name` (unit tests).
#[cfg(test)]
pub fn parse_typed<T: clap::Parser>(name: &str, args: &[&str]) -> Result<T, AppletError> {
    parse_command_line(std::iter::once(name).chain(args.iter().copied()))
}
