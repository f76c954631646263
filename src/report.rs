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

use std::cell::RefCell;
use std::ffi::CString;
use std::fmt::{self, Display};
use std::fs::File;
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd};
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
            syslog_line(priority, message);
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

    /// Contract output: `text` as is on stdout, at once. A closed stdout
    /// or a broken pipe is returned, never a panic.
    pub fn answer(&self, text: &str) -> io::Result<()> {
        write_stdout(text.as_bytes())
    }
}

/// The `-v` dialogue goes to stdout, unprefixed (the legacy etrn format).
impl Sink for Reporter {
    fn write_line(&self, line: &str) {
        let _ = write_stdout(format!("{line}\n").as_bytes());
    }
}

/// Writes `bytes` to fd 1 unbuffered, in as few write(2) calls as it
/// takes. Not std's `Stdout`: its first use builds a lock and a line
/// buffer, which after clap's parse cost a cache hit 2 % of its
/// instructions (docs/performance.md); everything printed here is whole
/// lines, which that buffer would write at once anyway.
fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    // SAFETY: fd 1 stays open for the whole run (main reopens it on
    // /dev/null when it starts closed), and ManuallyDrop never closes it.
    let stdout = ManuallyDrop::new(unsafe { File::from_raw_fd(libc::STDOUT_FILENO) });
    (&*stdout).write_all(bytes)
}

thread_local! {
    /// The syslog line being built, reused from line to line (a service
    /// logs one per deferral).
    static SYSLOG_LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// One syslog(3) line: `message` with its control characters escaped,
/// built in the reused buffer (a fresh one if it is busy).
fn syslog_line(priority: Priority, message: impl Display) {
    let send = |line: &mut String| {
        line.clear();
        let _ = fmt::write(&mut OneLine(line), format_args!("{message}"));
        line.push('\0'); // escaped text holds no other NUL
        // SAFETY: a constant "%s" format with one NUL-terminated string.
        unsafe {
            libc::syslog(
                priority as libc::c_int,
                c"%s".as_ptr(),
                line.as_ptr().cast::<libc::c_char>(),
            )
        };
    };
    let reused = SYSLOG_LINE.try_with(|cell| match cell.try_borrow_mut() {
        Ok(mut line) => {
            send(&mut line);
            true
        }
        Err(_) => false,
    });
    if reused != Ok(true) {
        send(&mut String::new());
    }
}

/// Writes text into a log line with its control characters escaped.
struct OneLine<'a>(&'a mut String);

impl fmt::Write for OneLine<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        push_one_line(self.0, text);
        Ok(())
    }
}

/// Appends `text` with its control characters escaped (a newline as
/// `\n`): a log line stays one line and holds no NUL.
fn push_one_line(line: &mut String, text: &str) {
    let mut plain = 0;
    for (at, c) in text.char_indices() {
        if c.is_control() {
            line.push_str(&text[plain..at]);
            line.extend(c.escape_default());
            plain = at + c.len_utf8();
        }
    }
    line.push_str(&text[plain..]);
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

    fn one_line(text: &str) -> String {
        let mut line = String::new();
        push_one_line(&mut line, text);
        line
    }

    #[test]
    fn log_lines_stay_one_line() {
        assert_eq!(one_line("a\nb\0c\u{1b}[2J"), "a\\nb\\u{0}c\\u{1b}[2J");
        assert_eq!(one_line("plain \"text\""), "plain \"text\"");
        assert_eq!(one_line("\u{85}é\t"), "\\u{85}é\\t");
    }

    #[test]
    fn escaping_is_the_same_whatever_the_pieces() {
        let mut line = String::new();
        let pieces = format_args!("{}: {}{}", "a\nb", 'c', "\u{7f}d");
        fmt::write(&mut OneLine(&mut line), pieces).expect("a String takes it");
        assert_eq!(line, "a\\nb: c\\u{7f}d");
    }
}
