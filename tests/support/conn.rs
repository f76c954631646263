//! One accepted connection of a [`TestServer`](super::TestServer): line
//! reads and writes bounded by the server's stop flag, over plain TCP or
//! TLS, the log, and the [`Step`] script player.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::io::AsRawFd;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::script::{Step, crlf_lines, starts_with_ci};
use super::server::Shared;
use super::{EXPECT_TIMEOUT, MAX_LINE, POLL};

/// What reading one client line produced.
pub(super) enum Input {
    Line(String),
    /// The peer closed (or the connection failed); carries the bytes of an
    /// unfinished last line, if any.
    Closed(Vec<u8>),
    /// The per-line time limit passed.
    TimedOut,
    /// No LF within `MAX_LINE` bytes; carries the length seen.
    Overlong(usize),
    /// The server is stopping (drop or end of lifetime).
    Stopped,
}

/// Whether the connection goes on after a step.
#[derive(PartialEq)]
pub(super) enum Flow {
    Continue,
    Done,
}

/// One connection: the stream, bytes read but not yet consumed as lines
/// (clients may pipeline), its number (from 1) and whether it is TLS.
pub(super) struct Conn<S> {
    pub(super) stream: S,
    pub(super) buf: Vec<u8>,
    pub(super) number: usize,
    pub(super) tls: bool,
    pub(super) shared: Arc<Shared>,
}

impl<S> Conn<S> {
    /// Connection `number` over `stream`, nothing read yet.
    pub(super) fn over(stream: S, number: usize, tls: bool, shared: Arc<Shared>) -> Self {
        let buf = Vec::new();
        Conn {
            stream,
            buf,
            number,
            tls,
            shared,
        }
    }
}

impl Conn<TcpStream> {
    pub(super) fn new(stream: TcpStream, number: usize, shared: Arc<Shared>) -> Option<Self> {
        // Short timeouts so every blocking call returns to check the stop
        // flag; NODELAY so `Drip` really sends one byte per segment.
        stream.set_nonblocking(false).ok()?;
        stream.set_read_timeout(Some(POLL)).ok()?;
        stream.set_write_timeout(Some(POLL)).ok()?;
        stream.set_nodelay(true).ok()?;
        Some(Conn::over(stream, number, false, shared))
    }

    /// Plays the script, then holds the connection (implicit `Step::Hold`).
    pub(super) fn run(mut self, script: &[Step]) {
        for step in script {
            if self.step(step) == Flow::Done {
                return;
            }
        }
        self.hold();
    }

    fn step(&mut self, step: &Step) -> Flow {
        match step {
            Step::Send(bytes) => self.write(bytes),
            Step::Drip { bytes, every } => self.drip(bytes, *every),
            Step::Expect(prefix) => self.expect(prefix),
            Step::ExpectAny => self.expect(""),
            Step::Sleep(d) if nap(&self.shared, *d) => Flow::Continue,
            Step::Sleep(_) => Flow::Done,
            Step::Close => {
                // FIN first; the socket itself is closed when `self` drops.
                let _ = self.stream.shutdown(Shutdown::Write);
                Flow::Done
            }
            Step::Reset => {
                set_linger_zero(&self.stream);
                Flow::Done
            }
            Step::NotReadyFor(n) if self.number <= *n => self.step(&Step::Reset),
            Step::NotReadyFor(_) => Flow::Continue,
            Step::Reply { expect, reply } => match self.expect(expect) {
                Flow::Continue => self.write(&crlf_lines(reply)),
                Flow::Done => Flow::Done,
            },
            Step::ServeUntilQuit { replies } => self.serve_until_quit(replies),
            Step::Hold => self.hold(),
        }
    }

    /// Logs a script deviation and closes the connection.
    fn deviate(&mut self, what: &str) -> Flow {
        self.record(&format!("UNEXPECTED {what}"));
        let _ = self.stream.shutdown(Shutdown::Write);
        Flow::Done
    }

    /// The next line for a script: an unfinished line before EOF counts.
    fn script_line(&mut self, limit: Instant) -> Input {
        match self.read_line(limit) {
            Input::Closed(rest) if !rest.is_empty() => Input::Line(decode_line(&rest)),
            input => input,
        }
    }

    fn expect(&mut self, prefix: &str) -> Flow {
        match self.script_line(Instant::now() + EXPECT_TIMEOUT) {
            Input::Line(l) => {
                self.record(&l);
                if starts_with_ci(&l, prefix) {
                    Flow::Continue
                } else {
                    self.deviate(&l)
                }
            }
            Input::Closed(_) => self.deviate("<eof>"),
            Input::TimedOut => self.deviate("<timeout>"),
            Input::Overlong(n) => self.deviate(&format!("<overlong {n} bytes>")),
            Input::Stopped => Flow::Done,
        }
    }

    fn serve_until_quit(&mut self, replies: &[(String, String)]) -> Flow {
        loop {
            let l = match self.script_line(self.shared.deadline) {
                Input::Line(l) => l,
                Input::Overlong(n) => return self.deviate(&format!("<overlong {n} bytes>")),
                Input::Closed(_) | Input::TimedOut | Input::Stopped => return Flow::Done,
            };
            self.record(&l);
            let matched = replies.iter().find(|(k, _)| starts_with_ci(&l, k));
            let is_quit = starts_with_ci(&l, "QUIT");
            let answer = match (matched, is_quit) {
                (Some((_, r)), _) => r.as_str(),
                (None, true) => "221 bye",
                (None, false) => "500 unrecognized",
            };
            if self.write(&crlf_lines(answer)) == Flow::Done {
                return Flow::Done;
            }
            if is_quit {
                let _ = self.stream.shutdown(Shutdown::Write);
                return Flow::Done;
            }
        }
    }

    /// Keeps the connection open, logging lines, until the peer closes or
    /// the server stops.
    fn hold(&mut self) -> Flow {
        loop {
            match self.script_line(self.shared.deadline) {
                Input::Line(l) => self.record(&l),
                Input::Overlong(n) => self.record(&format!("UNEXPECTED <overlong {n} bytes>")),
                Input::Closed(_) | Input::TimedOut | Input::Stopped => return Flow::Done,
            }
        }
    }

    fn drip(&mut self, bytes: &[u8], every: Duration) -> Flow {
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 && !nap(&self.shared, every) {
                return Flow::Done;
            }
            if self.write(std::slice::from_ref(b)) == Flow::Done {
                return Flow::Done;
            }
        }
        Flow::Continue
    }
}

impl<S: Read + Write> Conn<S> {
    /// Logs `text` as a line of this connection.
    pub(super) fn record(&self, text: &str) {
        self.shared.record(self.number, self.tls, text);
    }

    /// Writes (and flushes) everything, retrying on the short socket
    /// timeouts while the server lives. (`write_all` would lose track of
    /// partial writes on a timeout.)
    pub(super) fn write(&mut self, mut bytes: &[u8]) -> Flow {
        while !bytes.is_empty() {
            if !self.shared.alive() {
                return Flow::Done;
            }
            match self.stream.write(bytes) {
                Ok(0) => return Flow::Done,
                Ok(n) => bytes = &bytes[n..],
                Err(e) if is_retry(&e) => {}
                Err(_) => return Flow::Done,
            }
        }
        loop {
            match self.stream.flush() {
                Ok(()) => return Flow::Continue,
                Err(e) if is_retry(&e) && self.shared.alive() => {}
                Err(_) => return Flow::Done,
            }
        }
    }

    /// Reads one LF-terminated line (CR stripped, lossy UTF-8) by `limit`.
    pub(super) fn read_line(&mut self, limit: Instant) -> Input {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                if pos > MAX_LINE {
                    return self.overlong();
                }
                let raw: Vec<u8> = self.buf.drain(..=pos).collect();
                return Input::Line(decode_line(&raw));
            }
            if self.buf.len() > MAX_LINE {
                return self.overlong();
            }
            if !self.shared.alive() {
                return Input::Stopped;
            }
            if Instant::now() >= limit {
                return Input::TimedOut;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Input::Closed(std::mem::take(&mut self.buf)),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_retry(&e) => {}
                Err(_) => return Input::Closed(std::mem::take(&mut self.buf)),
            }
        }
    }

    fn overlong(&mut self) -> Input {
        let n = self.buf.len();
        self.buf.clear();
        Input::Overlong(n)
    }

    /// Reads and drops whatever comes until the peer closes, the server
    /// stops or `until` passes; with `first_only`, returns after the first
    /// bytes instead. Whether those first bytes came.
    pub(super) fn skip_input(&mut self, until: Instant, first_only: bool) -> bool {
        let mut chunk = [0u8; 4096];
        while self.shared.alive() && Instant::now() < until {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(_) if first_only => return true,
                Ok(_) => {}
                Err(e) if is_retry(&e) => {}
                Err(_) => return false,
            }
        }
        false
    }
}

/// Sleeps for `d` in `POLL` slices; returns false as soon as the server
/// must stop (so a long `Sleep` step cannot delay shutdown).
fn nap(shared: &Shared, d: Duration) -> bool {
    let end = Instant::now() + d;
    while shared.alive() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        thread::sleep(left.min(POLL));
    }
    false
}

fn decode_line(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    String::from_utf8_lossy(raw).into_owned()
}

/// Errors that only mean "the short socket timeout expired, try again".
pub(super) fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

/// SO_LINGER {on, 0}: closing the socket then sends RST instead of FIN.
fn set_linger_zero(stream: &TcpStream) {
    let lg = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is open (owned by `stream`) and the pointer/length
    // describe a live, correctly sized `linger` value.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const lg).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt(SO_LINGER) failed: {}",
        io::Error::last_os_error()
    );
}
