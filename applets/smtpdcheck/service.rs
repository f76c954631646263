//! `smtpdcheck --postfix-policy`: the Postfix policy service. spawn(8)
//! connects stdin, stdout and stderr to one smtpd connection, which sends
//! request after request until it closes (it may stay idle for hours).
//!
//! Each RCPT request is decided as `--mx` decides for the recipient's
//! domain: a more preferred MX that is up gets `DEFER_IF_PERMIT` naming
//! it, anything else `DUNNO`. It fails open: a lookup error, a timeout or
//! any trouble of ours is `DUNNO`, within `--timeout` of the request. MX
//! answers are kept in memory for their TTL, probe results as the cache
//! says (shared on disk with other processes). Nothing goes to stderr
//! (it is the peer): the reporter logs to syslog. A malformed request
//! closes the connection unanswered, as SMTPD_POLICY_README asks; smtpd
//! then applies its `default_action`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::time::Instant;

use super::cache::{self, Cache};
use super::decide::Verdict;
use super::policy::{Action, MAX_REQUEST_BYTES, Request, next_request};
use super::probe::{self, ProbeSettings, Stop};
use super::servers::Server;
use crate::names::HostName;
use crate::report::Reporter;
use crate::smtp::mx::{self, Exchange, MailServers};
use crate::smtp::session::within;

/// The most domains whose MX answers are kept in memory.
const MAX_MX_ANSWERS: usize = 4096;
/// How long an implicit or null MX answer is kept (no MX TTL to go by).
const NO_MX_TTL: Duration = Duration::from_secs(60);
/// The longest an MX answer is kept, whatever its TTL.
const MAX_MX_TTL: Duration = Duration::from_secs(3600);
/// How long an MX host's addresses are kept (getaddrinfo gives no TTL;
/// a renumbered MX is noticed within this).
const ADDRESS_TTL: Duration = Duration::from_secs(60);
/// How much is read from the connection at once.
const READ_CHUNK: usize = 16 * 1024;

/// What the service needs from the command line.
pub struct ServiceSettings {
    pub probe: ProbeSettings,
    /// `--stop`, when given.
    pub stop: Option<HostName>,
    /// Where the shared cache file is, unless `--no-cache`.
    pub cache_path: Option<PathBuf>,
}

/// Serves requests on stdin/stdout until the peer closes the connection
/// or sends a malformed request; returns when done.
pub async fn serve(settings: &ServiceSettings, mut cache: Cache, reporter: &Reporter) {
    let (mut input, mut output) = match standard_streams() {
        Ok(streams) => streams,
        Err(err) => {
            reporter.error(format_args!("cannot use stdin/stdout: {err}"));
            return;
        }
    };
    let mut service = Service {
        settings,
        cache: &mut cache,
        mx_answers: HashMap::new(),
        addresses: HashMap::new(),
        reporter,
    };
    let mut buffer: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut answers = String::new();
    loop {
        // Answer every whole request received, then write them at once.
        let mut start = 0;
        answers.clear();
        loop {
            match next_request(&buffer[start..]) {
                Ok(Some((request, used))) => {
                    start += used;
                    service.answer(&request).await.render_into(&mut answers);
                }
                Ok(None) => break,
                Err(error) => {
                    // The requests before it are answered all the same.
                    let _ = output.write_all(answers.as_bytes()).await;
                    let _ = output.flush().await;
                    reporter.error(format_args!(
                        "malformed request, connection closed: {error}"
                    ));
                    return;
                }
            }
        }
        buffer.drain(..start);
        if !answers.is_empty()
            && (output.write_all(answers.as_bytes()).await.is_err()
                || output.flush().await.is_err())
        {
            return; // the peer is gone
        }
        let read = match input.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                if !buffer.iter().all(u8::is_ascii_whitespace) {
                    reporter.error("connection closed inside a request");
                }
                return;
            }
            Ok(read) => read,
        };
        buffer.extend_from_slice(&chunk[..read]);
        if buffer.len() > MAX_REQUEST_BYTES + READ_CHUNK {
            reporter.error("malformed request, connection closed: request too large");
            return;
        }
    }
}

/// Where requests come from.
type Input = Pin<Box<dyn AsyncRead + Send>>;
/// Where answers go.
type Output = Pin<Box<dyn AsyncWrite + Send>>;

/// stdin and stdout as async streams: a socket (as spawn(8) gives them)
/// or a pipe straight on the runtime, anything else (a file, a terminal)
/// through tokio's stdio and its blocking thread.
fn standard_streams() -> std::io::Result<(Input, Output)> {
    let input: Input = match kind_of(0) {
        Kind::Socket => Box::pin(unix_stream(duplicate(0)?)?),
        Kind::Pipe => Box::pin(pipe::Receiver::from_owned_fd(duplicate(0)?)?),
        Kind::Other => Box::pin(tokio::io::stdin()),
    };
    let output: Output = match kind_of(1) {
        Kind::Socket => Box::pin(unix_stream(duplicate(1)?)?),
        Kind::Pipe => Box::pin(pipe::Sender::from_owned_fd(duplicate(1)?)?),
        Kind::Other => Box::pin(tokio::io::stdout()),
    };
    Ok((input, output))
}

/// What a standard descriptor is connected to.
enum Kind {
    Socket,
    Pipe,
    Other,
}

fn kind_of(fd: i32) -> Kind {
    // SAFETY: fstat of a descriptor into a zeroed stat buffer.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut stat) } != 0 {
        return Kind::Other;
    }
    match stat.st_mode & libc::S_IFMT {
        libc::S_IFSOCK => Kind::Socket,
        libc::S_IFIFO => Kind::Pipe,
        _ => Kind::Other,
    }
}

/// A copy of `fd`, owned (the standard descriptor itself stays open).
fn duplicate(fd: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: dup of an open descriptor.
    let copy = unsafe { libc::dup(fd) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `copy` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// A UNIX socket on the runtime.
fn unix_stream(fd: OwnedFd) -> std::io::Result<tokio::net::UnixStream> {
    let stream = std::os::unix::net::UnixStream::from(fd);
    stream.set_nonblocking(true)?;
    tokio::net::UnixStream::from_std(stream)
}

/// The state kept across requests.
struct Service<'a> {
    settings: &'a ServiceSettings,
    cache: &'a mut Cache,
    /// Lower-case domain: its MX answer, as servers to check, and until
    /// when it holds. Only names that [`HostName::parse`] takes are keys.
    mx_answers: HashMap<String, (MxServers, Instant)>,
    /// Lower-case MX host name: its addresses and until when they hold.
    addresses: HashMap<String, (Vec<SocketAddr>, Instant)>,
    reporter: &'a Reporter,
}

/// A domain's MX answer as the servers to check, in order (their names
/// parsed once); `None` for a null MX.
type MxServers = Option<Arc<[Server]>>;

impl Service<'_> {
    /// The answer to one request, within `--timeout` of it: DUNNO when
    /// anything goes wrong.
    async fn answer(&mut self, request: &Request<'_>) -> Action {
        let Some(domain) = request.recipient_domain() else {
            self.reporter.detail(format_args!(
                "{} {}: DUNNO (not a recipient)",
                request.get("protocol_state").unwrap_or("-"),
                request.get("recipient").unwrap_or("-"),
            ));
            return Action::Dunno;
        };
        let recipient = request.get("recipient").unwrap_or_default();
        let now = Instant::now();
        let deadline = self.settings.probe.timeout.map(|t| now + t);
        let decision = self.decide(domain, request, now, deadline);
        let action = match within(deadline, decision).await {
            Some(Ok(action)) => action,
            Some(Err(trouble)) => {
                self.reporter
                    .error(format_args!("{recipient}: DUNNO: {trouble}"));
                Action::Dunno
            }
            None => {
                self.reporter
                    .error(format_args!("{recipient}: DUNNO: no answer in time"));
                Action::Dunno
            }
        };
        match &action {
            Action::DeferIfPermit(server) => self.reporter.info(format_args!(
                "{recipient}: DEFER_IF_PERMIT: the more preferred MX {server} is up"
            )),
            Action::Dunno => self.reporter.detail(format_args!("{recipient}: DUNNO")),
        }
        self.keep_probe_results();
        action
    }

    /// The decision for `domain` (the request came at `now`); `Err` says
    /// what went wrong.
    async fn decide(
        &mut self,
        domain: &str,
        request: &Request<'_>,
        now: Instant,
        deadline: Option<Instant>,
    ) -> Result<Action, String> {
        let (servers, looked_up) = self.mx_servers(domain, now, deadline).await?;
        let Some(servers) = servers else {
            return Ok(Action::Dunno); // a null MX
        };
        let stop = self.stop(request);
        // After a DNS lookup, time has passed.
        let now = if looked_up { Instant::now() } else { now };
        let known = |name: &str| {
            let (found, until) = self.addresses.get(name)?;
            (*until > now).then(|| found.clone())
        };
        let started = probe::start(&servers, &stop, &self.settings.probe, self.cache, &known);
        let report = match started {
            Ok(report) => report,
            Err(pending) => pending
                .finish(self.cache)
                .await
                .map_err(|error| format!("--stop: {error}"))?,
        };
        self.remember_addresses(report.looked_up);
        Ok(match report.verdict {
            Verdict::Available(index) => Action::DeferIfPermit(servers[index].name.clone()),
            Verdict::NoneAvailable => Action::Dunno,
        })
    }

    /// `--stop`, else the address the SMTP client reached (Postfix 3.2+),
    /// else this host's own addresses.
    fn stop(&self, request: &Request<'_>) -> Stop {
        if let Some(host) = &self.settings.stop {
            return Stop::At(host.clone());
        }
        match request.server_address() {
            Some(address) => Stop::AtAddresses(vec![address]),
            None => Stop::AtAddresses(crate::smtp::resolve::local_addresses()),
        }
    }

    /// The servers of `domain`'s MX answer, from memory while its TTL
    /// lasts, and whether DNS was asked.
    async fn mx_servers(
        &mut self,
        domain: &str,
        now: Instant,
        deadline: Option<Instant>,
    ) -> Result<(MxServers, bool), String> {
        // Whether HostName::parse takes a name does not depend on its
        // ASCII case, so a domain found here would parse.
        let key = if domain.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(domain.to_ascii_lowercase())
        } else {
            Cow::Borrowed(domain)
        };
        if let Some((servers, until)) = self.mx_answers.get(key.as_ref())
            && *until > now
        {
            return Ok((servers.clone(), false));
        }
        let domain = HostName::parse(domain).map_err(|e| format!("recipient domain: {e}"))?;
        let answer = mx::lookup(&domain, deadline)
            .await
            .map_err(|e| e.to_string())?;
        let ttl = match answer.servers {
            MailServers::Listed(_) => answer.ttl.min(MAX_MX_TTL),
            MailServers::Implicit(_) | MailServers::Null => NO_MX_TTL,
        };
        let servers = match answer.servers {
            MailServers::Listed(exchanges) => Some(servers_of(exchanges)),
            MailServers::Implicit(itself) => Some(servers_of(vec![itself])),
            MailServers::Null => None,
        };
        if self.mx_answers.len() >= MAX_MX_ANSWERS {
            self.mx_answers.retain(|_, (_, until)| *until > now);
            if self.mx_answers.len() >= MAX_MX_ANSWERS {
                self.mx_answers.clear(); // a bound, not a policy: all are re-asked
            }
        }
        self.mx_answers
            .insert(key.into_owned(), (servers.clone(), now + ttl));
        Ok((servers, true))
    }

    /// Keeps looked-up exchange addresses for [`ADDRESS_TTL`] (bounded).
    fn remember_addresses(&mut self, looked_up: Vec<(String, Vec<SocketAddr>)>) {
        if looked_up.is_empty() {
            return;
        }
        let now = Instant::now();
        for (name, addresses) in looked_up {
            if self.addresses.len() >= MAX_MX_ANSWERS {
                self.addresses.retain(|_, (_, until)| *until > now);
                if self.addresses.len() >= MAX_MX_ANSWERS {
                    self.addresses.clear(); // a bound: all are looked up again
                }
            }
            self.addresses.insert(name, (addresses, now + ADDRESS_TTL));
        }
    }

    /// Writes what the last probes learnt to the shared file, and keeps it
    /// in memory for the next requests. Nothing learnt, nothing to do:
    /// what has expired in memory is no longer fresh anyway.
    fn keep_probe_results(&mut self) {
        if !self.cache.has_news() {
            return;
        }
        let now = cache::now_ms();
        if let Some(path) = &self.settings.cache_path
            && let Err(err) = self.cache.save(path, now)
        {
            self.reporter
                .detail(format_args!("cache not updated: {}: {err}", path.display()));
        }
        self.cache.absorb_learnt(now);
    }
}

/// The exchanges as servers to check, in order; a name that is not a
/// host name is left out.
fn servers_of(exchanges: Vec<Exchange>) -> Arc<[Server]> {
    exchanges
        .into_iter()
        .filter_map(|exchange| {
            let name = HostName::parse(&exchange.name).ok()?;
            let prio = Some(exchange.preference);
            Some(Server { prio, name })
        })
        .collect()
}
