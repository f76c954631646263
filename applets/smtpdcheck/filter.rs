//! `smtpdcheck --opensmtpd-filter`: the OpenSMTPD filter (smtpd-filters(7),
//! `filter "smtpdcheck" proc-exec "/usr/bin/smtpdcheck --opensmtpd-filter"`).
//!
//! smtpd starts it once and writes one line per event to its stdin; it
//! answers each `filter` request with one line on stdout. smtpd dies with
//! its filter and on a line it cannot parse, so this loop never returns
//! while stdin is open, writes only lines [`opensmtpd`] rendered, answers
//! every request exactly once (`proceed` unless the engine says a more
//! preferred MX is up), and ignores whatever it does not understand.
//!
//! Requests are independent: what memory and the cache settle is answered
//! at once; the rest is decided in a task of its own on this runtime, so a
//! primary that takes `--timeout` to time out delays only the recipients
//! of its domain. Tasks are bounded ([`MAX_PENDING`]); beyond that a
//! request is answered `proceed` at once. The stop is `--stop`, else the
//! local address of the session's `link-connect`, else this host's own.

use std::rc::Rc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

use super::engine::{self, Engine, Trouble};
use super::opensmtpd::{self, AnswerTo, Event, Handling, LineSplitter, REGISTRATION, Sessions};
use super::streams::{Output, standard_streams};
use crate::report::Reporter;

/// The most decisions waiting on the network at once; a request beyond
/// them is answered `proceed` (fail open) rather than held in memory.
pub const MAX_PENDING: usize = 4096;
/// How much is read from smtpd at once.
const READ_CHUNK: usize = 64 * 1024;

/// A decision that had to wait, for the request it answers.
struct Decided {
    to: AnswerTo,
    recipient: String,
    result: Result<engine::Decision, Trouble>,
}

/// Serves smtpd until it closes stdin (or stdout).
pub async fn serve(engine: Rc<Engine>, reporter: &Reporter) {
    let (mut input, mut output) = match standard_streams() {
        Ok(streams) => streams,
        Err(err) => {
            reporter.error(format_args!("cannot use stdin/stdout: {err}"));
            // Never exit while smtpd may still write: it would die with us.
            return wait_for_eof().await;
        }
    };
    let mut filter = Filter {
        engine,
        reporter,
        sessions: Sessions::new(),
        pending: JoinSet::new(),
        answers: Vec::new(),
    };
    let mut splitter = LineSplitter::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut input_open = true;
    while input_open || !filter.pending.is_empty() {
        tokio::select! {
            read = input.read(&mut chunk), if input_open => match read {
                Ok(0) | Err(_) => input_open = false,
                Ok(read) => {
                    splitter.push(&chunk[..read]);
                    while let Some(line) = splitter.next_line() {
                        filter.take(line);
                    }
                }
            },
            Some(joined) = filter.pending.join_next() => {
                if let Ok(decided) = joined {
                    filter.answer_decided(decided);
                }
            }
        }
        if !filter.answers.is_empty() && !write(&mut output, &mut filter.answers).await {
            return; // smtpd is gone
        }
    }
}

/// What the loop keeps between lines.
struct Filter<'r> {
    engine: Rc<Engine>,
    reporter: &'r Reporter,
    /// Each session's local address, from its `link-connect`.
    sessions: Sessions,
    pending: JoinSet<Decided>,
    /// Answer lines not yet written.
    answers: Vec<u8>,
}

impl Filter<'_> {
    /// One line from smtpd.
    fn take(&mut self, line: &[u8]) {
        match opensmtpd::parse_line(line) {
            Event::ConfigReady => self.answers.extend_from_slice(REGISTRATION.as_bytes()),
            Event::Report(report) => self.sessions.apply(&report),
            Event::Filter(request) => match request.handling() {
                Handling::Now(answer) => answer.render_into(&mut self.answers),
                Handling::Decide {
                    recipient,
                    domain,
                    to,
                } => self.decide(recipient, domain, to),
            },
            Event::Config { .. } | Event::Unknown => {}
        }
    }

    /// Decides a recipient now if memory settles it, else in a task.
    fn decide(&mut self, recipient: &str, domain: &str, to: AnswerTo) {
        let reached = self.sessions.local_address(to.session);
        if let Some(decision) = self.engine.decide_now(domain, reached) {
            let decided = Decided {
                to,
                recipient: recipient.to_owned(),
                result: Ok(decision),
            };
            return self.answer_decided(decided);
        }
        if self.pending.len() >= MAX_PENDING {
            self.reporter.error(format_args!(
                "{recipient}: proceed: {MAX_PENDING} decisions already wait"
            ));
            return to
                .with(opensmtpd::Decision::Proceed)
                .render_into(&mut self.answers);
        }
        let engine = Rc::clone(&self.engine);
        let (recipient, domain) = (recipient.to_owned(), domain.to_owned());
        self.pending.spawn_local(async move {
            let result = engine.decide(&domain, reached).await;
            Decided {
                to,
                recipient,
                result,
            }
        });
    }

    /// The answer line for a decision, and its log line.
    fn answer_decided(&mut self, decided: Decided) {
        let Decided {
            to,
            recipient,
            result,
        } = decided;
        let decision = match result {
            Ok(engine::Decision::Defer(server)) => {
                self.reporter.info(format_args!(
                    "{recipient}: reject 451: the more preferred MX {server} is up"
                ));
                opensmtpd::Decision::UseServer(server)
            }
            Ok(engine::Decision::Accept) => {
                self.reporter.detail(format_args!("{recipient}: proceed"));
                opensmtpd::Decision::Proceed
            }
            Err(trouble) => {
                self.reporter
                    .error(format_args!("{recipient}: proceed: {trouble}"));
                opensmtpd::Decision::Proceed
            }
        };
        to.with(decision).render_into(&mut self.answers);
    }
}

/// Writes and empties `answers`; `false` when smtpd no longer reads.
async fn write(output: &mut Output, answers: &mut Vec<u8>) -> bool {
    let written = output.write_all(answers).await.is_ok() && output.flush().await.is_ok();
    answers.clear();
    written
}

/// Reads stdin until EOF, discarding it (when it cannot be served).
async fn wait_for_eof() {
    let mut stdin = tokio::io::stdin();
    let mut sink = vec![0u8; READ_CHUNK];
    while matches!(stdin.read(&mut sink).await, Ok(read) if read > 0) {}
}
