//! The reporter: every line an applet prints goes through it.
//!
//! It owns the `NAME: ` prefix of stderr lines, `-v` (lines printed only
//! when verbose), and the sd-daemon(3) priority prefix (`<3>`) that lets
//! journald file each line under its level when stderr is the journal.
//! Contract output on stdout (smtpdcheck's server name, etrn's `-v` result
//! and dialogue lines) carries no prefix. A service whose stderr is its
//! peer (Postfix's spawn(8)) sends its lines to syslog(3) instead
//! ([`Reporter::use_syslog`]: facility mail, the applet's name as ident). Nothing here panics on a closed
//! or broken stderr/stdout: a lost message must never change an exit
//! status.

use std::ffi::CString;
use std::fmt::Display;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::sync::{Arc, OnceLock};

use crate::smtp::transcript::Sink;

/// sd-daemon(3) priorities (syslog levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    Error = 3,
    Warning = 4,
    Info = 6,
}

/// How one applet run speaks. Cheap to clone into concurrent tasks.
#[derive(Clone, Debug)]
pub struct Reporter {
    /// The prefix of every stderr line: the applet's name.
    name: Arc<str>,
    verbose: bool,
    /// Whether stderr is the journal, found out on the first line printed
    /// (so a run that prints nothing pays nothing).
    journal: OnceLock<bool>,
    /// Lines go to syslog(3), not stderr.
    syslog: bool,
}

impl Reporter {
    /// A quiet reporter for `name`.
    pub fn new(name: &str) -> Reporter {
        Reporter {
            name: Arc::from(name),
            verbose: false,
            journal: OnceLock::new(),
            syslog: false,
        }
    }

    /// Turns `-v` lines on or off.
    pub fn set_verbose(&mut self, verbose: bool) {
        self.verbose = verbose;
    }

    /// Sends every line from now on to syslog(3), facility mail, ident
    /// the applet's name, instead of stderr.
    pub fn use_syslog(&mut self) {
        static IDENT: OnceLock<CString> = OnceLock::new();
        let ident =
            IDENT.get_or_init(|| CString::new(self.name.replace('\0', "")).unwrap_or_default());
        // SAFETY: `ident` lives for the whole process, as openlog needs.
        unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID, libc::LOG_MAIL) };
        self.syslog = true;
    }

    /// Whether `-v` was given.
    pub fn is_verbose(&self) -> bool {
        self.verbose
    }

    /// `NAME: message` on stderr, at error priority.
    pub fn error(&self, message: impl Display) {
        self.line(Priority::Error, message);
    }

    /// `NAME: message` on stderr, at warning priority.
    pub fn warning(&self, message: impl Display) {
        self.line(Priority::Warning, message);
    }

    /// `NAME: message` on stderr, at info priority.
    pub fn info(&self, message: impl Display) {
        self.line(Priority::Info, message);
    }

    /// `NAME: message` on stderr with `-v` only.
    pub fn detail(&self, message: impl Display) {
        if self.verbose {
            self.line(Priority::Info, message);
        }
    }

    /// One stderr line, `[<priority>]NAME: message` (or one syslog line).
    pub fn line(&self, priority: Priority, message: impl Display) {
        if self.syslog {
            let text = CString::new(one_line(&message.to_string())).unwrap_or_default();
            // SAFETY: a constant "%s" format with one C string argument.
            unsafe { libc::syslog(priority as libc::c_int, c"%s".as_ptr(), text.as_ptr()) };
            return;
        }
        let journal = *self.journal.get_or_init(stderr_is_journal);
        let mut stderr = io::stderr().lock();
        let _ = if journal {
            writeln!(stderr, "<{}>{}: {message}", priority as u8, self.name)
        } else {
            writeln!(stderr, "{}: {message}", self.name)
        };
    }

    /// Contract output: `text` as is on stdout, flushed. A closed stdout
    /// or a broken pipe is returned, never a panic.
    pub fn answer(&self, text: &str) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    }
}

/// The `-v` dialogue goes to stdout, unprefixed (the legacy etrn format).
impl Sink for Reporter {
    fn write_line(&self, line: &str) {
        let _ = writeln!(io::stdout().lock(), "{line}");
    }
}

/// `text` with its control characters escaped (a newline as `\n`): a
/// log line stays one line and holds no NUL.
fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    line
}

/// systemd sets JOURNAL_STREAM to `DEVICE:INODE` of the stream it connected;
/// it only counts when that is still our stderr (systemd.exec(5)).
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((device, inode)) = value.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    // SAFETY: fstat on our own stderr descriptor with a zeroed stat buffer.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::fstat(io::stderr().as_raw_fd(), &mut stat) };
    rc == 0 && device.parse() == Ok(stat.st_dev) && inode.parse() == Ok(stat.st_ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_stay_one_line() {
        assert_eq!(one_line("a\nb\0c\u{1b}[2J"), "a\\nb\\u{0}c\\u{1b}[2J");
        assert_eq!(one_line("plain \"text\""), "plain \"text\"");
    }
}
