//! The script a [`TestServer`](super::TestServer) plays on every connection:
//! [`Step`]s and the short constructors tests write them with.

use std::time::Duration;

/// One step of a per-connection script. Every accepted connection runs the
/// whole script from the start.
///
/// When the script runs out, the connection is *held*: it stays open (lines
/// the client sends are still logged) until the peer closes, the server's
/// lifetime ends, or the server is dropped. That is the implicit
/// [`Step::Hold`], so a "silent" server is just an empty script.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Write exactly these bytes (no CRLF added).
    Send(Vec<u8>),
    /// Write the bytes one at a time, pausing `every` between bytes.
    Drip { bytes: Vec<u8>, every: Duration },
    /// Read one line and log it. If it does not start with this prefix
    /// (ASCII case-insensitive), log `UNEXPECTED <line>` and close.
    /// EOF, timeout or an overlong line are logged as `UNEXPECTED <eof>`,
    /// `UNEXPECTED <timeout>`, `UNEXPECTED <overlong N bytes>` and close.
    Expect(String),
    /// Like `Expect`, but any line is accepted.
    ExpectAny,
    /// Pause (the connection stays open).
    Sleep(Duration),
    /// Close the connection normally (FIN) and end the script.
    Close,
    /// Close with a TCP RST (SO_LINGER 0) and end the script.
    Reset,
    /// On the first `n` connections, [`Step::Reset`] at once; later
    /// connections go on with the script. A service that is not ready yet
    /// (a client must retry), where each attempt is an observable accepted
    /// connection: unlike a closed port, whose refusals nobody sees.
    NotReadyFor(usize),
    /// `Expect(expect)` followed by sending `reply`; `reply` may hold several
    /// lines separated by `'\n'`, each is sent with CRLF. An empty reply
    /// sends nothing.
    Reply { expect: String, reply: String },
    /// Answer lines until QUIT: each line is logged and answered with the
    /// reply of the first entry whose key is an ASCII case-insensitive prefix
    /// of it (multi-line as in `Reply`), else `500 unrecognized`. QUIT is
    /// answered `221 bye` (or by a matching entry) and the connection closed.
    /// Ends when the client closes, or at the end of the server lifetime.
    ServeUntilQuit { replies: Vec<(String, String)> },
    /// Keep the connection open, logging client lines, until the peer closes
    /// or the server stops. Implicit at the end of every script.
    Hold,
}

/// `Step::Send` of the exact text (no CRLF added).
pub fn send(s: &str) -> Step {
    Step::Send(s.as_bytes().to_vec())
}

/// `Step::Send` of one or more `'\n'`-separated lines, each ending in CRLF.
pub fn line(s: &str) -> Step {
    Step::Send(crlf_lines(s))
}

/// `Step::Expect` with the given prefix.
pub fn expect(prefix: &str) -> Step {
    Step::Expect(prefix.to_string())
}

/// `Step::Reply`: expect a line starting with `expect`, then send `reply`.
pub fn reply(expect: &str, reply: &str) -> Step {
    Step::Reply {
        expect: expect.to_string(),
        reply: reply.to_string(),
    }
}

/// `Step::ServeUntilQuit` from `(prefix, reply)` pairs.
pub fn serve(replies: &[(&str, &str)]) -> Step {
    let replies = replies
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Step::ServeUntilQuit { replies }
}

/// Turns `"250-a\n250 b"` into `b"250-a\r\n250 b\r\n"`; empty text gives
/// nothing, so an empty reply means "send no reply".
pub fn crlf_lines(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if text.is_empty() {
        return out;
    }
    for l in text.split('\n') {
        out.extend_from_slice(l.trim_end_matches('\r').as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Whether `line` starts with `prefix`, ignoring ASCII case (SMTP verbs).
pub fn starts_with_ci(line: &str, prefix: &str) -> bool {
    line.len() >= prefix.len()
        && line.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}
