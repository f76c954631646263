//! One ETRN session with one server: greeting, EHLO (HELO fallback),
//! STARTTLS as the policy says, one `ETRN` per client in lockstep (RFC 2920:
//! ETRN is not pipelinable), every client asked even after a refusal, QUIT.

use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsConnector;

use super::verdict::SessionOutcome;
use crate::names::{EtrnArgument, HostName};
use crate::report::Reporter;
use crate::smtp::reply::SERVICE_NOT_AVAILABLE;
use crate::smtp::session::StartTlsError;
use crate::smtp::tls::{self, TlsMode, TlsPolicy};
use crate::smtp::transcript::Sink;
use crate::smtp::{EXT_STARTTLS, Error, ErrorKind, Hello, Limits, Phase, Session};

/// RFC 1985 §3: the EHLO keyword that advertises ETRN.
const EXT_ETRN: u32 = smtp_proto::EXT_ETRN;

/// How to talk to the servers.
pub struct SessionSettings {
    pub port: u16,
    /// Limit of each phase; `None`: no limit.
    pub timeout: Option<Duration>,
    /// Our name in EHLO/HELO.
    pub helo: String,
    pub tls: TlsPolicy,
    /// Built up front when `--ca-file` is given (a bad file is a usage
    /// error before anything is sent); otherwise built when first needed.
    pub ca_connector: Option<TlsConnector>,
    /// Where warnings go; with `-v` the dialogue too (on stdout, the
    /// legacy place).
    pub reporter: Reporter,
}

impl SessionSettings {
    fn limits(&self) -> Limits {
        Limits {
            overall: None,
            per_phase: self.timeout,
        }
    }

    fn connector(&self, server: &str) -> Result<TlsConnector, Error> {
        if let Some(connector) = &self.ca_connector {
            return Ok(connector.clone());
        }
        tls::connector(&self.tls)
            .map_err(|reason| Error::new(server, None, Phase::TlsHandshake, ErrorKind::Tls(reason)))
    }

    /// The `-v` transcript's sink.
    fn transcript(&self) -> Option<Arc<dyn Sink>> {
        let reporter = &self.reporter;
        reporter
            .is_verbose()
            .then(|| Arc::new(reporter.clone()) as Arc<dyn Sink>)
    }
}

/// Asks `server` to start delivering its queue for each of `clients`.
pub async fn flush(
    server: &HostName,
    clients: &[EtrnArgument],
    settings: &SessionSettings,
) -> SessionOutcome {
    let server: &str = server;
    let (mut session, hello) = match open(server, settings).await {
        Ok(opened) => opened,
        Err(outcome) => return outcome,
    };
    if !hello.supports(EXT_ETRN) {
        session.quit().await;
        let why = match hello {
            Hello::Basic => "the server refused EHLO and only speaks HELO",
            Hello::Extended { .. } => "ETRN is not in the EHLO reply",
        };
        return SessionOutcome::NotSupported(why.to_owned());
    }
    let mut replies = Vec::with_capacity(clients.len());
    for client in clients {
        let command = format!("ETRN {client}");
        match session.command(&command).await {
            // RFC 5321 §3.8: 421 means the server is closing the channel;
            // report it rather than the failure of the next command.
            Ok(reply) if reply.code == SERVICE_NOT_AVAILABLE => {
                let address = Some(session.address());
                let closing = ErrorKind::Rejected(reply);
                let error = Error::new(server, address, Phase::Command(command), closing);
                return SessionOutcome::Unreachable(error);
            }
            Ok(reply) => replies.push((client.clone(), reply)),
            Err(error) => return SessionOutcome::Unreachable(error),
        }
    }
    session.quit().await;
    SessionOutcome::Asked(replies)
}

/// A greeted session after hello, with TLS when the policy asks for it.
async fn open(
    server: &str,
    settings: &SessionSettings,
) -> Result<(Session, Hello), SessionOutcome> {
    let (session, hello) = open_plain(server, settings).await?;
    let mode = settings.tls.mode;
    if mode == TlsMode::Off {
        return Ok((session, hello));
    }
    if !hello.supports(EXT_STARTTLS) {
        if mode == TlsMode::Require {
            let missing = ErrorKind::Tls("STARTTLS is not offered, and TLS is required".to_owned());
            let error = Error::new(server, Some(session.address()), Phase::StartTls, missing);
            session.quit().await;
            return Err(SessionOutcome::Unreachable(error));
        }
        return Ok((session, hello));
    }
    let connector = match settings.connector(server) {
        Ok(connector) => connector,
        // Nothing was sent: as if the server had refused STARTTLS.
        Err(error) => return without_tls(session, hello, error, settings).await,
    };
    match session.start_tls(&connector).await {
        Ok(mut secure) => {
            let hello = say_hello(&mut secure, settings).await?;
            Ok((secure, hello))
        }
        Err(StartTlsError::Refused(session, error)) => {
            without_tls(*session, hello, error, settings).await
        }
        Err(StartTlsError::Broken(error)) if mode == TlsMode::Require => {
            Err(SessionOutcome::Unreachable(error))
        }
        Err(StartTlsError::Broken(error)) => {
            // The connection is spent (a handshake began, or the server
            // broke off): only a new one can go on in plaintext.
            let reporter = &settings.reporter;
            reporter.warning(format_args!(
                "{error}; continuing without TLS in a new session"
            ));
            open_plain(server, settings).await
        }
    }
}

/// STARTTLS refused, or not possible, before any TLS byte: the session is
/// still in plaintext command state (RFC 3207 §4). Opportunistic TLS goes
/// on in it; required TLS says QUIT first (RFC 5321 §3.8: never just
/// close) and fails.
async fn without_tls(
    session: Session,
    hello: Hello,
    error: Error,
    settings: &SessionSettings,
) -> Result<(Session, Hello), SessionOutcome> {
    if settings.tls.mode == TlsMode::Require {
        session.quit_briefly().await;
        return Err(SessionOutcome::Unreachable(error));
    }
    let reporter = &settings.reporter;
    reporter.warning(format_args!("{error}; continuing without TLS"));
    Ok((session, hello))
}

async fn open_plain(
    server: &str,
    settings: &SessionSettings,
) -> Result<(Session, Hello), SessionOutcome> {
    let sink = settings.transcript();
    let mut session = Session::open(server, settings.port, settings.limits(), sink)
        .await
        .map_err(SessionOutcome::Unreachable)?;
    let hello = say_hello(&mut session, settings).await?;
    Ok((session, hello))
}

/// EHLO (or HELO): a 5xx refusal means the server answered and said no;
/// anything else (421, timeout, closed) means it is not available.
async fn say_hello(
    session: &mut Session,
    settings: &SessionSettings,
) -> Result<Hello, SessionOutcome> {
    session
        .hello(&settings.helo)
        .await
        .map_err(|error| match error.reply() {
            Some(reply) if reply.code >= 500 => SessionOutcome::HelloRefused(error),
            _ => SessionOutcome::Unreachable(error),
        })
}
