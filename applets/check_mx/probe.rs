//! The checks themselves, all at once on the current-thread runtime:
//! every host's lookup, then every address of every host: connect, the
//! `220` greeting (nothing is written before it: postscreen rejects
//! clients that talk first), `EHLO`, `STARTTLS` when offered, the
//! certificate, `EHLO` again over TLS (RFC 3207 §4.2), `QUIT`.
//!
//! With DANE on, each host's TLSA records are looked up beside its
//! addresses, and once every check is over each presented chain is
//! matched against them ([`super::dane`]).
//!
//! Every wait runs under the run's deadline. Each check writes its facts
//! as it goes into its own slot, so when the deadline passes the driver
//! still knows how far an unfinished check got and marks it timed out
//! there: a silent server never makes the run hang.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::UnixTime;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::certificate::{self, Seen};
use super::dane::{self, Tlsa};
use super::facts::{AddressFacts, DaneFacts, Failure, HostFacts, Stage, Tls, TlsaAnswer};
use super::hosts::Target;
use crate::dns::{self, DnsErrorKind, RecordType};
use crate::names::HostName;
use crate::smtp::session::{StartTlsError, connect, lookup, within};
use crate::smtp::transcript::{Sink, Transcript};
use crate::smtp::{EXT_STARTTLS, Error, ErrorKind, Limits, Session};

/// How long after the deadline the driver waits for checks to notice it
/// themselves (each wait inside is bounded by the deadline already).
const CUTOFF_GRACE: Duration = Duration::from_millis(200);

/// Which address families to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Any,
    /// `-4`.
    V4,
    /// `-6`.
    V6,
}

impl Family {
    fn admits(self, address: &SocketAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => address.is_ipv4(),
            Family::V6 => address.is_ipv6(),
        }
    }
}

/// What every check of a run shares.
pub struct Settings {
    pub port: u16,
    pub family: Family,
    /// The name said in `EHLO`.
    pub helo: String,
    /// When everything must be done.
    pub deadline: Instant,
    /// Decides whether a certificate is trusted for its host name.
    pub trust: Arc<dyn ServerCertVerifier>,
    /// `-v`: each address's dialogue is kept in its facts.
    pub verbose: bool,
    /// Look up each host's TLSA records and match them (RFC 7672).
    pub dane: bool,
    /// Look up and fetch the domain's MTA-STS policy (RFC 8461) and its
    /// TLS-RPT record (RFC 8460).
    pub mta_sts: bool,
}

impl Settings {
    fn limits(&self) -> Limits {
        Limits {
            overall: Some(self.deadline),
            per_phase: None,
        }
    }
}

/// One address check's slot: its facts so far, and whether it is over.
#[derive(Debug)]
struct Progress {
    facts: AddressFacts,
    finished: bool,
}

type Slot = Arc<Mutex<Progress>>;

/// `-v`: the transcript's lines go into the slot's facts, so a check cut
/// short by the deadline still shows its dialogue so far.
struct DialogueSink(Slot);

impl Sink for DialogueSink {
    fn write_line(&self, line: &str) {
        update(&self.0, |facts| facts.dialogue.push(line.to_owned()));
    }
}

/// A task's news for the driver.
enum Event {
    /// A host's addresses, or why there are none.
    LookedUp(usize, Result<Vec<SocketAddr>, Failure>),
    /// A host's TLSA records, or why the lookup failed.
    Tlsa(usize, Result<TlsaAnswer, Failure>),
    /// An address check ended (its facts are in its slot).
    Checked,
}

/// Checks every target, all at once; the facts in the targets' order.
pub async fn check(targets: &[Target], settings: Arc<Settings>) -> Vec<HostFacts> {
    let mut hosts: Vec<HostFacts> = targets
        .iter()
        .map(|target| HostFacts {
            name: target.name.clone(),
            preference: target.preference,
            lookup: Ok(Vec::new()),
            dane: None,
        })
        .collect();
    let mut slots: Vec<Vec<Slot>> = vec![Vec::new(); targets.len()];
    let mut looked_up = vec![false; targets.len()];
    let mut tasks = JoinSet::new();
    for (index, target) in targets.iter().enumerate() {
        if let Some(reason) = &target.unusable {
            looked_up[index] = true;
            hosts[index].lookup = Err(Failure {
                message: reason.clone(),
                timed_out: false,
            });
            continue;
        }
        let (name, shared) = (target.name.clone(), Arc::clone(&settings));
        tasks.spawn(async move { Event::LookedUp(index, addresses(&name, &shared).await) });
        if let Some(tlsa_name) = settings
            .dane
            .then(|| tlsa_name(target, &settings))
            .flatten()
        {
            hosts[index].dane = Some(DaneFacts {
                tlsa_name: tlsa_name.to_string(),
                mx_validated: target.mx_validated,
                // Until the answer comes: cut short if it never does.
                lookup: Err(timed_out()),
            });
            let deadline = Some(settings.deadline);
            tasks.spawn(async move { Event::Tlsa(index, tlsa(&tlsa_name, deadline).await) });
        }
    }
    let cutoff = Some(settings.deadline + CUTOFF_GRACE);
    while let Some(Some(joined)) = within(cutoff, tasks.join_next()).await {
        match joined {
            Ok(Event::LookedUp(index, Ok(addresses))) => {
                looked_up[index] = true;
                for address in addresses {
                    let slot = Arc::new(Mutex::new(Progress {
                        facts: AddressFacts::new(address),
                        finished: false,
                    }));
                    slots[index].push(Arc::clone(&slot));
                    let (name, settings) = (hosts[index].name.clone(), Arc::clone(&settings));
                    tasks.spawn(async move {
                        check_address(&name, address, &settings, &slot).await;
                        Event::Checked
                    });
                }
            }
            Ok(Event::LookedUp(index, Err(failure))) => {
                looked_up[index] = true;
                hosts[index].lookup = Err(failure);
            }
            Ok(Event::Tlsa(index, lookup)) => {
                if let Some(dane) = &mut hosts[index].dane {
                    dane.lookup = lookup;
                }
            }
            // A check that ended, or (a bug) panicked: its slot says how
            // far it got.
            Ok(Event::Checked) | Err(_) => {}
        }
    }
    // Anything still running is cut short by the deadline.
    tasks.abort_all();
    for (index, host) in hosts.iter_mut().enumerate() {
        if !looked_up[index] {
            host.lookup = Err(timed_out());
        }
        for slot in &slots[index] {
            let progress = slot.lock().unwrap_or_else(PoisonError::into_inner);
            let mut facts = progress.facts.clone();
            if !progress.finished && facts.failure.is_none() {
                facts.failure = Some(timed_out());
            }
            if let Ok(addresses) = &mut host.lookup {
                addresses.push(facts);
            }
        }
        match_chains(host);
    }
    hosts
}

/// The TLSA owner name of a target (RFC 6698 §3); `None` for an IP
/// literal or a name that cannot be one.
fn tlsa_name(target: &Target, settings: &Settings) -> Option<HostName> {
    let host = HostName::parse(&target.name).ok()?;
    if host.ip().is_some() {
        return None;
    }
    dns::tcp_service_name(settings.port, &host).ok()
}

/// The TLSA records at `name`: none for NODATA or NXDOMAIN; any other
/// failure is one (RFC 7672 §2.1.1).
async fn tlsa(name: &HostName, deadline: Option<Instant>) -> Result<TlsaAnswer, Failure> {
    match dns::query(name, RecordType::TLSA, deadline).await {
        Ok(answer) => Ok(TlsaAnswer {
            records: Tlsa::all_of(&answer),
            validated: answer.authentic,
        }),
        Err(error) if error.kind == DnsErrorKind::NoSuchDomain => Ok(TlsaAnswer::default()),
        Err(error) => Err(Failure {
            message: error.to_string(),
            timed_out: error.kind == DnsErrorKind::TimedOut,
        }),
    }
}

/// Matches each address's presented chain against the host's validated,
/// usable TLSA records, when it has any.
fn match_chains(host: &mut HostFacts) {
    let Some(dane) = &host.dane else {
        return;
    };
    let records: Vec<Tlsa> = dane::usable_records(dane).into_iter().cloned().collect();
    if records.is_empty() {
        return;
    }
    let now = UnixTime::now();
    let name = host.name.clone();
    if let Ok(addresses) = &mut host.lookup {
        for address in addresses {
            address.dane = Some(dane::match_chain(&records, &address.chain, &name, now));
        }
    }
}

fn timed_out() -> Failure {
    Failure {
        message: "timed out".to_owned(),
        timed_out: true,
    }
}

/// The addresses of `name` on the port, of the family asked for, in
/// RFC 8305 order.
async fn addresses(name: &str, settings: &Settings) -> Result<Vec<SocketAddr>, Failure> {
    let found = lookup(name, settings.port, settings.limits())
        .await
        .map_err(|error| failure(&error))?;
    let admitted: Vec<SocketAddr> = found
        .into_iter()
        .filter(|address| settings.family.admits(address))
        .collect();
    if admitted.is_empty() {
        let family = match settings.family {
            Family::V4 => "IPv4 ",
            Family::V6 => "IPv6 ",
            Family::Any => "",
        };
        return Err(Failure {
            message: format!("no {family}address"),
            timed_out: false,
        });
    }
    Ok(admitted)
}

fn failure(error: &Error) -> Failure {
    Failure {
        message: error.kind.to_string(),
        timed_out: matches!(error.kind, ErrorKind::TimedOut(_)),
    }
}

/// Writes into a check's slot.
fn update(slot: &Slot, change: impl FnOnce(&mut AddressFacts)) {
    change(&mut slot.lock().unwrap_or_else(PoisonError::into_inner).facts);
}

/// The check of one address, its facts written into `slot` as it goes.
async fn check_address(name: &str, address: SocketAddr, settings: &Settings, slot: &Slot) {
    dialogue(name, address, settings, slot).await;
    slot.lock().unwrap_or_else(PoisonError::into_inner).finished = true;
}

async fn dialogue(name: &str, address: SocketAddr, settings: &Settings, slot: &Slot) {
    let limits = settings.limits();
    let fail = |error: &Error| update(slot, |facts| facts.failure = Some(failure(error)));

    let started = Instant::now();
    let tcp = match connect(name, address, limits).await {
        Ok(tcp) => tcp,
        Err(error) => return fail(&error),
    };
    update(slot, |facts| {
        facts.times.connect = Some(started.elapsed());
        facts.reached = Stage::Greeting;
    });

    let transcript = match settings.verbose {
        true => Transcript::live(Arc::new(DialogueSink(Arc::clone(slot)))),
        false => Transcript::off(),
    };
    let started = Instant::now();
    let greeted = Session::greet_over(name, tcp, address, limits, transcript).await;
    let mut session = match greeted {
        Ok(session) => session,
        Err(error) => {
            let reply = error.reply().map(ToString::to_string);
            update(slot, |facts| facts.greeting = reply);
            return fail(&error);
        }
    };
    update(slot, |facts| {
        facts.times.greeting = Some(started.elapsed());
        facts.greeting = Some(session.greeting().to_string());
        facts.reached = Stage::Ehlo;
    });

    let hello = match session.hello(&settings.helo).await {
        Ok(hello) => hello,
        Err(error) => {
            fail(&error);
            return session.quit_briefly().await;
        }
    };
    if !hello.supports(EXT_STARTTLS) {
        update(slot, |facts| {
            facts.tls = Tls::NotOffered;
            facts.reached = Stage::Quit;
        });
        return session.quit_briefly().await;
    }

    update(slot, |facts| facts.reached = Stage::Starttls);
    let (connector, seen) = certificate::recording_connector(&settings.trust);
    let started = Instant::now();
    match session.start_tls(&connector).await {
        Ok(session) => over_tls(session, started.elapsed(), &seen, settings, slot).await,
        Err(StartTlsError::Refused(session, error)) => {
            let reply = error
                .reply()
                .map_or_else(|| error.kind.to_string(), ToString::to_string);
            update(slot, |facts| {
                facts.tls = Tls::Refused { reply };
                facts.reached = Stage::Quit;
            });
            session.quit_briefly().await;
        }
        // After a 220 to STARTTLS no plaintext QUIT is owed.
        Err(StartTlsError::Broken(error)) => {
            record_certificate(&seen, slot);
            if matches!(error.kind, ErrorKind::TimedOut(_)) {
                fail(&error);
            } else {
                let error = format!("{}: {}", error.phase, error.kind);
                update(slot, |facts| facts.tls = Tls::Failed { error });
            }
        }
    }
}

/// After the handshake: the certificate's facts, `EHLO` over TLS, `QUIT`.
async fn over_tls(
    mut session: Session,
    handshake: Duration,
    seen: &Seen,
    settings: &Settings,
    slot: &Slot,
) {
    let verification_error = record_certificate(seen, slot)
        .unwrap_or_else(|| Some("no certificate was presented".to_owned()));
    update(slot, |facts| {
        facts.tls = Tls::Established {
            version: session.tls_version().unwrap_or_else(|| "TLS".to_owned()),
            verification_error,
        };
        facts.times.tls = Some(handshake);
        facts.reached = Stage::Ehlo;
    });
    match session.hello(&settings.helo).await {
        Ok(_) => {
            update(slot, |facts| facts.reached = Stage::Quit);
            session.quit_briefly().await;
        }
        Err(error) if matches!(error.kind, ErrorKind::TimedOut(_)) => {
            update(slot, |facts| facts.failure = Some(failure(&error)));
        }
        Err(error) => {
            let error = format!("EHLO over TLS: {}", error.kind);
            update(slot, |facts| {
                facts.tls = Tls::Failed { error };
                facts.reached = Stage::Quit;
            });
            session.quit_briefly().await;
        }
    }
}

/// Moves what the verifier saw into the facts; the verification error,
/// if a certificate was presented at all.
fn record_certificate(seen: &Seen, slot: &Slot) -> Option<Option<String>> {
    let taken = certificate::take(seen)?;
    update(slot, |facts| {
        facts.certificate = taken.certificate;
        facts.chain = taken.chain;
    });
    Some(taken.verification_error)
}
