//! The judgement, pure: the facts of a run and the thresholds in, the
//! plugin status, the problems (worst first), the summary and the
//! performance data out. No sockets, no clock: "now" is an argument.
//!
//! The rules (also in check_mx(1)):
//!
//! - An address is up when it greeted `220` and accepted `EHLO`/`HELO`
//!   within the timeout; a host is up when one of its addresses is.
//! - Fewer than `--min-up` hosts up: each down host is CRITICAL; at least
//!   `--min-up` but not all: each down host is WARNING. A down address of
//!   a host that is up is WARNING.
//! - A check cut short by `--timeout` is CRITICAL, whatever else is up.
//! - STARTTLS not offered: CRITICAL with `--require-tls`, else fine.
//!   STARTTLS refused, a failed handshake, a certificate that does not
//!   verify: CRITICAL with `--require-tls`, else WARNING.
//! - Certificate: fewer than `--cert-crit` days left (or expired) is
//!   CRITICAL, fewer than `--cert-warn` WARNING. The days are whole days,
//!   rounded down, so "fewer than 7" means less than 7 × 24 hours.
//! - Greeting time above `-c` is CRITICAL, above `-w` WARNING.
//! - DANE (RFC 7672), as [`super::dane`] judges it: a failed TLSA lookup,
//!   validated TLSA records no chain of an address matches, or such
//!   records and no TLS, are CRITICAL; records DNSSEC did not validate,
//!   only unusable ones, or an unvalidated MX answer are WARNING
//!   (CRITICAL with `--require-dane`, as is a host without any). A chain
//!   DANE authenticates needs no PKIX verification.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::dane;
use super::facts::{AddressFacts, Failure, HostFacts, Stage, StsFacts, Tls};
use super::mta_sts::{self, StsRules, StsVerdict};
use super::perfdata::{Levels, Metric, above, below};
use crate::exit::check_mx::{CRITICAL, OK, UNKNOWN, WARNING};

/// Seconds in a day, for certificate lifetimes.
const SECONDS_PER_DAY: i64 = 86_400;

/// A plugin status (Monitoring Plugins guidelines, "Plugin Return Codes").
/// UNKNOWN is the whole run's status only, never mixed with the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// The exit status that says it.
    pub fn exit_status(self) -> u8 {
        match self {
            Status::Ok => OK,
            Status::Warning => WARNING,
            Status::Critical => CRITICAL,
            Status::Unknown => UNKNOWN,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        })
    }
}

/// The thresholds and rules of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// `-w`, `-c`: a slower greeting is WARNING, CRITICAL.
    pub greeting: Levels<Option<Duration>>,
    /// `--cert-warn`, `--cert-crit`: fewer days left is WARNING, CRITICAL.
    pub cert_days: Levels<i64>,
    /// `--min-up`: fewer hosts up is CRITICAL.
    pub min_up: usize,
    /// `--require-tls`: TLS problems are CRITICAL.
    pub require_tls: bool,
    /// `--require-dane`: an MX host without validated TLSA records is
    /// CRITICAL.
    pub require_dane: bool,
    /// `--require-mta-sts`: a domain without a valid policy in `enforce`
    /// mode is CRITICAL.
    pub require_mta_sts: bool,
}

/// One thing wrong: the summary says `subject text`, a detail line (whose
/// subject is the line's own) only the text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub status: Status,
    /// `host[address]`, or the host for a lookup.
    #[serde(skip)]
    pub subject: String,
    pub text: String,
}

impl Problem {
    pub fn new(status: Status, subject: &str, text: String) -> Problem {
        Problem {
            status,
            subject: subject.to_owned(),
            text,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.subject, self.text)
    }
}

/// The judgement of one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressVerdict {
    pub status: Status,
    pub problems: Vec<Problem>,
    /// Whole days until the certificate's notAfter (negative: expired).
    pub days_left: Option<i64>,
}

/// The judgement of one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostVerdict {
    pub up: bool,
    pub status: Status,
    /// Its lookup failure, when it had no address to check.
    pub lookup_problem: Option<Problem>,
    /// What is wrong with its TLSA records (DANE).
    pub dane_problems: Vec<Problem>,
    /// Informational lines that leave the status as it is.
    pub notes: Vec<String>,
    pub addresses: Vec<AddressVerdict>,
}

/// The judgement of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub status: Status,
    /// The text after `MX STATUS - `: what is wrong first.
    pub summary: String,
    pub perfdata: Vec<Metric>,
    /// Per host, in the order of the facts.
    pub hosts: Vec<HostVerdict>,
    /// The domain's MTA-STS, when it was looked up.
    pub mta_sts: Option<StsVerdict>,
}

/// A run that checked nothing (a failed MX lookup, a null MX).
pub fn unknown(summary: String) -> Verdict {
    Verdict {
        status: Status::Unknown,
        summary,
        perfdata: Vec::new(),
        hosts: Vec::new(),
        mta_sts: None,
    }
}

/// Judges the facts of a run. `domain`: the domain whose MX hosts these
/// are, for the summary; `sts`: its MTA-STS facts, when looked up; `now`:
/// seconds since the Unix epoch.
pub fn evaluate(
    hosts: &[HostFacts],
    domain: Option<&str>,
    sts: Option<&StsFacts>,
    thresholds: &Thresholds,
    now: i64,
) -> Verdict {
    if hosts.is_empty() {
        return unknown("no MX host to check".to_owned());
    }
    let up = hosts.iter().filter(|h| host_is_up(h)).count();
    // The status of a down host: the --min-up rule.
    let down_host = if up < thresholds.min_up {
        Status::Critical
    } else {
        Status::Warning
    };
    let mut verdicts = Vec::with_capacity(hosts.len());
    for host in hosts {
        let host_up = host_is_up(host);
        let down = if host_up { Status::Warning } else { down_host };
        let lookup_problem = host.lookup_failure().map(|failure| Problem {
            status: failure_status(failure, down),
            subject: host.name.clone(),
            text: failure_text(Stage::Lookup, failure),
        });
        let addresses: Vec<AddressVerdict> = host
            .addresses()
            .iter()
            .map(|address| judge_address(&host.name, address, down, thresholds, now))
            .collect();
        let mut dane = dane::judge_host(host, thresholds.require_dane);
        if let Some(text) = dane::parity(host, hosts) {
            dane.problems.push((Status::Warning, text));
        }
        let dane_problems: Vec<Problem> = dane
            .problems
            .into_iter()
            .map(|(status, text)| Problem {
                status,
                subject: host.name.clone(),
                text,
            })
            .collect();
        let status = worst(
            lookup_problem
                .iter()
                .chain(&dane_problems)
                .map(|p| p.status)
                .chain(addresses.iter().map(|a| a.status)),
        );
        verdicts.push(HostVerdict {
            up: host_up,
            status,
            lookup_problem,
            dane_problems,
            notes: dane.notes,
            addresses,
        });
    }
    // Every host up, and still fewer than --min-up: the domain has too few.
    let too_few = (up == hosts.len() && up < thresholds.min_up).then(|| Problem {
        status: Status::Critical,
        subject: format!("only {}", count(up, "MX host", "MX hosts")),
        text: format!("where --min-up wants {}", thresholds.min_up),
    });
    let rules = StsRules {
        cert_days: thresholds.cert_days,
        require: thresholds.require_mta_sts,
    };
    let sts = sts.map(|facts| (facts, mta_sts::judge(facts, hosts, rules, now)));
    let sts_problems = sts.as_ref().map_or(&[][..], |(_, v)| &v.problems[..]);
    let status = worst(
        verdicts
            .iter()
            .map(|h| h.status)
            .chain(too_few.iter().map(|p| p.status))
            .chain(sts_problems.iter().map(|p| p.status)),
    );
    let summary = summary(
        hosts,
        &verdicts,
        too_few.iter().chain(sts_problems),
        domain,
        up,
    );
    let mut perfdata = perfdata(hosts, &verdicts, thresholds, up);
    if let Some((facts, verdict)) = &sts {
        perfdata.extend(mta_sts_perfdata(facts, verdict, thresholds));
    }
    Verdict {
        status,
        summary,
        perfdata,
        hosts: verdicts,
        mta_sts: sts.map(|(_, verdict)| verdict),
    }
}

fn host_is_up(host: &HostFacts) -> bool {
    host.addresses().iter().any(AddressFacts::is_up)
}

/// The worst of `statuses`; OK when there are none.
fn worst(statuses: impl Iterator<Item = Status>) -> Status {
    statuses.max().unwrap_or(Status::Ok)
}

/// A timeout is CRITICAL; any other failure counts as `down` says.
fn failure_status(failure: &Failure, down: Status) -> Status {
    if failure.timed_out {
        Status::Critical
    } else {
        down
    }
}

fn failure_text(stage: Stage, failure: &Failure) -> String {
    if failure.timed_out {
        format!("timed out at {}", stage.name())
    } else {
        format!("down at {}: {}", stage.name(), failure.message)
    }
}

/// `host[address]`, as Postfix logs a peer; only the address for a host
/// given as one.
pub fn peer(host: &str, address: &AddressFacts) -> String {
    let ip = address.address.ip();
    if crate::names::ip_literal(host) == Some(ip) {
        ip.to_string()
    } else {
        format!("{host}[{ip}]")
    }
}

/// `1 address`, `2 addresses`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn judge_address(
    host: &str,
    address: &AddressFacts,
    down: Status,
    thresholds: &Thresholds,
    now: i64,
) -> AddressVerdict {
    let peer = peer(host, address);
    let mut problems = Vec::new();
    let mut problem = |status, text| problems.push(Problem::new(status, &peer, text));
    if let Some(failure) = &address.failure {
        problem(
            failure_status(failure, down),
            failure_text(address.reached, failure),
        );
    }
    let tls_problem = if thresholds.require_tls {
        Status::Critical
    } else {
        Status::Warning
    };
    let dane_problems = dane::judge_address(address);
    match &address.tls {
        Tls::NotReached => {}
        // DANE's own line says it, and why it matters.
        Tls::NotOffered if thresholds.require_tls && dane_problems.is_empty() => {
            problem(Status::Critical, "offers no STARTTLS".to_owned())
        }
        Tls::NotOffered => {}
        Tls::Refused { reply } => problem(tls_problem, format!("refused STARTTLS: {reply}")),
        Tls::Failed { error } => problem(tls_problem, format!("TLS failed: {error}")),
        // RFC 7672 §3.1: a chain DANE authenticated needs no PKIX path.
        Tls::Established {
            verification_error: Some(_),
            ..
        } if dane::trusted(address).is_some() => {}
        Tls::Established {
            verification_error: Some(error),
            ..
        } => problem(tls_problem, format!("certificate not verified: {error}")),
        Tls::Established { .. } => {}
    }
    for (status, text) in dane_problems {
        problem(status, text);
    }
    let days_left = address
        .certificate
        .as_ref()
        .map(|certificate| days_left(certificate.not_after, now));
    if let Some(days) = days_left {
        let text = if days < 0 {
            format!("certificate expired {} days ago", -days)
        } else {
            format!("certificate expires in {days} days")
        };
        if let Some(status) = alert(thresholds.cert_days, |limit| days < limit) {
            problem(status, text);
        }
    }
    if let Some(time) = address.times.greeting {
        let slower = |limit: Option<Duration>| limit.is_some_and(|limit| time > limit);
        if let Some(status) = alert(thresholds.greeting, slower) {
            problem(status, format!("greeting took {:.3}s", time.as_secs_f64()));
        }
    }
    AddressVerdict {
        status: worst(problems.iter().map(|p| p.status)),
        problems,
        days_left,
    }
}

/// Whole days from `now` to `not_after` (negative: past), rounded down.
pub(super) fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(SECONDS_PER_DAY)
}

/// CRITICAL when `beyond` the critical level, else WARNING when beyond the
/// warning level.
pub(super) fn alert<T>(levels: Levels<T>, beyond: impl Fn(T) -> bool) -> Option<Status> {
    if beyond(levels.crit) {
        Some(Status::Critical)
    } else if beyond(levels.warn) {
        Some(Status::Warning)
    } else {
        None
    }
}

/// Every problem, worst first (in host order within a status), then the
/// counts.
fn summary<'a>(
    hosts: &[HostFacts],
    verdicts: &'a [HostVerdict],
    domain_problems: impl Iterator<Item = &'a Problem>,
    domain: Option<&str>,
    up: usize,
) -> String {
    let mut problems: Vec<&Problem> = domain_problems.collect();
    for verdict in verdicts {
        problems.extend(&verdict.lookup_problem);
        problems.extend(&verdict.dane_problems);
        for address in &verdict.addresses {
            problems.extend(&address.problems);
        }
    }
    problems.sort_by_key(|p| std::cmp::Reverse(p.status));
    let mut parts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let of_domain = domain.map_or(String::new(), |d| format!(" of {d}"));
    let addresses: Vec<&AddressFacts> = hosts.iter().flat_map(HostFacts::addresses).collect();
    let with_tls = addresses
        .iter()
        .filter(|a| matches!(a.tls, Tls::Established { .. }))
        .count();
    let mut counts = format!(
        "{up} of {}{of_domain} up, {}, {with_tls} with TLS",
        count(hosts.len(), "MX host", "MX hosts"),
        count(addresses.len(), "address", "addresses"),
    );
    let soonest = verdicts
        .iter()
        .flat_map(|h| &h.addresses)
        .filter_map(|a| a.days_left)
        .min();
    match soonest {
        Some(days) if days < 0 => {
            counts.push_str(&format!(", a certificate expired {} days ago", -days))
        }
        Some(days) => counts.push_str(&format!(", first certificate expiry in {days} days")),
        None => {}
    }
    parts.push(counts);
    parts.join("; ")
}

/// Per address: connect, greeting and TLS times, certificate days; then
/// the hosts up and down.
fn perfdata(
    hosts: &[HostFacts],
    verdicts: &[HostVerdict],
    thresholds: &Thresholds,
    up: usize,
) -> Vec<Metric> {
    let seconds = |limit: Option<Duration>| limit.map(|l| above(l.as_secs_f64()));
    let mut metrics = Vec::new();
    for (host, verdict) in hosts.iter().zip(verdicts) {
        if let Some(dane) = &host.dane {
            let records = dane.lookup.as_ref().ok().map(|answer| answer.records.len());
            let records = records.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
            metrics.push(
                Metric::integer(format!("{} tlsa_records", host.name), records)
                    .bounds(Some(0), None),
            );
        }
        for (address, judged) in host.addresses().iter().zip(&verdict.addresses) {
            let peer = peer(&host.name, address);
            metrics.push(Metric::seconds(
                format!("{peer} connect"),
                address.times.connect,
            ));
            metrics.push(
                Metric::seconds(format!("{peer} greeting"), address.times.greeting)
                    .thresholds(thresholds.greeting.map(seconds)),
            );
            metrics.push(Metric::seconds(format!("{peer} tls"), address.times.tls));
            metrics.push(
                Metric::integer(format!("{peer} cert_days"), judged.days_left)
                    .thresholds(thresholds.cert_days.map(|days| Some(below(days)))),
            );
        }
    }
    let total = i64::try_from(hosts.len()).unwrap_or(i64::MAX);
    let up = i64::try_from(up).unwrap_or(i64::MAX);
    metrics.push(
        Metric::integer("mx_up".to_owned(), Some(up))
            .thresholds(Levels {
                warn: Some(below(total)),
                crit: Some(below(thresholds.min_up)),
            })
            .bounds(Some(0), Some(total)),
    );
    metrics
        .push(Metric::integer("mx_down".to_owned(), Some(total - up)).bounds(Some(0), Some(total)));
    metrics
}

/// `mta_sts_max_age` (when a policy was had) and the policy host's
/// `mta_sts cert_days` (when it presented one).
fn mta_sts_perfdata(
    facts: &StsFacts,
    verdict: &StsVerdict,
    thresholds: &Thresholds,
) -> Vec<Metric> {
    let mut metrics = Vec::new();
    if let Some(Ok(policy)) = &facts.policy {
        let max_age = Duration::from_secs(policy.max_age);
        metrics.push(Metric::seconds("mta_sts_max_age".to_owned(), Some(max_age)));
    }
    if verdict.days_left.is_some() {
        metrics.push(
            Metric::integer("mta_sts cert_days".to_owned(), verdict.days_left)
                .thresholds(thresholds.cert_days.map(|days| Some(below(days)))),
        );
    }
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check_mx::facts::{Certificate, Times};
    use crate::check_mx::perfdata::{parse, render};

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = SECONDS_PER_DAY;

    fn thresholds() -> Thresholds {
        Thresholds {
            greeting: Levels::default(),
            cert_days: Levels { warn: 30, crit: 7 },
            min_up: 1,
            require_tls: false,
            require_dane: false,
            require_mta_sts: false,
        }
    }

    /// An address that went through every step: TLS verified, a
    /// certificate with `days` left.
    fn healthy(ip: &str, days: i64) -> AddressFacts {
        AddressFacts {
            address: format!("{ip}:25").parse().expect("literal"),
            reached: Stage::Quit,
            failure: None,
            times: Times {
                connect: Some(Duration::from_millis(1)),
                greeting: Some(Duration::from_millis(2)),
                tls: Some(Duration::from_millis(3)),
            },
            greeting: Some("220 mx ESMTP".into()),
            tls: Tls::Established {
                version: "TLSv1.3".into(),
                verification_error: None,
            },
            certificate: Some(Certificate {
                subject: "CN=mx".into(),
                issuer: "CN=ca".into(),
                not_before: NOW - 30 * DAY,
                not_after: NOW + days * DAY + 60,
                not_after_text: String::new(),
            }),
            chain: Vec::new(),
            dane: None,
            dialogue: Vec::new(),
        }
    }

    fn down(ip: &str, stage: Stage, message: &str, timed_out: bool) -> AddressFacts {
        let mut facts = AddressFacts::new(format!("{ip}:25").parse().expect("literal"));
        facts.reached = stage;
        facts.failure = Some(Failure {
            message: message.into(),
            timed_out,
        });
        facts
    }

    fn host(name: &str, addresses: Vec<AddressFacts>) -> HostFacts {
        HostFacts {
            name: name.into(),
            preference: Some(10),
            lookup: Ok(addresses),
            dane: None,
        }
    }

    fn with_tls(mut facts: AddressFacts, tls: Tls) -> AddressFacts {
        facts.tls = tls;
        if !matches!(facts.tls, Tls::Established { .. }) {
            facts.certificate = None;
        }
        facts
    }

    fn judge(hosts: &[HostFacts], thresholds: &Thresholds) -> Verdict {
        evaluate(hosts, Some("d.test"), None, thresholds, NOW)
    }

    /// (case, hosts, thresholds, status, summary start)
    type Case = (
        &'static str,
        Vec<HostFacts>,
        Thresholds,
        Status,
        &'static str,
    );

    /// Each case's status, and a summary starting as the case says.
    fn assert_cases(cases: Vec<Case>) {
        for (case, hosts, thresholds, status, summary) in cases {
            let verdict = judge(&hosts, &thresholds);
            assert_eq!(verdict.status, status, "{case}: {verdict:#?}");
            assert!(
                verdict.summary.starts_with(summary),
                "{case}: {:?}",
                verdict.summary
            );
        }
    }

    #[test]
    fn statuses_and_what_the_summary_names_first() {
        let refused = || down("192.0.2.2", Stage::Connect, "Connection refused", false);
        let one_of_two_down = || {
            vec![
                host("mx1", vec![healthy("192.0.2.1", 90)]),
                host("mx2", vec![refused()]),
            ]
        };
        let require = Thresholds {
            require_tls: true,
            ..thresholds()
        };
        let cases: Vec<Case> = vec![
            (
                "all up",
                vec![host("mx1", vec![healthy("192.0.2.1", 90)])],
                thresholds(),
                Status::Ok,
                "1 of 1 MX host of d.test up, 1 address, 1 with TLS, first certificate expiry in 90 days",
            ),
            (
                "one of two hosts down: WARNING, the down host first",
                one_of_two_down(),
                thresholds(),
                Status::Warning,
                "mx2[192.0.2.2] down at connect: Connection refused; 1 of 2 MX hosts",
            ),
            (
                "one of two hosts down with --min-up 2: CRITICAL",
                one_of_two_down(),
                Thresholds {
                    min_up: 2,
                    ..thresholds()
                },
                Status::Critical,
                "mx2[192.0.2.2] down at connect",
            ),
            (
                "every host down",
                vec![host("mx2", vec![refused()])],
                thresholds(),
                Status::Critical,
                "mx2[192.0.2.2] down at connect",
            ),
            (
                "one address of an up host down: WARNING",
                vec![host("mx1", vec![healthy("192.0.2.1", 90), refused()])],
                thresholds(),
                Status::Warning,
                "mx1[192.0.2.2] down at connect",
            ),
            (
                "a timeout is CRITICAL even with another host up",
                vec![
                    host("mx1", vec![healthy("192.0.2.1", 90)]),
                    host("mx2", vec![down("192.0.2.2", Stage::Greeting, "", true)]),
                ],
                thresholds(),
                Status::Critical,
                "mx2[192.0.2.2] timed out at greeting",
            ),
            (
                "certificate expiring in 5 days, crit 3",
                vec![host("mx1", vec![healthy("192.0.2.1", 5)])],
                Thresholds {
                    cert_days: Levels { warn: 30, crit: 3 },
                    ..thresholds()
                },
                Status::Warning,
                "mx1[192.0.2.1] certificate expires in 5 days",
            ),
            (
                "certificate expiring in 5 days, crit 7",
                vec![host("mx1", vec![healthy("192.0.2.1", 5)])],
                thresholds(),
                Status::Critical,
                "mx1[192.0.2.1] certificate expires in 5 days",
            ),
            (
                "expired certificate",
                vec![host("mx1", vec![healthy("192.0.2.1", -2)])],
                thresholds(),
                Status::Critical,
                "mx1[192.0.2.1] certificate expired 2 days ago",
            ),
            (
                "no STARTTLS: fine",
                vec![host(
                    "mx1",
                    vec![with_tls(healthy("192.0.2.1", 0), Tls::NotOffered)],
                )],
                thresholds(),
                Status::Ok,
                "1 of 1 MX host of d.test up, 1 address, 0 with TLS",
            ),
            (
                "no STARTTLS with --require-tls",
                vec![host(
                    "mx1",
                    vec![with_tls(healthy("192.0.2.1", 0), Tls::NotOffered)],
                )],
                require.clone(),
                Status::Critical,
                "mx1[192.0.2.1] offers no STARTTLS",
            ),
            (
                "STARTTLS refused",
                vec![host(
                    "mx1",
                    vec![with_tls(
                        healthy("192.0.2.1", 0),
                        Tls::Refused {
                            reply: "454 4.7.0 TLS not available".into(),
                        },
                    )],
                )],
                thresholds(),
                Status::Warning,
                "mx1[192.0.2.1] refused STARTTLS: 454 4.7.0 TLS not available",
            ),
            (
                "unverified certificate, WARNING without --require-tls",
                vec![host(
                    "mx1",
                    vec![{
                        let mut facts = healthy("192.0.2.1", 90);
                        facts.tls = Tls::Established {
                            version: "TLSv1.3".into(),
                            verification_error: Some("unknown issuer".into()),
                        };
                        facts
                    }],
                )],
                thresholds(),
                Status::Warning,
                "mx1[192.0.2.1] certificate not verified: unknown issuer",
            ),
            (
                "slow greeting above -c",
                vec![host("mx1", vec![healthy("192.0.2.1", 90)])],
                Thresholds {
                    greeting: Levels {
                        warn: Some(Duration::from_micros(100)),
                        crit: Some(Duration::from_millis(1)),
                    },
                    ..thresholds()
                },
                Status::Critical,
                "mx1[192.0.2.1] greeting took 0.002s",
            ),
            (
                "a host without address is down",
                vec![
                    host("mx1", vec![healthy("192.0.2.1", 90)]),
                    HostFacts {
                        lookup: Err(Failure {
                            message: "no address".into(),
                            timed_out: false,
                        }),
                        ..host("ghost", vec![])
                    },
                ],
                thresholds(),
                Status::Warning,
                "ghost down at lookup: no address",
            ),
            (
                "fewer hosts than --min-up, all up: CRITICAL",
                vec![host("mx1", vec![healthy("192.0.2.1", 90)])],
                Thresholds {
                    min_up: 2,
                    ..thresholds()
                },
                Status::Critical,
                "only 1 MX host where --min-up wants 2",
            ),
            (
                "criticals come before warnings in the summary",
                vec![
                    host("mx1", vec![healthy("192.0.2.1", 20)]),
                    host("mx2", vec![healthy("192.0.2.2", 1)]),
                ],
                thresholds(),
                Status::Critical,
                "mx2[192.0.2.2] certificate expires in 1 days; mx1[192.0.2.1] certificate expires in 20 days",
            ),
            (
                "nothing to check",
                vec![],
                thresholds(),
                Status::Unknown,
                "no MX host",
            ),
        ];
        assert_cases(cases);
    }

    /// `mx2` at `preference`, up, whose TLSA lookup found no records.
    fn backup_without_tlsa(preference: u16) -> HostFacts {
        use crate::check_mx::facts::{DaneFacts, TlsaAnswer};
        HostFacts {
            preference: Some(preference),
            dane: Some(DaneFacts {
                tlsa_name: "_25._tcp.mx2".into(),
                mx_validated: Some(true),
                lookup: Ok(TlsaAnswer::default()),
            }),
            ..host("mx2", vec![healthy("192.0.2.2", 90)])
        }
    }

    /// `mx1` with validated TLSA `3 1 1` and one address whose TLS is
    /// `tls` and whose chain matched (`Some(true)`), did not (`Some(false)`)
    /// or was not matched at all (`None`).
    fn dane_host(tls: Tls, matched: Option<bool>) -> HostFacts {
        use crate::check_mx::dane::{DaneMatch, Tlsa, Trust};
        use crate::check_mx::facts::{DaneFacts, TlsaAnswer};
        let tlsa = Tlsa {
            usage: 3,
            selector: 1,
            matching_type: 1,
            data: vec![7; 32],
        };
        let mut address = with_tls(healthy("192.0.2.1", 90), tls);
        address.dane = matched.map(|matched| DaneMatch {
            matched: if matched { vec![tlsa.clone()] } else { vec![] },
            trust: matched.then_some(Trust::DaneEe),
            error: (!matched).then(|| "no TLSA record matches the certificate chain".into()),
        });
        HostFacts {
            dane: Some(DaneFacts {
                tlsa_name: "_25._tcp.mx1".into(),
                mx_validated: Some(true),
                lookup: Ok(TlsaAnswer {
                    records: vec![tlsa.clone(), tlsa],
                    validated: true,
                }),
            }),
            ..host("mx1", vec![address])
        }
    }

    #[test]
    fn dane_statuses() {
        let verified = || Tls::Established {
            version: "TLSv1.3".into(),
            verification_error: None,
        };
        let unverified = || Tls::Established {
            version: "TLSv1.3".into(),
            verification_error: Some("UnknownIssuer".into()),
        };
        let cases: Vec<Case> = vec![
            (
                "matched",
                vec![dane_host(verified(), Some(true))],
                thresholds(),
                Status::Ok,
                "1 of 1 MX host of d.test up",
            ),
            (
                "no record matches: CRITICAL naming host and address",
                vec![dane_host(verified(), Some(false))],
                thresholds(),
                Status::Critical,
                "mx1[192.0.2.1] DANE: no TLSA record matches the certificate chain",
            ),
            (
                "DANE-EE trusts a chain PKIX does not, even with --require-tls",
                vec![dane_host(unverified(), Some(true))],
                Thresholds {
                    require_tls: true,
                    ..thresholds()
                },
                Status::Ok,
                "1 of 1 MX host of d.test up",
            ),
            (
                "no STARTTLS under validated TLSA: CRITICAL",
                vec![dane_host(Tls::NotOffered, Some(false))],
                thresholds(),
                Status::Critical,
                "mx1[192.0.2.1] offers no STARTTLS but has TLSA records",
            ),
            (
                "--require-dane and a host without TLSA lookup",
                vec![host("mx1", vec![healthy("192.0.2.1", 90)])],
                Thresholds {
                    require_dane: true,
                    ..thresholds()
                },
                Status::Critical,
                "mx1 has no TLSA records to look up (--require-dane)",
            ),
            (
                "a backup MX without TLSA where the primary has DANE: named",
                vec![dane_host(verified(), Some(true)), backup_without_tlsa(20)],
                thresholds(),
                Status::Warning,
                "mx2 backup MX without TLSA records while mx1 (MX 10) has DANE",
            ),
            (
                "the same preference is no backup",
                vec![dane_host(verified(), Some(true)), backup_without_tlsa(10)],
                thresholds(),
                Status::Ok,
                "2 of 2 MX hosts of d.test up",
            ),
        ];
        assert_cases(cases);
    }

    #[test]
    fn perfdata_has_every_address_and_the_counts() {
        let hosts = [
            host("mx1", vec![healthy("192.0.2.1", 90)]),
            host(
                "mx2",
                vec![down("192.0.2.2", Stage::Connect, "refused", false)],
            ),
        ];
        let verdict = judge(&hosts, &thresholds());
        let text = render(&verdict.perfdata);
        let parsed = parse(&text).expect("valid perfdata");
        let labels: Vec<&str> = parsed.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "mx1[192.0.2.1] connect",
                "mx1[192.0.2.1] greeting",
                "mx1[192.0.2.1] tls",
                "mx1[192.0.2.1] cert_days",
                "mx2[192.0.2.2] connect",
                "mx2[192.0.2.2] greeting",
                "mx2[192.0.2.2] tls",
                "mx2[192.0.2.2] cert_days",
                "mx_up",
                "mx_down",
            ]
        );
        assert!(
            text.contains("'mx1[192.0.2.1] cert_days'=90;30:;7:"),
            "{text}"
        );
        assert!(text.contains("'mx2[192.0.2.2] connect'=U;;;0"), "{text}");
        assert!(
            text.ends_with("'mx_up'=1;2:;1:;0;2 'mx_down'=1;;;0;2"),
            "{text}"
        );
    }
}
