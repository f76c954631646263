//! [`Session`]: one SMTP dialogue with one server, phase by phase, every
//! wait under a deadline.
//!
//! Commands go through mail-send's `SmtpClient` (write, flush, read with
//! smtp-proto's parser) over a [`Wire`], which keeps the parser from
//! over-reading and checks every line's code. Each step maps mail-send's
//! coarse errors to an [`ErrorKind`] using what the wire saw (closed, cut
//! off, too long, malformed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mail_send::SmtpClient;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::auth::{AUTH_CONTINUE, AUTH_SUCCEEDED, CANCEL, MAX_CHALLENGES, Mechanism};
use super::error::{Error, ErrorKind, Phase};
use super::race::{CONNECTION_ATTEMPT_DELAY, race};
use super::reply::{OK, Reply, SERVICE_READY};
use super::resolve::{Host, interleave_families, resolve};
use super::stream::Stream;
use super::tls;
use super::transcript::{Sink, Transcript};
use super::wire::Wire;
use crate::secret::wipe_string;

type Client = SmtpClient<Wire<Stream>>;

/// How long [`Session::quit_briefly`] waits for the reply to QUIT.
const QUIT_GRACE: Duration = Duration::from_secs(2);

/// mail-send's own per-command timeout is switched off: every wait is
/// bounded here by [`Limits`] instead, so errors can name their phase.
const NO_CLIENT_TIMEOUT: Duration = Duration::MAX;

/// How long each wait of a dialogue may take.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// A deadline for the whole dialogue, lookup included.
    pub overall: Option<Instant>,
    /// A limit for each phase on its own (connect, greeting, each reply,
    /// TLS handshake); a timeout error names it.
    pub per_phase: Option<Duration>,
}

impl Limits {
    /// When the current phase must be done.
    pub fn deadline(&self) -> Option<Instant> {
        let phase_end = self.per_phase.map(|limit| Instant::now() + limit);
        match (self.overall, phase_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The limit to name in a timeout error.
    fn named_limit(&self) -> Option<Duration> {
        self.per_phase
    }
}

/// Runs `future` until `deadline`; `None` when the deadline passed first.
pub async fn within<F: Future>(deadline: Option<Instant>, future: F) -> Option<F::Output> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, future).await.ok(),
        None => Some(future.await),
    }
}

/// How STARTTLS failed (RFC 3207 §4).
pub enum StartTlsError {
    /// The server answered STARTTLS with another reply than `220`: the
    /// session goes on in plaintext, in command state.
    Refused(Box<Session>, Error),
    /// The reply did not come, or after the `220` the handshake failed or
    /// the server sent plaintext: the connection is of no more use (and,
    /// after a `220`, no plaintext QUIT is owed).
    Broken(Error),
}

/// What the server said to our hello.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hello {
    /// EHLO accepted, with smtp-proto's capability bits (`smtp_proto::EXT_*`)
    /// and the SASL mechanisms of its `AUTH` line (`smtp_proto::AUTH_*`).
    Extended {
        capabilities: u32,
        auth_mechanisms: u64,
    },
    /// EHLO refused, HELO accepted: no extensions are known to exist.
    Basic,
}

impl Hello {
    /// Whether the server advertised the extension `capability`.
    pub fn supports(&self, capability: u32) -> bool {
        match self {
            Hello::Extended { capabilities, .. } => capabilities & capability != 0,
            Hello::Basic => false,
        }
    }
}

/// An open dialogue that got past a `220` greeting.
pub struct Session {
    client: Client,
    server: String,
    address: SocketAddr,
    limits: Limits,
    /// The `220` greeting the server sent.
    greeting: Reply,
}

impl Session {
    /// Resolves `server`, then races its addresses (Happy Eyeballs) for the
    /// first that greets `220`. When all fail, returns the most telling
    /// failure (a reply beats a timeout, which beats a refused connection).
    pub async fn open(
        server: &str,
        port: u16,
        limits: Limits,
        sink: Option<Arc<dyn Sink>>,
    ) -> Result<Session, Error> {
        let addresses = lookup(server, port, limits).await?;
        let attempts = race(&addresses, CONNECTION_ATTEMPT_DELAY, |address| {
            Session::greet(server, address, limits, Transcript::held(sink.clone()))
        });
        match attempts.await {
            Ok(mut session) => {
                session.client.stream.transcript().release();
                Ok(session)
            }
            Err(failures) => Err(most_telling(failures)),
        }
    }

    /// Connects to one address and reads the greeting; anything but `220`
    /// gets a QUIT (RFC 5321 §3.1) and is returned as the error.
    pub async fn greet(
        server: &str,
        address: SocketAddr,
        limits: Limits,
        transcript: Transcript,
    ) -> Result<Session, Error> {
        let tcp = connect(server, address, limits).await?;
        Session::greet_over(server, tcp, address, limits, transcript).await
    }

    /// Reads the greeting on `tcp`, a connection [`connect`] made to
    /// `address` (nothing is written before it); anything but `220` gets a
    /// QUIT (RFC 5321 §3.1) and is returned as the error.
    pub async fn greet_over(
        server: &str,
        tcp: TcpStream,
        address: SocketAddr,
        limits: Limits,
        transcript: Transcript,
    ) -> Result<Session, Error> {
        let error = |kind| Error::new(server, Some(address), Phase::Greeting, kind);
        let mut client = SmtpClient {
            stream: Wire::new(Stream::Plain(tcp), transcript),
            timeout: NO_CLIENT_TIMEOUT,
        };
        let greeting = step(&mut client, limits, async |c: &mut Client| c.read().await)
            .await
            .map(Reply::from_response)
            .map_err(error)?;
        if greeting.code != SERVICE_READY {
            let session = Session {
                client,
                server: server.to_owned(),
                address,
                limits,
                greeting: greeting.clone(),
            };
            session.send_quit().await;
            return Err(error(ErrorKind::Rejected(greeting)));
        }
        Ok(Session {
            client,
            server: server.to_owned(),
            address,
            limits,
            greeting,
        })
    }

    /// The address this session talks to.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server's `220` greeting.
    pub fn greeting(&self) -> &Reply {
        &self.greeting
    }

    /// The TLS version in use (`TLSv1.3`), `None` before STARTTLS.
    pub fn tls_version(&self) -> Option<String> {
        let Stream::Tls(tls) = self.client.stream.inner() else {
            return None;
        };
        let version = tls.get_ref().1.protocol_version()?;
        Some(format!("{version:?}").replace('_', "."))
    }

    /// `EHLO name`; when refused with 5xx (RFC 5321 §3.2), `HELO name`.
    /// A 4xx to EHLO (such as 421) is an error, not hidden by HELO.
    pub async fn hello(&mut self, name: &str) -> Result<Hello, Error> {
        self.refuse_unsolicited(Phase::Ehlo)?;
        let ehlo = step(&mut self.client, self.limits, async |c: &mut Client| {
            c.ehlo(name).await
        })
        .await;
        match ehlo {
            Ok(response) => Ok(Hello::Extended {
                capabilities: response.capabilities,
                auth_mechanisms: response.auth_mechanisms,
            }),
            Err(ErrorKind::Rejected(reply)) if reply.code >= 500 => {
                let reply = self.exchange(Phase::Helo, &format!("HELO {name}")).await?;
                if reply.code == OK {
                    Ok(Hello::Basic)
                } else {
                    Err(self.error(Phase::Helo, ErrorKind::Rejected(reply)))
                }
            }
            Err(kind) => Err(self.error(Phase::Ehlo, kind)),
        }
    }

    /// Sends one command line (no line end) and returns whatever
    /// well-formed reply comes back; interpreting it is the caller's job.
    pub async fn command(&mut self, line: &str) -> Result<Reply, Error> {
        self.exchange(Phase::Command(line.to_owned()), line).await
    }

    /// `AUTH` with `mechanism` (RFC 4954): the initial response or the
    /// server's challenges answered by mail-send's `Credentials::encode`,
    /// until `235`. Any other reply is returned as the error
    /// ([`Phase::Auth`], never what was sent); a challenge we cannot
    /// answer, or too many, cancels the exchange (`*`) first. The
    /// transcript shows these lines redacted, and the lines sent are wiped
    /// from memory.
    pub async fn authenticate(
        &mut self,
        mechanism: Mechanism,
        login: &str,
        password: &str,
    ) -> Result<(), Error> {
        let phase = Phase::Auth(Some(mechanism));
        let credentials = mail_send::Credentials::new(login, password);
        let mut line = format!("AUTH {}", mechanism.name());
        if mechanism.has_initial_response() {
            let mut initial = credentials.encode(mechanism.bit(), "").unwrap_or_default();
            line.push(' ');
            line.push_str(&initial);
            wipe_string(&mut initial);
        }
        for _ in 0..=MAX_CHALLENGES {
            let reply = self.send_line(phase.clone(), &line).await;
            wipe_string(&mut line);
            let reply = reply?;
            match reply.code {
                AUTH_SUCCEEDED => return Ok(()),
                AUTH_CONTINUE => match credentials.encode(mechanism.bit(), &reply.message) {
                    Ok(answer) => line = answer,
                    Err(_) => {
                        return Err(self
                            .cancel_auth(phase, "a challenge we cannot answer")
                            .await);
                    }
                },
                _ => {
                    return Err(self.error(phase, ErrorKind::Rejected(Reply::from_response(reply))));
                }
            }
        }
        Err(self.cancel_auth(phase, "too many challenges").await)
    }

    /// Cancels an AUTH exchange (RFC 4954 §4: `*`, answered `501`); the
    /// error to report.
    async fn cancel_auth(&mut self, phase: Phase, why: &str) -> Error {
        let _ = self.send_line(phase.clone(), CANCEL).await;
        self.error(phase, ErrorKind::Unsupported(why.to_owned()))
    }

    /// `STARTTLS`, then the TLS handshake with `connector`, verifying the
    /// server name as `connector` was built to. Bytes the server sent
    /// before the handshake are refused, never parsed (response injection).
    /// The caller must say hello again: nothing from before TLS is kept.
    /// A reply other than `220` hands the session back, still in plaintext
    /// command state (RFC 3207 §4).
    pub async fn start_tls(mut self, connector: &TlsConnector) -> Result<Session, StartTlsError> {
        let broken = StartTlsError::Broken;
        let reply = self
            .exchange(Phase::StartTls, "STARTTLS")
            .await
            .map_err(broken)?;
        if reply.code != SERVICE_READY {
            let error = self.error(Phase::StartTls, ErrorKind::Rejected(reply));
            return Err(StartTlsError::Refused(Box::new(self), error));
        }
        if self.client.stream.has_buffered() {
            let injected = self.error(Phase::StartTls, ErrorKind::PlaintextAfterStartTls);
            return Err(broken(injected));
        }
        let Session {
            client,
            server,
            address,
            limits,
            greeting,
        } = self;
        let (stream, mut transcript) = client.stream.into_parts();
        let handshake_error = |kind| Error::new(&server, Some(address), Phase::TlsHandshake, kind);
        let Stream::Plain(tcp) = stream else {
            let active = ErrorKind::Tls("TLS is already active".to_owned());
            return Err(broken(handshake_error(active)));
        };
        let name = tls::server_name(&server, address.ip());
        let failed = match within(limits.deadline(), connector.connect(name, tcp)).await {
            Some(Ok(tls)) => {
                transcript.note(&describe_tls(&tls));
                return Ok(Session {
                    client: SmtpClient {
                        stream: Wire::new(Stream::Tls(Box::new(tls)), transcript),
                        timeout: NO_CLIENT_TIMEOUT,
                    },
                    server,
                    address,
                    limits,
                    greeting,
                });
            }
            Some(Err(err)) => ErrorKind::Tls(err.to_string()),
            None => ErrorKind::TimedOut(limits.named_limit()),
        };
        Err(broken(handshake_error(failed)))
    }

    /// `QUIT`, waiting for the reply within the limits; errors are of no
    /// consequence at this point and are ignored.
    pub async fn quit(mut self) {
        let _ = self.exchange(Phase::Quit, "QUIT").await;
        let _ = within(self.limits.deadline(), self.client.stream.shutdown()).await;
    }

    /// `QUIT` on the way out of a failure: waits at most [`QUIT_GRACE`]
    /// for the reply (the run's answer is known; the server only gets its
    /// goodbye).
    pub async fn quit_briefly(mut self) {
        let grace = Instant::now() + QUIT_GRACE;
        self.limits = Limits {
            overall: Some(self.limits.deadline().map_or(grace, |d| d.min(grace))),
            per_phase: None,
        };
        self.quit().await;
    }

    /// Writes `QUIT` without waiting for the reply (a probe that already
    /// has its answer).
    pub async fn send_quit(mut self) {
        let deadline = Some(Instant::now() + Duration::from_millis(100));
        let _ = within(deadline, self.client.stream.write_all(b"QUIT\r\n")).await;
    }

    async fn exchange(&mut self, phase: Phase, line: &str) -> Result<Reply, Error> {
        let response = self.send_line(phase, line).await?;
        Ok(Reply::from_response(response))
    }

    /// Sends one line and reads the reply as smtp-proto parsed it. The
    /// line as written is wiped from memory afterwards (it may be an AUTH
    /// secret).
    async fn send_line(
        &mut self,
        phase: Phase,
        line: &str,
    ) -> Result<smtp_proto::Response<String>, Error> {
        if line.contains(['\r', '\n']) {
            let kind = ErrorKind::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "command contains a line break",
            ));
            return Err(self.error(phase, kind));
        }
        self.refuse_unsolicited(phase.clone())?;
        let mut command = format!("{line}\r\n");
        let response = step(&mut self.client, self.limits, async |c: &mut Client| {
            c.cmd(command.as_bytes()).await
        })
        .await;
        wipe_string(&mut command);
        response.map_err(|kind| self.error(phase, kind))
    }

    /// A server speaks only in reply to a command (RFC 5321 §4.2, RFC 2920
    /// for pipelining). Lines it sent early would be read as the reply to
    /// our next command, so they are refused, as after STARTTLS.
    fn refuse_unsolicited(&self, phase: Phase) -> Result<(), Error> {
        if self.client.stream.has_buffered() {
            let kind = ErrorKind::Malformed("the server spoke before our command".to_owned());
            return Err(self.error(phase, kind));
        }
        Ok(())
    }

    fn error(&self, phase: Phase, kind: ErrorKind) -> Error {
        Error::new(&self.server, Some(self.address), phase, kind)
    }
}

/// Opens a TCP connection to `address` (of `server`, for errors) within
/// the limits.
pub async fn connect(
    server: &str,
    address: SocketAddr,
    limits: Limits,
) -> Result<TcpStream, Error> {
    let error = |kind| Error::new(server, Some(address), Phase::Connect, kind);
    match within(limits.deadline(), TcpStream::connect(address)).await {
        Some(Ok(tcp)) => {
            // Commands are whole lines written at once; don't let Nagle hold them.
            let _ = tcp.set_nodelay(true);
            Ok(tcp)
        }
        Some(Err(err)) => Err(error(ErrorKind::Io(err))),
        None => Err(error(ErrorKind::TimedOut(limits.named_limit()))),
    }
}

/// Resolves `server` within the limits, in RFC 8305 order.
pub async fn lookup(server: &str, port: u16, limits: Limits) -> Result<Vec<SocketAddr>, Error> {
    let error = |kind| Error::new(server, None, Phase::Lookup, kind);
    match within(limits.deadline(), resolve(&Host::parse(server), port)).await {
        Some(Ok(addresses)) => Ok(interleave_families(&addresses)),
        Some(Err(reason)) => Err(error(ErrorKind::Lookup(reason))),
        None => Err(error(ErrorKind::TimedOut(limits.named_limit()))),
    }
}

/// The failure to report for a host none of whose addresses worked.
pub fn most_telling(failures: Vec<Error>) -> Error {
    let mut best: Option<Error> = None;
    for failure in failures {
        if best
            .as_ref()
            .is_none_or(|b| failure.telling() > b.telling())
        {
            best = Some(failure);
        }
    }
    best.unwrap_or_else(|| {
        let no_address = ErrorKind::Lookup("no address".to_owned());
        Error::new("", None, Phase::Connect, no_address)
    })
}

/// Runs one mail-send operation within the limits and turns its coarse
/// error into what the wire actually saw.
async fn step<T>(
    client: &mut Client,
    limits: Limits,
    operation: impl AsyncFnOnce(&mut Client) -> mail_send::Result<T>,
) -> Result<T, ErrorKind> {
    let outcome = within(limits.deadline(), operation(&mut *client)).await;
    let wire = &mut client.stream;
    let unparseable = if wire.at_eof() {
        if wire.reply_started() {
            ErrorKind::ClosedMidReply
        } else {
            ErrorKind::Closed
        }
    } else if wire.reply_too_long() {
        ErrorKind::TooLong
    } else {
        ErrorKind::Malformed("not an SMTP reply".to_owned())
    };
    let codes = wire
        .finish_reply()
        .map_err(|err| ErrorKind::Malformed(err.to_string()));
    match outcome {
        None => Err(ErrorKind::TimedOut(limits.named_limit())),
        Some(Ok(value)) => codes.map(|()| value),
        Some(Err(mail_send::Error::Io(err))) => Err(ErrorKind::Io(err)),
        Some(Err(mail_send::Error::UnexpectedReply(response))) => {
            codes?;
            Err(ErrorKind::Rejected(Reply::from_response(response)))
        }
        Some(Err(_)) => match (&unparseable, codes) {
            (ErrorKind::Malformed(_), Err(code_error)) => Err(code_error),
            _ => Err(unparseable),
        },
    }
}

fn describe_tls(tls: &tokio_rustls::client::TlsStream<TcpStream>) -> String {
    let (_, connection) = tls.get_ref();
    let version = connection
        .protocol_version()
        .map_or("TLS".to_owned(), |v| format!("{v:?}"));
    let suite = connection
        .negotiated_cipher_suite()
        .map_or(String::new(), |s| format!(" {:?}", s.suite()));
    format!("TLS started: {version}{suite}")
}
