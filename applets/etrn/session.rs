//! One ETRN session with one server: greeting, EHLO (HELO fallback),
//! STARTTLS as the policy says, AUTH when there are credentials for the
//! server (then STARTTLS is required unless `--auth-plaintext`), one `ETRN`
//! per client in lockstep (RFC 2920: ETRN is not pipelinable), every client
//! asked even after a refusal, QUIT.

use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsConnector;

use super::verdict::SessionOutcome;
use crate::names::{EtrnArgument, HostName};
use crate::netrc::{Entry, Netrc};
use crate::report::Reporter;
use crate::smtp::auth::{self, Choice, Mechanism};
use crate::smtp::reply::SERVICE_NOT_AVAILABLE;
use crate::smtp::session::StartTlsError;
use crate::smtp::tls::{self, TlsMode, TlsPolicy};
use crate::smtp::transcript::Sink;
use crate::smtp::{EXT_AUTH, EXT_STARTTLS, Error, ErrorKind, Hello, Limits, Phase, Session};

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
    /// The credentials file's entries (each with a login and a password).
    pub credentials: Option<Netrc>,
    /// `--auth-plaintext`: AUTH without required TLS.
    pub auth_plaintext: bool,
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

    /// The TLS connector for `mode`: verifying (with the `--ca-file`
    /// roots, else the system's) when TLS is required, else not.
    fn connector(&self, server: &str, mode: TlsMode) -> Result<TlsConnector, Error> {
        if let (TlsMode::Require, Some(connector)) = (mode, &self.ca_connector) {
            return Ok(connector.clone());
        }
        let policy = TlsPolicy {
            mode,
            ca_file: None,
        };
        tls::connector(&policy)
            .map_err(|reason| Error::new(server, None, Phase::TlsHandshake, ErrorKind::Tls(reason)))
    }

    /// The credentials for `server` (as the user named it), if any.
    fn login_for(&self, server: &str) -> Option<&Entry> {
        self.credentials.as_ref()?.lookup(server)
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
    let login = settings.login_for(server);
    let mode = tls_mode_for(settings.tls.mode, login.is_some(), settings.auth_plaintext);
    let (mut session, hello) = match open(server, settings, mode).await {
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
    if let Some(login) = login {
        session = match log_in(server, session, hello, login).await {
            Ok(session) => session,
            Err(outcome) => return outcome,
        };
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

/// The STARTTLS mode for one server: required when there are credentials
/// for it (AUTH only inside verified TLS) unless `--auth-plaintext`; else
/// the mode of the command line.
pub fn tls_mode_for(mode: TlsMode, has_credentials: bool, auth_plaintext: bool) -> TlsMode {
    if has_credentials && !auth_plaintext {
        TlsMode::Require
    } else {
        mode
    }
}

/// AUTH with the strongest mechanism both sides speak (RFC 4954), after
/// the last EHLO (`hello`: after TLS when there was TLS). A server that
/// offers no usable mechanism, or refuses, gets QUIT and no ETRN; one
/// that broke off or went silent gets nothing more.
async fn log_in(
    server: &str,
    mut session: Session,
    hello: Hello,
    login: &Entry,
) -> Result<Session, SessionOutcome> {
    let (keyword, offered) = match hello {
        Hello::Extended {
            auth_mechanisms, ..
        } => (hello.supports(EXT_AUTH), auth_mechanisms),
        Hello::Basic => (false, 0),
    };
    let mechanism = match auth::choose(keyword, offered) {
        Choice::Use(mechanism) => mechanism,
        Choice::NotOffered => {
            let why = "the server does not offer AUTH (not in the EHLO reply)".to_owned();
            return Err(without_auth(server, session, why).await);
        }
        Choice::NoCommonMechanism => {
            let names = Mechanism::PREFERENCE.map(Mechanism::name).join(", ");
            let why =
                format!("the server offers AUTH with none of the mechanisms etrn speaks ({names})");
            return Err(without_auth(server, session, why).await);
        }
    };
    let user = login.login.as_deref().unwrap_or_default();
    let password = login.password.as_ref().map_or("", |p| p.expose());
    match session.authenticate(mechanism, user, password).await {
        Ok(()) => Ok(session),
        Err(error) => match error.kind {
            // The server answered, and not as we need: refused (1).
            // A broken reply is a broken dialogue, as in every phase (3).
            ErrorKind::Rejected(_) | ErrorKind::Unsupported(_) => {
                session.quit_briefly().await;
                Err(SessionOutcome::AuthFailed(error))
            }
            _ => Err(SessionOutcome::Unreachable(error)),
        },
    }
}

/// No AUTH possible (`why`): QUIT, and the outcome that says why.
async fn without_auth(server: &str, session: Session, why: String) -> SessionOutcome {
    let address = Some(session.address());
    let error = Error::new(
        server,
        address,
        Phase::Auth(None),
        ErrorKind::Unsupported(why),
    );
    session.quit().await;
    SessionOutcome::AuthFailed(error)
}

/// A greeted session after hello, with TLS when `mode` asks for it.
async fn open(
    server: &str,
    settings: &SessionSettings,
    mode: TlsMode,
) -> Result<(Session, Hello), SessionOutcome> {
    let (session, hello) = open_plain(server, settings).await?;
    if mode == TlsMode::Off {
        return Ok((session, hello));
    }
    if !hello.supports(EXT_STARTTLS) {
        if mode == TlsMode::Require {
            let why = if settings.tls.mode == TlsMode::Require {
                "STARTTLS is not offered, and TLS is required"
            } else {
                "STARTTLS is not offered, and TLS is required before AUTH (see --auth-plaintext)"
            };
            let missing = ErrorKind::Tls(why.to_owned());
            let error = Error::new(server, Some(session.address()), Phase::StartTls, missing);
            session.quit().await;
            return Err(SessionOutcome::Unreachable(error));
        }
        return Ok((session, hello));
    }
    let connector = match settings.connector(server, mode) {
        Ok(connector) => connector,
        // Nothing was sent: as if the server had refused STARTTLS.
        Err(error) => return without_tls(session, hello, error, mode, settings).await,
    };
    match session.start_tls(&connector).await {
        Ok(mut secure) => {
            let hello = say_hello(&mut secure, settings).await?;
            Ok((secure, hello))
        }
        Err(StartTlsError::Refused(session, error)) => {
            without_tls(*session, hello, error, mode, settings).await
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
    mode: TlsMode,
    settings: &SessionSettings,
) -> Result<(Session, Hello), SessionOutcome> {
    if mode == TlsMode::Require {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_make_tls_required_unless_auth_plaintext() {
        use TlsMode::{Off, Opportunistic, Require};
        let cases = [
            // (command line, credentials, --auth-plaintext) -> mode
            ((Opportunistic, false, false), Opportunistic),
            ((Off, false, false), Off),
            ((Opportunistic, true, false), Require),
            ((Off, true, false), Require),
            ((Require, true, false), Require),
            ((Opportunistic, true, true), Opportunistic),
            ((Off, true, true), Off),
            ((Require, true, true), Require),
        ];
        for ((mode, credentials, plaintext), wanted) in cases {
            assert_eq!(
                tls_mode_for(mode, credentials, plaintext),
                wanted,
                "{mode:?}"
            );
        }
    }
}
