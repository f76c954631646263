//! [`Error`]: what failed in a dialogue, where, and what the server said.
//!
//! Every error names the server (as the user gave it), the address when one
//! was involved, the phase, and the reply or the system error, so an applet
//! prints it as one line and decides its exit status from [`ErrorKind`].

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::auth::Mechanism;
use super::reply::Reply;

/// The step of the dialogue that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Name to addresses.
    Lookup,
    /// TCP connection.
    Connect,
    /// Reading the server's greeting.
    Greeting,
    /// `EHLO` and its reply.
    Ehlo,
    /// `HELO` and its reply (after EHLO was refused).
    Helo,
    /// `STARTTLS` and its reply.
    StartTls,
    /// The TLS handshake after `STARTTLS`.
    TlsHandshake,
    /// `AUTH` (RFC 4954) with this mechanism, its challenges and replies;
    /// `None` before one was chosen. Never names what was sent.
    Auth(Option<Mechanism>),
    /// Any other command, named by its text (`ETRN a.test`).
    Command(String),
    /// `QUIT` and its reply.
    Quit,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Lookup => f.write_str("lookup"),
            Phase::Connect => f.write_str("connect"),
            Phase::Greeting => f.write_str("greeting"),
            Phase::Ehlo => f.write_str("EHLO"),
            Phase::Helo => f.write_str("HELO"),
            Phase::StartTls => f.write_str("STARTTLS"),
            Phase::TlsHandshake => f.write_str("TLS handshake"),
            Phase::Auth(None) => f.write_str("AUTH"),
            Phase::Auth(Some(mechanism)) => write!(f, "AUTH {}", mechanism.name()),
            Phase::Command(command) => f.write_str(command),
            Phase::Quit => f.write_str("QUIT"),
        }
    }
}

/// What went wrong.
#[derive(Debug)]
pub enum ErrorKind {
    /// The name has no address, or the resolver failed.
    Lookup(String),
    /// A socket error (connection refused, reset...).
    Io(io::Error),
    /// The phase did not finish in time; carries the limit.
    TimedOut(Option<Duration>),
    /// The server closed the connection before replying.
    Closed,
    /// The server closed the connection in the middle of a reply.
    ClosedMidReply,
    /// The reply is longer than we accept.
    TooLong,
    /// The reply is not a well-formed SMTP reply.
    Malformed(String),
    /// A well-formed reply that is not the one needed to go on.
    Rejected(Reply),
    /// Bytes arrived between the `220` to STARTTLS and the TLS handshake
    /// (a response-injection attempt): never acted on.
    PlaintextAfterStartTls,
    /// TLS set-up or handshake failure (certificate, protocol).
    Tls(String),
    /// What the server offers or asks is not something we can go on
    /// with: no AUTH, none of our mechanisms, an AUTH challenge we cannot
    /// answer (or too many); says what.
    Unsupported(String),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Lookup(reason) => f.write_str(reason),
            ErrorKind::Io(err) => write!(f, "{err}"),
            ErrorKind::TimedOut(Some(limit)) => write!(f, "timed out after {limit:?}"),
            ErrorKind::TimedOut(None) => f.write_str("timed out"),
            ErrorKind::Closed => f.write_str("connection closed by the server"),
            ErrorKind::ClosedMidReply => f.write_str("connection closed in the middle of a reply"),
            ErrorKind::TooLong => f.write_str("reply too long"),
            ErrorKind::Malformed(reason) => write!(f, "malformed reply: {reason}"),
            ErrorKind::Rejected(reply) => write!(f, "{reply}"),
            ErrorKind::PlaintextAfterStartTls => {
                f.write_str("server sent data before the TLS handshake (possible injection)")
            }
            ErrorKind::Tls(reason) | ErrorKind::Unsupported(reason) => f.write_str(reason),
        }
    }
}

/// A failed dialogue step, with its context.
#[derive(Debug)]
pub struct Error {
    /// The server as the user named it.
    pub server: String,
    /// The address talked to, once there was one.
    pub address: Option<SocketAddr>,
    pub phase: Phase,
    pub kind: ErrorKind,
}

impl Error {
    /// What failed talking to `server` (as the user named it), at
    /// `address` once there was one, in `phase`.
    pub fn new(server: &str, address: Option<SocketAddr>, phase: Phase, kind: ErrorKind) -> Error {
        Error {
            server: server.to_owned(),
            address,
            phase,
            kind,
        }
    }

    /// The reply that caused the failure, if the server sent one.
    pub fn reply(&self) -> Option<&Reply> {
        match &self.kind {
            ErrorKind::Rejected(reply) => Some(reply),
            _ => None,
        }
    }

    /// Whether the server (or the path to it) may do better later:
    /// unreachable, timed out, closed, or a 4xx reply.
    pub fn is_transient(&self) -> bool {
        match &self.kind {
            ErrorKind::Rejected(reply) => reply.is_transient(),
            ErrorKind::Lookup(_)
            | ErrorKind::Io(_)
            | ErrorKind::TimedOut(_)
            | ErrorKind::Closed
            | ErrorKind::ClosedMidReply => true,
            _ => false,
        }
    }

    /// How much an error says about the server, to pick the one to report
    /// when all addresses of a host failed: a reply beats a broken dialogue,
    /// which beats a timeout, which beats a refused connection.
    pub(crate) fn telling(&self) -> u8 {
        match &self.kind {
            ErrorKind::Rejected(_) | ErrorKind::Unsupported(_) => 5,
            ErrorKind::PlaintextAfterStartTls | ErrorKind::Tls(_) => 4,
            ErrorKind::Malformed(_)
            | ErrorKind::TooLong
            | ErrorKind::Closed
            | ErrorKind::ClosedMidReply => 3,
            ErrorKind::TimedOut(_) => 2,
            ErrorKind::Io(_) => 1,
            ErrorKind::Lookup(_) => 0,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.server)?;
        if let Some(address) = self.address {
            write!(f, " ({address})")?;
        }
        write!(f, ": {}: {}", self.phase, self.kind)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_server_address_phase_and_reply() {
        let error = Error::new(
            "mx1.example",
            Some("192.0.2.1:25".parse().expect("literal")),
            Phase::Greeting,
            ErrorKind::Rejected(Reply {
                code: 554,
                text: "go away".into(),
            }),
        );
        assert_eq!(
            error.to_string(),
            "mx1.example (192.0.2.1:25): greeting: 554 go away"
        );
        assert!(!error.is_transient());
    }

    #[test]
    fn display_without_address() {
        let error = Error::new(
            "nowhere.invalid",
            None,
            Phase::Lookup,
            ErrorKind::Lookup("no address".into()),
        );
        assert_eq!(error.to_string(), "nowhere.invalid: lookup: no address");
        assert!(error.is_transient());
    }

    #[test]
    fn auth_phase_names_the_mechanism_only() {
        let error = Error::new(
            "mx1.example",
            Some("192.0.2.1:25".parse().expect("literal")),
            Phase::Auth(Some(Mechanism::Plain)),
            ErrorKind::Rejected(Reply {
                code: 535,
                text: "5.7.8 Authentication credentials invalid".into(),
            }),
        );
        assert_eq!(
            error.to_string(),
            "mx1.example (192.0.2.1:25): AUTH PLAIN: 535 5.7.8 Authentication credentials invalid"
        );
    }
}
