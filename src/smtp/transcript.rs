//! The `-v` transcript: the dialogue as it happens, server lines as received
//! and our commands as `>>> CMD` (the legacy etrn format).
//!
//! While several addresses of one host race (Happy Eyeballs), each attempt
//! holds its lines; only the winner's are released to the sink, so `-v`
//! shows one coherent dialogue.
//!
//! An AUTH exchange (RFC 4954) never reaches the sink as sent: whoever
//! writes it, the `AUTH` line shows only its mechanism
//! (`>>> AUTH PLAIN <redacted>`), and every client line after it is
//! `>>> <redacted>` until the server answers with anything but `334`.

use std::sync::Arc;

/// Where transcript lines go.
pub trait Sink: Send + Sync {
    /// Writes one complete line (no line end).
    fn write_line(&self, line: &str);
}

/// One connection's transcript.
#[derive(Default)]
pub struct Transcript {
    sink: Option<Arc<dyn Sink>>,
    /// `Some` while lines are held back (a racing attempt).
    held: Option<Vec<String>>,
    /// Inside an AUTH exchange: client lines are secrets.
    in_auth: bool,
}

/// What replaces a secret in the transcript.
pub const REDACTED: &str = "<redacted>";

impl Transcript {
    /// Records nothing.
    pub fn off() -> Transcript {
        Transcript::default()
    }

    /// Writes every line to `sink` as it happens.
    pub fn live(sink: Arc<dyn Sink>) -> Transcript {
        Transcript {
            sink: Some(sink),
            held: None,
            in_auth: false,
        }
    }

    /// Holds lines until [`Transcript::release`]; records nothing when
    /// `sink` is `None`.
    pub fn held(sink: Option<Arc<dyn Sink>>) -> Transcript {
        let held = sink.as_ref().map(|_| Vec::new());
        Transcript {
            sink,
            held,
            in_auth: false,
        }
    }

    /// Writes the held lines and goes live.
    pub fn release(&mut self) {
        if let (Some(sink), Some(lines)) = (&self.sink, self.held.take()) {
            for line in lines {
                sink.write_line(&line);
            }
        }
    }

    /// A line received from the server (line end already removed).
    pub fn server(&mut self, bytes: &[u8]) {
        // RFC 4954 §4: only 334 continues an exchange.
        if self.in_auth && !bytes.starts_with(b"334") {
            self.in_auth = false;
        }
        if self.sink.is_some() {
            self.record(String::from_utf8_lossy(bytes).into_owned());
        }
    }

    /// A command we sent (line end already removed).
    pub fn client(&mut self, bytes: &[u8]) {
        let shown = if self.in_auth {
            REDACTED.to_owned()
        } else if let Some(shown) = auth_command(bytes) {
            self.in_auth = true;
            shown
        } else {
            String::from_utf8_lossy(bytes).into_owned()
        };
        if self.sink.is_some() {
            self.record(format!(">>> {shown}"));
        }
    }

    /// A remark of ours about the dialogue (TLS started, fallback...).
    pub fn note(&mut self, text: &str) {
        if self.sink.is_some() {
            self.record(format!("*** {text}"));
        }
    }

    fn record(&mut self, line: String) {
        match (&mut self.held, &self.sink) {
            (Some(held), _) => held.push(line),
            (None, Some(sink)) => sink.write_line(&line),
            (None, None) => {}
        }
    }
}

/// An `AUTH` command as the transcript shows it (`AUTH PLAIN <redacted>`
/// when it carries an initial response, else `AUTH LOGIN`); `None` for any
/// other command.
pub fn auth_command(line: &[u8]) -> Option<String> {
    let verb = line.get(..5)?;
    if !verb.eq_ignore_ascii_case(b"AUTH ") {
        return None;
    }
    let rest = &line[5..];
    let mut words = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let mechanism = words.next().unwrap_or_default();
    let mechanism: String = String::from_utf8_lossy(mechanism)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(20)
        .collect();
    Some(match words.next() {
        Some(_) => format!("AUTH {mechanism} {REDACTED}"),
        None => format!("AUTH {mechanism}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<String>>);

    impl Sink for Collect {
        fn write_line(&self, line: &str) {
            self.0.lock().expect("test mutex").push(line.to_owned());
        }
    }

    #[test]
    fn held_lines_appear_only_after_release() {
        let sink = Arc::new(Collect::default());
        let mut transcript = Transcript::held(Some(sink.clone()));
        transcript.server(b"220 hi");
        transcript.client(b"EHLO me");
        assert!(sink.0.lock().expect("test mutex").is_empty());
        transcript.release();
        transcript.server(b"250 ok");
        assert_eq!(
            *sink.0.lock().expect("test mutex"),
            ["220 hi", ">>> EHLO me", "250 ok"]
        );
    }

    #[test]
    fn invalid_utf8_is_shown_lossily() {
        let sink = Arc::new(Collect::default());
        let mut transcript = Transcript::live(sink.clone());
        transcript.server(b"220 \xff");
        assert_eq!(*sink.0.lock().expect("test mutex"), ["220 \u{fffd}"]);
    }

    #[test]
    fn auth_exchanges_are_redacted() {
        let sink = Arc::new(Collect::default());
        let mut transcript = Transcript::live(sink.clone());
        transcript.client(b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
        transcript.server(b"535 5.7.8 no");
        transcript.client(b"auth login");
        transcript.server(b"334 VXNlcm5hbWU6");
        transcript.client(b"dGlt");
        transcript.server(b"334 UGFzc3dvcmQ6");
        transcript.client(b"dGFuc3RhYWZ0YW5zdGFhZg==");
        transcript.server(b"235 2.7.0 ok");
        transcript.client(b"ETRN a.test");
        assert_eq!(
            *sink.0.lock().expect("test mutex"),
            [
                ">>> AUTH PLAIN <redacted>",
                "535 5.7.8 no",
                ">>> AUTH login",
                "334 VXNlcm5hbWU6",
                ">>> <redacted>",
                "334 UGFzc3dvcmQ6",
                ">>> <redacted>",
                "235 2.7.0 ok",
                ">>> ETRN a.test",
            ]
        );
    }

    #[test]
    fn only_auth_commands_are_auth() {
        assert_eq!(auth_command(b"AUTHX y"), None);
        assert_eq!(auth_command(b"ETRN AUTH"), None);
        assert_eq!(auth_command(b"AUTH"), None);
        assert_eq!(
            auth_command(b"AUTH  CRAM-MD5"),
            Some("AUTH CRAM-MD5".into())
        );
        assert_eq!(
            auth_command(b"AUTH PL\x1bAIN secret"),
            Some("AUTH PLAIN <redacted>".into())
        );
    }
}
