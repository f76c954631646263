//! The STARTTLS test server of the etrn and hostile tests: an SMTP server
//! on 127.0.0.1 that greets, offers STARTTLS and ETRN, and after STARTTLS
//! does what its [`StartTls`] behaviour says: a real handshake, or one of
//! the ways a broken or hostile server spoils it.
//!
//! With an [`Auth`] it also offers SMTP AUTH (RFC 4954): PLAIN, LOGIN and
//! CRAM-MD5 exchanges with fixed challenges, ending as the [`Auth`] says,
//! and ETRN before a successful AUTH is answered `530`.
//!
//! Besides client lines it logs events, as lines starting with `*`:
//! `*PIPELINED-BEFORE-TLS` (bytes came after STARTTLS before our answer),
//! `*CLIENTHELLO`, `*GARBAGE-SENT`, `*TLS-OK`, `*TLS-FAILED ...`,
//! `*AUTH-DROPPED` (the connection closed after an AUTH exchange) and
//! `*PARTIAL N bytes` (an unfinished line when the client left).

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::SERVER_LIFETIME;
use super::conn::{Conn, Flow, Input};
use super::server::{Handler, TestServer};
use super::tls::{Pki, handshake};

/// What the server does when the client sends STARTTLS.
#[derive(Clone)]
pub enum StartTls {
    /// Answers `220` and does a real TLS handshake with this PKI's server
    /// certificate, then serves the dialogue over TLS.
    Handshake(Pki),
    /// Answers `220` and a forged `250 injected` in ONE write, then does a
    /// real handshake: a client that acted on the forged line would succeed.
    InjectThenHandshake(Pki),
    /// Answers `220` and a forged `250 injected` in one write, then only
    /// logs.
    Inject,
    /// Answers `220`, waits (5 s at most) for the ClientHello, then answers
    /// it with bytes that are not TLS, and logs any further line.
    Garbage,
    /// Answers `220`, then never answers the ClientHello.
    Stall,
    /// Never answers STARTTLS (logs whatever else comes).
    Mute,
}

impl StartTls {
    /// The PKI whose CA signed the server certificate, if there is one.
    pub fn pki(&self) -> Option<&Pki> {
        match self {
            StartTls::Handshake(pki) | StartTls::InjectThenHandshake(pki) => Some(pki),
            _ => None,
        }
    }
}

/// How the STARTTLS server answers AUTH (RFC 4954).
#[derive(Clone, Debug)]
pub struct Auth {
    /// The mechanisms of the EHLO `AUTH` line, e.g. `"PLAIN LOGIN"`.
    pub mechanisms: &'static str,
    /// Whether AUTH is offered before TLS too (else only over TLS).
    pub before_tls: bool,
    /// What ends a complete exchange.
    pub outcome: AuthOutcome,
}

/// What the server does once the client has answered every challenge.
#[derive(Clone, Debug)]
pub enum AuthOutcome {
    /// `235 2.7.0 Authentication successful`; ETRN is accepted after it.
    Accept,
    /// This reply line (`535 5.7.8 ...`), and the session goes on.
    Reply(&'static str),
    /// Closes the connection without a reply.
    Drop,
}

/// The CRAM-MD5 challenge (RFC 2195's form), base64 of
/// `<1896.697170952@tls.test>`.
pub const CRAM_MD5_CHALLENGE: &str = "PDE4OTYuNjk3MTcwOTUyQHRscy50ZXN0Pg==";
/// LOGIN's prompts, base64 of `Username:` and `Password:`.
pub const LOGIN_PROMPTS: [&str; 2] = ["VXNlcm5hbWU6", "UGFzc3dvcmQ6"];

const READY: &[u8] = b"220 2.0.0 Ready to start TLS\r\n";
const READY_AND_INJECTED: &[u8] = b"220 2.0.0 Ready to start TLS\r\n250 injected\r\n";
const GARBAGE: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\r\nthis is not TLS at all\r\n";

impl TestServer {
    /// An SMTP server on 127.0.0.1 that offers STARTTLS and ETRN and
    /// behaves as `behaviour` says after STARTTLS (see [`StartTls`]).
    pub fn starttls(behaviour: StartTls) -> TestServer {
        Self::starttls_with(behaviour, None)
    }

    /// [`TestServer::starttls`] that also offers AUTH as `auth` says.
    pub fn starttls_with(behaviour: StartTls, auth: Option<Auth>) -> TestServer {
        let handler: Arc<Handler> =
            Arc::new(move |conn| serve_starttls(conn, &behaviour, auth.as_ref()));
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::serve(addr, SERVER_LIFETIME, handler).expect("start a STARTTLS server on 127.0.0.1")
    }
}

fn serve_starttls(mut conn: Conn<TcpStream>, behaviour: &StartTls, auth: Option<&Auth>) {
    if conn.write(b"220 tls.test ESMTP\r\n") == Flow::Done || !conn.smtp_until_starttls(auth) {
        return;
    }
    if !conn.buf.is_empty() {
        conn.record("*PIPELINED-BEFORE-TLS");
    }
    let answer = match behaviour {
        StartTls::Mute => b"".as_slice(),
        StartTls::Inject | StartTls::InjectThenHandshake(_) => READY_AND_INJECTED,
        StartTls::Handshake(_) | StartTls::Garbage | StartTls::Stall => READY,
    };
    if conn.write(answer) == Flow::Done {
        return;
    }
    match behaviour {
        StartTls::Mute | StartTls::Inject => {
            let end = conn.log_lines();
            conn.log_end(end);
        }
        StartTls::Stall => {
            conn.skip_input(conn.shared.deadline, false);
        }
        StartTls::Garbage => {
            if conn.skip_input(Instant::now() + Duration::from_secs(5), true) {
                conn.record("*CLIENTHELLO");
                if conn.write(GARBAGE) == Flow::Continue {
                    conn.record("*GARBAGE-SENT");
                }
                // Not the end: the TLS alert the client sends as it gives
                // up is no line, and no sign of a fault.
                conn.log_lines();
            }
        }
        StartTls::Handshake(pki) | StartTls::InjectThenHandshake(pki) => over_tls(conn, pki, auth),
    }
}

/// The server side of the TLS handshake, then the dialogue over TLS.
fn over_tls(conn: Conn<TcpStream>, pki: &Pki, auth: Option<&Auth>) {
    let Conn {
        stream,
        number,
        shared,
        ..
    } = conn;
    match handshake(&pki.config, stream, || shared.alive()) {
        Ok(stream) => {
            let mut conn = Conn::over(stream, number, true, shared);
            conn.record("*TLS-OK");
            conn.smtp_until_starttls(auth);
        }
        Err(Some(why)) => shared.record(number, false, &format!("*{why}")),
        Err(None) => {}
    }
}

impl<S: std::io::Read + std::io::Write> Conn<S> {
    /// Answers EHLO, HELO, AUTH (with `auth`), ETRN and QUIT (STARTTLS is
    /// offered in plaintext only); true when the client sent STARTTLS in
    /// plaintext.
    fn smtp_until_starttls(&mut self, auth: Option<&Auth>) -> bool {
        let offered = auth.filter(|auth| self.tls || auth.before_tls);
        let mut authenticated = false;
        loop {
            let text = match self.read_line(self.shared.deadline) {
                Input::Line(text) => text,
                end => return self.log_end(end),
            };
            self.record(&text);
            let verb = text.to_ascii_uppercase();
            let answer: Vec<u8> = if verb.starts_with("EHLO") {
                let mut lines = String::from("250-tls.test\r\n");
                if !self.tls {
                    lines.push_str("250-STARTTLS\r\n");
                }
                if let Some(auth) = offered {
                    lines.push_str(&format!("250-AUTH {}\r\n", auth.mechanisms));
                }
                lines.push_str("250 ETRN\r\n");
                lines.into_bytes()
            } else if verb.starts_with("HELO") {
                b"250 tls.test\r\n".to_vec()
            } else if verb.starts_with("STARTTLS") && !self.tls {
                return true;
            } else if verb.starts_with("STARTTLS") {
                b"503 5.5.1 STARTTLS not available now\r\n".to_vec()
            } else if let (Some(auth), true) = (offered, verb.starts_with("AUTH ")) {
                match self.auth_exchange(&verb, auth) {
                    Some(reply) => {
                        authenticated = matches!(auth.outcome, AuthOutcome::Accept);
                        reply
                    }
                    None => return false,
                }
            } else if verb.starts_with("ETRN") && auth.is_some() && !authenticated {
                b"530 5.7.0 Authentication required\r\n".to_vec()
            } else if verb.starts_with("ETRN") {
                b"250 Queuing started\r\n".to_vec()
            } else if verb.starts_with("QUIT") {
                self.write(b"221 2.0.0 bye\r\n");
                return false;
            } else {
                b"500 5.5.1 unrecognized\r\n".to_vec()
            };
            if self.write(&answer) == Flow::Done {
                return false;
            }
        }
    }

    /// The challenges of the mechanism on the `AUTH` line `verb`, each
    /// answer logged; then the final reply, or `None` when the connection
    /// is over (dropped as `auth` says, or the client left).
    fn auth_exchange(&mut self, verb: &str, auth: &Auth) -> Option<Vec<u8>> {
        let mut words = verb.split_whitespace().skip(1);
        let mechanism = words.next().unwrap_or_default();
        let has_initial = words.next().is_some();
        let challenges: Vec<&str> = match mechanism {
            "PLAIN" if has_initial => vec![],
            "PLAIN" => vec![""],
            "LOGIN" => LOGIN_PROMPTS.to_vec(),
            "CRAM-MD5" => vec![CRAM_MD5_CHALLENGE],
            _ => return Some(b"504 5.5.4 Unrecognized authentication type\r\n".to_vec()),
        };
        for challenge in challenges {
            if self.write(format!("334 {challenge}\r\n").as_bytes()) == Flow::Done {
                return None;
            }
            match self.read_line(self.shared.deadline) {
                Input::Line(text) => self.record(&text),
                end => {
                    self.log_end(end);
                    return None;
                }
            }
        }
        match auth.outcome {
            AuthOutcome::Accept => Some(b"235 2.7.0 Authentication successful\r\n".to_vec()),
            AuthOutcome::Reply(line) => Some(format!("{line}\r\n").into_bytes()),
            AuthOutcome::Drop => {
                self.record("*AUTH-DROPPED");
                None
            }
        }
    }

    /// Logs every further line until the client leaves; how it left.
    fn log_lines(&mut self) -> Input {
        loop {
            match self.read_line(self.shared.deadline) {
                Input::Line(text) => self.record(&text),
                end => return end,
            }
        }
    }

    /// Logs the size of a line the client left unfinished; always false
    /// (the dialogue is over).
    fn log_end(&self, end: Input) -> bool {
        match end {
            Input::Closed(rest) if !rest.is_empty() => {
                self.record(&format!("*PARTIAL {} bytes", rest.len()));
            }
            Input::Overlong(n) => self.record(&format!("*PARTIAL {n} bytes")),
            _ => {}
        }
        false
    }
}
