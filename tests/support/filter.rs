//! `smtpdcheck --opensmtpd-filter` driven as smtpd drives it: a
//! [`FilterProcess`] runs the built binary in the private-resolver
//! namespace of `dns.rs` with piped stdin and stdout, writes event lines
//! (from a thread, so a filter that stops reading cannot block the test),
//! and reads answer lines under a bounded wait, each stamped with when it
//! came. [`check_output_line`] is the grammar of what smtpd accepts from a
//! filter (smtpd-filters(7); lka_filter.c `processor_io`,
//! `processor_register` and `lka_filter_process_response`, which
//! `fatalx` on anything else): [`FilterProcess::finish`] applies it to
//! every line the filter wrote.

use std::io::{ErrorKind, Read, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::dns::{DnsServer, spawn_with_resolver};
use super::files::{TempDir, path_arg};
use super::run::{PipeDrain, smtpbox_bin};
use super::server::join_bounded;

/// lka_filter.c `lka_proc_config`: what smtpd 7.6 writes before
/// `config|ready` (6.6 to 7.5 write the same without `protocol`).
pub const CONFIG_7_6: [&str; 5] = [
    "config|smtpd-version|7.6.0",
    "config|protocol|0.7",
    "config|smtp-session-timeout|300",
    "config|subsystem|smtp-in",
    "config|admd|mx2.d.test",
];

/// The end of smtpd's configuration lines.
pub const CONFIG_READY: &str = "config|ready";

/// lka_filter.c `filter_execs`: the phases a filter may register for.
const FILTER_PHASES: [&str; 15] = [
    "connect",
    "helo",
    "ehlo",
    "starttls",
    "auth",
    "mail-from",
    "rcpt-to",
    "data",
    "data-line",
    "rset",
    "quit",
    "noop",
    "help",
    "wiz",
    "commit",
];

/// lka_filter.c `smtp_events`: the reports a filter may register for.
const REPORT_EVENTS: [&str; 19] = [
    "link-connect",
    "link-disconnect",
    "link-greeting",
    "link-identify",
    "link-tls",
    "link-auth",
    "tx-reset",
    "tx-begin",
    "tx-mail",
    "tx-rcpt",
    "tx-envelope",
    "tx-data",
    "tx-commit",
    "tx-rollback",
    "protocol-client",
    "protocol-server",
    "filter-report",
    "filter-response",
    "timeout",
];

/// Protocol 0.4 reads an answer into a `LINE_MAX` (2048) buffer, its NUL
/// included: a longer line is cut and the rest read as a line of its own.
const MAX_ANSWER_LINE: usize = 2047;

/// Whether smtpd reads `line` (with its newline) from a filter without
/// dying, and as the filter meant it: `register|ready`,
/// `register|filter|smtp-in|PHASE`, `register|report|smtp-in|EVENT`, or
/// `filter-result|ID|ID|RESULT` where RESULT is `proceed`, `junk`, or
/// `reject|CODE TEXT` / `disconnect|CODE TEXT` with a 4xx or 5xx code,
/// or `filter-dataline|ID|ID|LINE`; printable ASCII only, at most
/// [`MAX_ANSWER_LINE`] bytes. `Err` says what is wrong.
pub fn check_output_line(line: &[u8]) -> Result<(), String> {
    let shown = String::from_utf8_lossy(line);
    let Some(body) = line.strip_suffix(b"\n") else {
        return Err(format!("no newline at the end: {shown:?}"));
    };
    if body.len() > MAX_ANSWER_LINE {
        return Err(format!("{} bytes, over {MAX_ANSWER_LINE}", body.len()));
    }
    if !body.iter().all(|b| (b' '..=b'~').contains(b)) {
        return Err(format!("not printable ASCII: {shown:?}"));
    }
    let text = std::str::from_utf8(body).expect("ASCII");
    let fields: Vec<&str> = text.splitn(5, '|').collect();
    let ok = match fields[..] {
        ["register", "ready"] => true,
        ["register", "filter", "smtp-in", phase] => FILTER_PHASES.contains(&phase),
        ["register", "report", "smtp-in", event] => REPORT_EVENTS.contains(&event),
        ["filter-result", first, second, ref result @ ..] => {
            hex_id(first) && hex_id(second) && valid_result(result)
        }
        ["filter-dataline", first, second, _, ..] => hex_id(first) && hex_id(second),
        _ => false,
    };
    ok.then_some(())
        .ok_or_else(|| format!("not a line smtpd accepts: {text:?}"))
}

/// An id as smtpd reads it back (`strtoull(..., 16)`, up to `|`).
fn hex_id(field: &str) -> bool {
    (1..=16).contains(&field.len()) && field.bytes().all(|b| b.is_ascii_hexdigit())
}

/// After the ids: `proceed`, `junk`, `reject|...`, `disconnect|...`.
fn valid_result(result: &[&str]) -> bool {
    match result {
        ["proceed"] | ["junk"] => true,
        ["reject" | "disconnect", reply] => {
            // RFC 5321 §4.2: a three-digit code; a filter's is 4xx or 5xx.
            let code = reply.as_bytes();
            code.len() > 4
                && matches!(code[0], b'4' | b'5')
                && code[1..3].iter().all(u8::is_ascii_digit)
                && code[3] == b' '
                && !reply.contains('|')
        }
        _ => false,
    }
}

/// The two ids of a `filter-result` line, in the order written (session
/// then token since protocol 0.5, token then session in 0.4).
pub fn answer_ids(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split('|');
    (fields.next()? == "filter-result").then_some(())?;
    let first = u64::from_str_radix(fields.next()?, 16).ok()?;
    let second = u64::from_str_radix(fields.next()?, 16).ok()?;
    Some((first, second))
}

/// One line the filter wrote and when it was read.
#[derive(Clone, Debug)]
pub struct OutputLine {
    /// As written, with its newline (none on a last, unfinished line).
    pub bytes: Vec<u8>,
    pub at: Instant,
}

impl OutputLine {
    /// The line without its newline, lossy where not UTF-8.
    pub fn text(&self) -> String {
        let body = self.bytes.strip_suffix(b"\n").unwrap_or(&self.bytes);
        String::from_utf8_lossy(body).into_owned()
    }
}

/// How the filter ended, once stdin was closed.
#[derive(Debug)]
pub struct Finished {
    /// The exit code (`None`: killed, by a signal or after the limit).
    pub status: Option<i32>,
    /// Every line written over the whole run, as [`OutputLine::text`].
    pub lines: Vec<String>,
    /// The lines that came after stdin was closed.
    pub after_close: Vec<String>,
    pub stderr: String,
}

/// A running `smtpbox smtpdcheck --opensmtpd-filter`; killed if dropped
/// while still running.
pub struct FilterProcess {
    child: Child,
    input: Option<Sender<Vec<u8>>>,
    writer: Option<JoinHandle<()>>,
    output: Receiver<OutputLine>,
    stderr: Option<PipeDrain>,
    /// Every line read so far.
    seen: Vec<OutputLine>,
    _etc: TempDir,
    _cache: TempDir,
}

impl FilterProcess {
    /// `smtpbox smtpdcheck --opensmtpd-filter ARGS` whose resolver asks
    /// only `dns` (with resolv.conf `options`), its cache directory
    /// private; `None` (SKIPPED) where the namespace cannot be made.
    pub fn start(dns: &DnsServer, options: &str, args: &[&str]) -> Option<FilterProcess> {
        let binary = smtpbox_bin();
        let fixed = [path_arg(&binary), "smtpdcheck", "--opensmtpd-filter"];
        let argv = [&fixed[..], args].concat();
        let cache = TempDir::new("xdg-cache");
        let env = [("XDG_CACHE_HOME", cache.arg())];
        let (mut child, etc) =
            spawn_with_resolver(&dns.resolv_conf(options), &argv, &env, Stdio::piped())?;
        let stdin = child.stdin.take().expect("stdin pipe");
        let stdout = child.stdout.take().expect("stdout pipe");
        let stderr = PipeDrain::start(child.stderr.take().expect("stderr pipe"));
        let (input, lines) = mpsc::channel();
        let (answers, output) = mpsc::channel();
        let writer = thread::spawn(move || write_all_sent(stdin, &lines));
        thread::spawn(move || read_lines(stdout, &answers));
        Some(FilterProcess {
            child,
            input: Some(input),
            writer: Some(writer),
            output,
            stderr: Some(stderr),
            seen: Vec::new(),
            _etc: etc,
            _cache: cache,
        })
    }

    /// Queues `bytes` for the filter's stdin (written in order, at once
    /// unless the filter stops reading); when they were queued.
    pub fn send(&self, bytes: impl AsRef<[u8]>) -> Instant {
        let input = self.input.as_ref().expect("stdin is still open");
        let at = Instant::now();
        // The writer thread ends only when the pipe breaks: then the
        // filter is gone, which the next read or `finish` reports.
        let _ = input.send(bytes.as_ref().to_vec());
        at
    }

    /// [`send`](Self::send) of `lines`, each followed by a newline.
    pub fn send_lines(&self, lines: &[&str]) -> Instant {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        self.send(text)
    }

    /// The next line, waiting at most `limit`; `None` when none came (or
    /// stdout was closed).
    pub fn next_line(&mut self, limit: Duration) -> Option<OutputLine> {
        let line = self.output.recv_timeout(limit).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    /// The next `n` lines within `limit` altogether; fails the test,
    /// showing what came, when fewer do.
    pub fn lines(&mut self, n: usize, limit: Duration) -> Vec<OutputLine> {
        let end = Instant::now() + limit;
        let mut got = Vec::new();
        while got.len() < n {
            let left = end.saturating_duration_since(Instant::now());
            match self.next_line(left) {
                Some(line) => got.push(line),
                None => {
                    let texts: Vec<String> = got.iter().map(OutputLine::text).collect();
                    panic!("{} of {n} lines within {limit:?}: {texts:#?}", got.len())
                }
            }
        }
        got
    }

    /// The texts of the next `n` lines (see [`lines`](Self::lines)).
    pub fn texts(&mut self, n: usize, limit: Duration) -> Vec<String> {
        let lines = self.lines(n, limit);
        lines.iter().map(OutputLine::text).collect()
    }

    /// Sends `config` and `config|ready`; the lines the filter answers
    /// with (it must write four within a second).
    pub fn handshake(&mut self, config: &[&str]) -> Vec<String> {
        self.send_lines(&[config, &[CONFIG_READY]].concat());
        self.texts(4, Duration::from_secs(1))
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Its process id (for /proc).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Closes stdin (after what was sent is written) and waits at most
    /// `limit` for the exit and the last lines. Fails the test if any line
    /// the filter wrote is not one smtpd accepts.
    pub fn finish(mut self, limit: Duration) -> Finished {
        let closed = Instant::now();
        drop(self.input.take());
        if let Some(writer) = self.writer.take() {
            join_bounded(vec![writer], limit);
        }
        let end = closed + limit;
        let status = loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => break status.code(),
                None if Instant::now() >= end => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
                None => thread::sleep(Duration::from_millis(10)),
            }
        };
        // The reader ends at EOF, which the exit brought.
        while let Ok(line) = self.output.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .map(PipeDrain::finish)
            .unwrap_or_default();
        for line in &self.seen {
            if let Err(why) = check_output_line(&line.bytes) {
                panic!("the filter wrote a line smtpd cannot take: {why}");
            }
        }
        let texts = |lines: &[OutputLine]| lines.iter().map(OutputLine::text).collect();
        let after: Vec<OutputLine> = self
            .seen
            .iter()
            .filter(|l| l.at >= closed)
            .cloned()
            .collect();
        Finished {
            status,
            lines: texts(&self.seen),
            after_close: texts(&after),
            stderr,
        }
    }
}

impl Drop for FilterProcess {
    fn drop(&mut self) {
        if self.child.try_wait().is_ok_and(|s| s.is_none()) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The writer thread: everything sent, in order; ends (closing stdin)
/// when the sender is dropped or the pipe breaks.
fn write_all_sent(mut stdin: ChildStdin, sent: &Receiver<Vec<u8>>) {
    while let Ok(bytes) = sent.recv() {
        if stdin
            .write_all(&bytes)
            .and_then(|()| stdin.flush())
            .is_err()
        {
            return;
        }
    }
}

/// The reader thread: each line (with its newline) as it completes, and
/// an unfinished last one at EOF.
fn read_lines(mut stdout: impl Read, lines: &Sender<OutputLine>) {
    let mut pending = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let read = match stdout.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        pending.extend_from_slice(&chunk[..read]);
        let at = Instant::now();
        while let Some(newline) = pending.iter().position(|&b| b == b'\n') {
            let bytes: Vec<u8> = pending.drain(..=newline).collect();
            if lines.send(OutputLine { bytes, at }).is_err() {
                return;
            }
        }
    }
    if !pending.is_empty() {
        let _ = lines.send(OutputLine {
            bytes: pending,
            at: Instant::now(),
        });
    }
}
