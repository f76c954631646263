//! One ETRN session with one server: greeting, EHLO (HELO fallback),
//! STARTTLS as the policy says, one `ETRN` per client in lockstep (RFC 2920:
//! ETRN is not pipelinable), every client asked even after a refusal, QUIT.

use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsConnector;

use super::verdict::Outcome;
use crate::smtp::reply::SERVICE_NOT_AVAILABLE;
use crate::smtp::tls::{self, TlsMode, TlsPolicy};
use crate::smtp::transcript::{Sink, Stdout};
use crate::smtp::{EXT_ETRN, EXT_STARTTLS, Error, ErrorKind, Hello, Limits, Phase, Session};

/// How to talk to the servers.
pub struct Settings {
    pub port: u16,
    /// Limit of each phase; `None`: no limit.
    pub timeout: Option<Duration>,
    /// Our name in EHLO/HELO.
    pub helo: String,
    pub tls: TlsPolicy,
    /// Built up front when `--ca-file` is given (a bad file is a usage
    /// error before anything is sent); otherwise built when first needed.
    pub ca_connector: Option<TlsConnector>,
    /// Show the dialogue on stdout (the legacy `-v`).
    pub verbose: bool,
}

impl Settings {
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
        tls::connector(&self.tls).map_err(|reason| Error {
            server: server.to_owned(),
            address: None,
            phase: Phase::TlsHandshake,
            kind: ErrorKind::Tls(reason),
        })
    }
}

/// Asks `server` to start delivering its queue for each of `clients`.
pub async fn flush(server: &str, clients: &[String], settings: &Settings) -> Outcome {
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
        return Outcome::NotSupported(why.to_owned());
    }
    let mut replies = Vec::with_capacity(clients.len());
    for client in clients {
        let command = format!("ETRN {client}");
        match session.command(&command).await {
            // RFC 5321 §3.8: 421 means the server is closing the channel;
            // report it rather than the failure of the next command.
            Ok(reply) if reply.code == SERVICE_NOT_AVAILABLE => {
                return Outcome::Unreachable(Error {
                    server: server.to_owned(),
                    address: Some(session.address()),
                    phase: Phase::Command(command),
                    kind: ErrorKind::Rejected(reply),
                });
            }
            Ok(reply) => replies.push((client.clone(), reply)),
            Err(error) => return Outcome::Unreachable(error),
        }
    }
    session.quit().await;
    Outcome::Asked(replies)
}

/// A greeted session after hello, with TLS when the policy asks for it.
async fn open(server: &str, settings: &Settings) -> Result<(Session, Hello), Outcome> {
    let (session, hello) = open_plain(server, settings).await?;
    let mode = settings.tls.mode;
    if mode == TlsMode::Off {
        return Ok((session, hello));
    }
    if !hello.supports(EXT_STARTTLS) {
        if mode == TlsMode::Require {
            let error = Error {
                server: server.to_owned(),
                address: Some(session.address()),
                phase: Phase::StartTls,
                kind: ErrorKind::Tls("STARTTLS is not offered, and TLS is required".to_owned()),
            };
            session.quit().await;
            return Err(Outcome::Unreachable(error));
        }
        return Ok((session, hello));
    }
    let upgraded = match settings.connector(server) {
        Ok(connector) => session.start_tls(&connector).await,
        Err(error) => Err(error),
    };
    match upgraded {
        Ok(mut secure) => {
            let hello = say_hello(&mut secure, settings).await?;
            Ok((secure, hello))
        }
        Err(error) if mode == TlsMode::Require => Err(Outcome::Unreachable(error)),
        Err(error) => {
            crate::say!("etrn: {error}; continuing without TLS in a new session");
            open_plain(server, settings).await
        }
    }
}

async fn open_plain(server: &str, settings: &Settings) -> Result<(Session, Hello), Outcome> {
    let sink = settings.verbose.then(|| Arc::new(Stdout) as Arc<dyn Sink>);
    let mut session = Session::open(server, settings.port, settings.limits(), sink)
        .await
        .map_err(Outcome::Unreachable)?;
    let hello = say_hello(&mut session, settings).await?;
    Ok((session, hello))
}

/// EHLO (or HELO): a 5xx refusal means the server answered and said no;
/// anything else (421, timeout, closed) means it is not available.
async fn say_hello(session: &mut Session, settings: &Settings) -> Result<Hello, Outcome> {
    session
        .hello(&settings.helo)
        .await
        .map_err(|error| match error.reply() {
            Some(reply) if reply.code >= 500 => Outcome::HelloRefused(error),
            _ => Outcome::Unreachable(error),
        })
}
