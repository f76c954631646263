//! The backup-MX engine: the one way every front end gets its answer.
//!
//! Front ends: the command line's servers ([`Engine::check`]), `--mx
//! DOMAIN` ([`Engine::check_domain`]), and the long-lived services, which
//! ask per recipient domain ([`Engine::decide`], or [`Engine::decide_now`]
//! when memory settles it): the Postfix policy service, the OpenSMTPD
//! filter and the Sendmail socketmap.
//!
//! It owns the whole path: domain → MX answer (the core's one MX path and
//! lifetime policy, kept in [`MxMemory`]: memory in services, the MX file
//! in one-shot processes) → MX hosts' addresses → the stop rule (`--stop`,
//! else the address the client reached, else this host's own addresses)
//! → probes ([`probe`]) → the result cache (memory and the shared file).
//!
//! One runtime per process: one-shot callers start one only when the
//! network is needed, and then one for the MX lookup and the probes
//! together; services run every decision on theirs. The state lives in
//! cells borrowed only between waits, so decisions of different domains
//! run side by side on one current-thread runtime: a primary that takes
//! `--timeout` to time out delays only the decisions that wait for it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;

use super::cache::{self, Cache};
use super::decide::Verdict;
use super::mx_memory::{MxMemory, MxServers};
use super::probe::{self, CheckError, Pending, ProbeSettings, Report, Stop};
use super::servers::Server;
use crate::names::{HostName, NameError};
use crate::runtime::block_on;
use crate::smtp::Error;
use crate::smtp::mx::{self, ADDRESS_LIFETIME, MailServers, MxError};
use crate::smtp::resolve::local_addresses;
use crate::smtp::session::within;

/// What the engine needs from the command line.
pub struct EngineSettings {
    pub probe: ProbeSettings,
    /// `--stop`, when given.
    pub stop: Option<HostName>,
    /// The shared result cache file, unless `--no-cache`.
    pub cache_path: Option<PathBuf>,
    /// The MX file (one-shot `--mx` runs); `None`: memory only.
    pub mx_file: Option<PathBuf>,
}

/// What a service does with one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A more preferred MX of the domain is up: defer (4xx), naming it.
    Defer(HostName),
    /// None is (or the domain has a null MX): let the mail through.
    Accept,
}

/// Why there is no decision. Services fail open on every one of them.
#[derive(Debug)]
pub enum Trouble {
    /// The recipient's domain is not a host name.
    Domain(NameError),
    Mx(MxError),
    /// `--stop` names a host that cannot be looked up.
    Stop(Error),
    /// Not decided within `--timeout`.
    TimedOut,
    /// The trouble of the decision this one waited for.
    Shared(String),
    Runtime(io::Error),
}

impl fmt::Display for Trouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trouble::Domain(reason) => write!(f, "recipient domain: {reason}"),
            Trouble::Mx(error) => write!(f, "{error}"),
            Trouble::Stop(error) => write!(f, "--stop: {error}"),
            Trouble::TimedOut => f.write_str("no answer in time"),
            Trouble::Shared(trouble) => f.write_str(trouble),
            Trouble::Runtime(err) => write!(f, "cannot start the async runtime: {err}"),
        }
    }
}

/// A domain's MX hosts and what was found about them.
pub struct DomainCheck {
    /// The servers checked, most preferred first; `None` for a null MX.
    pub servers: MxServers,
    /// `None` for a null MX.
    pub report: Option<Report>,
    /// What `-v` says about the MX answer (implicit or null MX, skipped
    /// exchanges).
    pub notes: Vec<String>,
}

/// The engine: settings, and what it remembers between decisions.
pub struct Engine {
    settings: EngineSettings,
    cache: RefCell<Cache>,
    mx: RefCell<MxMemory>,
    /// This host's addresses (the stop of a service without `--stop` or a
    /// reached address) and until when they hold.
    this_host: RefCell<Option<(Arc<[IpAddr]>, Instant)>>,
    in_flight: RefCell<InFlightMap>,
}

impl Engine {
    /// An engine with the result cache as read; the MX file, if any, is
    /// read now.
    pub fn new(settings: EngineSettings, cache: Cache) -> Engine {
        let mx = settings
            .mx_file
            .as_deref()
            .map_or_else(MxMemory::default, MxMemory::load);
        Engine {
            settings,
            cache: RefCell::new(cache),
            mx: RefCell::new(mx),
            this_host: RefCell::new(None),
            in_flight: RefCell::new(HashMap::new()),
        }
    }

    /// Checks a server list (the command line's), starting a runtime only
    /// when IP literals and the cache do not settle it.
    pub fn check(&self, servers: &[Server], stop: &Stop) -> Result<Report, CheckError> {
        let no_known = |_: &str| None;
        let started = probe::start(
            servers,
            stop,
            &self.settings.probe,
            &self.cache.borrow(),
            &no_known,
        );
        match started {
            Ok(report) => Ok(report),
            Err(pending) => self.finish_on_own_runtime(pending),
        }
    }

    /// [`Pending::finish`] on the process's runtime. Never inlined: the
    /// future's state would otherwise sit in the caller's stack frame, and
    /// a run the cache answers would touch those pages too
    /// (docs/performance.md).
    #[inline(never)]
    fn finish_on_own_runtime(&self, pending: Pending<'_>) -> Result<Report, CheckError> {
        block_on(pending.finish(&self.cache))
            .map_err(CheckError::Runtime)?
            .map_err(CheckError::Stop)
    }

    /// `--mx DOMAIN` in a one-shot process: the MX lookup bounded by
    /// `--timeout`, then the probes as for a server list, on one runtime
    /// (none when memory and the cache settle it).
    pub fn check_domain(&self, domain: &HostName) -> Result<DomainCheck, Trouble> {
        let stop = self.stop(None);
        if let Some(settled) = self.settle_from_memory(domain, &stop) {
            return Ok(settled);
        }
        let deadline = self.settings.probe.timeout.map(|t| Instant::now() + t);
        block_on(self.check_domain_on_runtime(domain, &stop, deadline)).map_err(Trouble::Runtime)?
    }

    /// The decision for a recipient `domain` within `--timeout`.
    /// `reached`: the local address the SMTP client connected to, when the
    /// front end knows it. Results go to the shared cache file.
    ///
    /// Decisions of the same domain and reached address share one check:
    /// while one is under way, later ones wait for its result (within
    /// their own `--timeout`), so a burst of recipients for a domain whose
    /// primary never greets opens one connection to it, not one each.
    pub async fn decide(&self, domain: &str, reached: Option<IpAddr>) -> Result<Decision, Trouble> {
        let deadline = self.settings.probe.timeout.map(|t| Instant::now() + t);
        let key = (lower_case(domain).into_owned(), reached);
        let under_way = self.in_flight.borrow().get(&key).cloned();
        if let Some(mut result) = under_way {
            let shared = within(deadline, result.wait_for(Option::is_some)).await;
            return match shared.as_ref().map(|result| result.as_deref()) {
                Some(Ok(Some(Ok(decision)))) => Ok(decision.clone()),
                Some(Ok(Some(Err(trouble)))) => Err(Trouble::Shared(trouble.clone())),
                // Not in time, or the check was dropped unfinished.
                _ => Err(Trouble::TimedOut),
            };
        }
        let (sender, receiver) = watch::channel(None);
        self.in_flight.borrow_mut().insert(key.clone(), receiver);
        let _in_flight = InFlight {
            engine: self,
            key: Some(key),
        };
        let stop = self.stop(reached);
        let work = async {
            let domain = HostName::parse(domain).map_err(Trouble::Domain)?;
            self.check_domain_on_runtime(&domain, &stop, deadline).await
        };
        let checked = within(deadline, work)
            .await
            .unwrap_or(Err(Trouble::TimedOut));
        self.keep_probe_results();
        let decided = checked.map(|checked| decision(&checked));
        let shared = match &decided {
            Ok(decision) => Ok(decision.clone()),
            Err(trouble) => Err(trouble.to_string()),
        };
        sender.send_replace(Some(shared));
        decided
    }

    /// The decision when memory and the cache settle it without a wait
    /// (most requests of a busy service); `None`: ask [`Engine::decide`].
    pub fn decide_now(&self, domain: &str, reached: Option<IpAddr>) -> Option<Decision> {
        let key = lower_case(domain);
        let now = cache::now_ms();
        let servers = self.mx.borrow().servers(&key, now)?;
        let Some(servers) = servers else {
            return Some(Decision::Accept); // a null MX
        };
        let report = self.settle(&servers, &self.stop(reached), now)?;
        Some(decision_of(&servers, &report))
    }

    /// Writes what probes learnt to the shared file (for other processes)
    /// and, for a one-shot run with `--mx`, the MX file; `Err` names the
    /// file that could not be written. Nothing learnt, nothing written.
    pub fn save(&self) -> Result<(), String> {
        let now = cache::now_ms();
        let mut problems = Vec::new();
        if let Some(path) = &self.settings.cache_path
            && self.cache.borrow().has_news()
            && let Err(err) = self.cache.borrow().save(path, now)
        {
            problems.push(format!("cache not updated: {}: {err}", path.display()));
        }
        if let Some(path) = &self.settings.mx_file
            && self.mx.borrow().has_news()
            && let Err(err) = self.mx.borrow_mut().save(path, now)
        {
            problems.push(format!("MX cache not updated: {}: {err}", path.display()));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// The stop rule: `--stop`, else the address the client reached, else
    /// this host's own addresses (looked up again after
    /// [`ADDRESS_LIFETIME`]).
    fn stop(&self, reached: Option<IpAddr>) -> Stop {
        if let Some(host) = &self.settings.stop {
            return Stop::At(host.clone());
        }
        if let Some(address) = reached {
            return Stop::AtAddresses(vec![address]);
        }
        let now = Instant::now();
        let mut this_host = self.this_host.borrow_mut();
        let fresh = this_host.as_ref().filter(|(_, until)| *until > now);
        let addresses = match fresh {
            Some((addresses, _)) => Arc::clone(addresses),
            None => {
                let addresses: Arc<[IpAddr]> = local_addresses().into();
                *this_host = Some((Arc::clone(&addresses), now + ADDRESS_LIFETIME));
                addresses
            }
        };
        Stop::AtAddresses(addresses.to_vec())
    }

    /// A domain check from memory alone, when it settles.
    fn settle_from_memory(&self, domain: &HostName, stop: &Stop) -> Option<DomainCheck> {
        let now = cache::now_ms();
        let servers = self.mx.borrow().servers(&lower_case(domain), now)?;
        let report = match &servers {
            None => None,
            Some(list) => Some(self.settle(list, stop, now)?),
        };
        let notes = cached_notes(domain, &servers);
        Some(DomainCheck {
            servers,
            report,
            notes,
        })
    }

    /// The probes' report when remembered addresses and the cache settle
    /// it.
    fn settle(&self, servers: &[Server], stop: &Stop, now_ms: u64) -> Option<Report> {
        let mx = self.mx.borrow();
        let known = |name: &str| mx.addresses(name, now_ms);
        let cache = self.cache.borrow();
        probe::start(servers, stop, &self.settings.probe, &cache, &known).ok()
    }

    /// The whole path on the caller's runtime: the MX answer from memory
    /// or DNS (by `deadline`), then the probes.
    async fn check_domain_on_runtime(
        &self,
        domain: &HostName,
        stop: &Stop,
        deadline: Option<Instant>,
    ) -> Result<DomainCheck, Trouble> {
        let key = lower_case(domain);
        let remembered = self.mx.borrow().servers(&key, cache::now_ms());
        let (servers, notes) = match remembered {
            Some(servers) => {
                let notes = cached_notes(domain, &servers);
                (servers, notes)
            }
            None => {
                let answer = mx::lookup(domain, deadline).await.map_err(Trouble::Mx)?;
                let notes = answer_notes(domain, &answer);
                let servers =
                    self.mx
                        .borrow_mut()
                        .keep_answer(key.into_owned(), &answer, cache::now_ms());
                (servers, notes)
            }
        };
        let Some(list) = &servers else {
            return Ok(DomainCheck {
                servers,
                report: None,
                notes,
            });
        };
        let report = self.probe(list, stop).await.map_err(Trouble::Stop)?;
        Ok(DomainCheck {
            report: Some(report),
            servers,
            notes,
        })
    }

    /// Probes `servers` with the remembered addresses, and remembers the
    /// addresses looked up.
    async fn probe(&self, servers: &[Server], stop: &Stop) -> Result<Report, Error> {
        let started = {
            let now = cache::now_ms();
            let mx = self.mx.borrow();
            let known = |name: &str| mx.addresses(name, now);
            let cache = self.cache.borrow();
            probe::start(servers, stop, &self.settings.probe, &cache, &known)
        };
        let mut report = match started {
            Ok(report) => report,
            Err(pending) => pending.finish(&self.cache).await?,
        };
        let looked_up = std::mem::take(&mut report.looked_up);
        self.mx
            .borrow_mut()
            .keep_addresses(looked_up, cache::now_ms());
        Ok(report)
    }

    /// A service's step after each decision: what probes learnt goes to
    /// the shared file, and stays in memory for the next decisions.
    fn keep_probe_results(&self) {
        let mut cache = self.cache.borrow_mut();
        if !cache.has_news() {
            return;
        }
        let now = cache::now_ms();
        if let Some(path) = &self.settings.cache_path {
            // A file that cannot be written only costs other processes a
            // probe; this one keeps the results in memory all the same.
            let _ = cache.save(path, now);
        }
        cache.absorb_learnt(now);
    }
}

/// Decisions under way, by lower-case domain and reached address: the
/// result, once there, for the decisions that wait for it.
type InFlightMap = HashMap<(String, Option<IpAddr>), watch::Receiver<Option<SharedResult>>>;
type SharedResult = Result<Decision, String>;

/// Removes a decision from [`Engine::in_flight`] however it ends (also
/// when its future is dropped unfinished: its waiters then see the
/// sender gone).
struct InFlight<'e> {
    engine: &'e Engine,
    key: Option<(String, Option<IpAddr>)>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.engine.in_flight.borrow_mut().remove(&key);
        }
    }
}

/// The decision a domain check gives.
fn decision(checked: &DomainCheck) -> Decision {
    match (&checked.servers, &checked.report) {
        (Some(servers), Some(report)) => decision_of(servers, report),
        _ => Decision::Accept,
    }
}

fn decision_of(servers: &[Server], report: &Report) -> Decision {
    match report.verdict {
        Verdict::Available(index) => Decision::Defer(servers[index].name.clone()),
        Verdict::NoneAvailable => Decision::Accept,
    }
}

/// `-v` notes on an answer from DNS.
fn answer_notes(domain: &HostName, answer: &mx::MxAnswer) -> Vec<String> {
    let mut notes: Vec<String> = answer
        .skipped
        .iter()
        .map(|skipped| format!("{domain}: {skipped}"))
        .collect();
    match answer.servers {
        MailServers::Implicit(_) => {
            notes.push(format!("{domain}: no MX record: the domain itself, prio 0"))
        }
        MailServers::Null => notes.push(format!("{domain}: null MX (RFC 7505): no mail server")),
        MailServers::Listed(_) => {}
    }
    notes
}

/// `-v` notes on an answer from memory.
fn cached_notes(domain: &HostName, servers: &MxServers) -> Vec<String> {
    match servers {
        None => vec![format!(
            "{domain}: null MX (RFC 7505), cached: no mail server"
        )],
        Some(_) => Vec::new(),
    }
}

/// The memory's key for a name: lower case, without the root's dot.
fn lower_case(name: &str) -> std::borrow::Cow<'_, str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(name.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::mx::{MxAnswer, MxHost};
    use std::time::Duration;

    fn engine(stop: Option<&str>) -> Engine {
        let settings = EngineSettings {
            probe: ProbeSettings {
                port: 25,
                timeout: Some(Duration::from_secs(1)),
                stop_required: true,
            },
            stop: stop.map(|s| HostName::parse(s).expect("a name")),
            cache_path: None,
            mx_file: None,
        };
        Engine::new(
            settings,
            Cache::new(cache::DEFAULT_TTL_UP, cache::DEFAULT_TTL_DOWN),
        )
    }

    fn remember(engine: &Engine, domain: &str, servers: MailServers) {
        let answer = MxAnswer {
            servers,
            ttl: Duration::from_secs(300),
            skipped: Vec::new(),
            authentic: false,
        };
        let mut mx = engine.mx.borrow_mut();
        mx.keep_answer(domain.into(), &answer, cache::now_ms());
    }

    fn host(preference: u16, name: &str) -> MxHost {
        let name = HostName::parse(name).expect("a name");
        MxHost { preference, name }
    }

    #[test]
    fn memory_settles_a_null_mx_and_a_cached_primary() {
        let engine = engine(Some("127.0.0.2"));
        remember(&engine, "null.test", MailServers::Null);
        assert_eq!(
            engine.decide_now("NULL.test.", None),
            Some(Decision::Accept)
        );
        // unknown domain: memory cannot settle it
        assert_eq!(engine.decide_now("other.test", None), None);
        let listed = MailServers::Listed(vec![host(10, "127.0.0.1"), host(20, "127.0.0.2")]);
        remember(&engine, "d.test", listed);
        // the primary's result is not cached: a probe is needed
        assert_eq!(engine.decide_now("d.test", None), None);
        let at = "127.0.0.1:25".parse().expect("an address");
        let up = cache::Entry {
            up: true,
            at_ms: cache::now_ms(),
        };
        engine.cache.borrow_mut().learn(at, up);
        engine.cache.borrow_mut().absorb_learnt(cache::now_ms());
        let primary = HostName::parse("127.0.0.1").expect("a name");
        assert_eq!(
            engine.decide_now("d.test", None),
            Some(Decision::Defer(primary))
        );
    }

    #[test]
    fn the_stop_is_the_option_else_the_reached_address() {
        let reached: IpAddr = "192.0.2.7".parse().expect("an address");
        let stop = HostName::parse("mx2.test").expect("a name");
        assert_eq!(engine(Some("mx2.test")).stop(Some(reached)), Stop::At(stop));
        assert_eq!(
            engine(None).stop(Some(reached)),
            Stop::AtAddresses(vec![reached])
        );
    }
}
