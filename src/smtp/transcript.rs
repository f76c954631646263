//! The `-v` transcript: the dialogue as it happens, server lines as received
//! and our commands as `>>> CMD` (the legacy etrn format).
//!
//! While several addresses of one host race (Happy Eyeballs), each attempt
//! holds its lines; only the winner's are released to the sink, so `-v`
//! shows one coherent dialogue.

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
}

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
        }
    }

    /// Holds lines until [`Transcript::release`]; records nothing when
    /// `sink` is `None`.
    pub fn held(sink: Option<Arc<dyn Sink>>) -> Transcript {
        let held = sink.as_ref().map(|_| Vec::new());
        Transcript { sink, held }
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
        if self.sink.is_some() {
            self.record(String::from_utf8_lossy(bytes).into_owned());
        }
    }

    /// A command we sent (line end already removed).
    pub fn client(&mut self, bytes: &[u8]) {
        if self.sink.is_some() {
            self.record(format!(">>> {}", String::from_utf8_lossy(bytes)));
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
}
