//! What check_mx prints: the plugin text (Monitoring Plugins guidelines,
//! "Plugin Output": the first line `MX STATUS - summary | perfdata`, then
//! one detail line per host and address), or with `--json` one JSON
//! object holding the same facts (its schema is in check_mx(1)).

use std::time::Duration;

use serde::Serialize;

use super::dane::{self, DaneMatch, Tlsa};
use super::evaluate::{AddressVerdict, HostVerdict, Problem, Status, Verdict, peer};
use super::facts::{AddressFacts, DaneFacts, HostFacts, Stage, StsFacts, Tls};
use super::hosts::Source;
use super::mta_sts::StsVerdict;
use super::perfdata;

/// Everything a run found out and decided.
pub struct Report {
    /// The domain looked up (`None` with `-H`).
    pub domain: Option<String>,
    pub source: Source,
    pub port: u16,
    /// Why nothing could be checked (the MX lookup failed).
    pub error: Option<String>,
    pub hosts: Vec<HostFacts>,
    /// The domain's MTA-STS and TLS-RPT (`None`: not looked up).
    pub mta_sts: Option<StsFacts>,
    pub verdict: Verdict,
}

/// The service name on the first line.
const SERVICE: &str = "MX";

/// The plugin output, every line ending in a newline.
pub fn text(report: &Report) -> String {
    let verdict = &report.verdict;
    // The first `|` starts the performance data: none may come earlier.
    let mut first = plugin_safe(&format!(
        "{SERVICE} {} - {}",
        verdict.status, verdict.summary
    ));
    if !verdict.perfdata.is_empty() {
        first.push_str(" | ");
        first.push_str(&perfdata::render(&verdict.perfdata));
    }
    let mut out = first + "\n";
    for (host, judged) in report.hosts.iter().zip(&verdict.hosts) {
        let preference = host
            .preference
            .map_or(String::new(), |p| format!(" (MX {p})"));
        for problem in judged.lookup_problem.iter().chain(&judged.dane_problems) {
            let line = format!(
                "{}{preference}: {} - {}",
                host.name, problem.status, problem.text
            );
            out.push_str(&plugin_safe(&line));
            out.push('\n');
        }
        for note in &judged.notes {
            let line = format!("{}{preference}: note - {note}", host.name);
            out.push_str(&plugin_safe(&line));
            out.push('\n');
        }
        for (address, verdict) in host.addresses().iter().zip(&judged.addresses) {
            let line = format!(
                "{}{preference}: {} - {}",
                peer(&host.name, address),
                verdict.status,
                detail(address, verdict)
            );
            out.push_str(&plugin_safe(&line));
            out.push('\n');
        }
    }
    if let (Some(facts), Some(judged)) = (&report.mta_sts, &verdict.mta_sts) {
        out.push_str(&plugin_safe(&sts_line(facts, judged)));
        out.push('\n');
        if let Some(tls_rpt) = &facts.tls_rpt {
            let line = match tls_rpt {
                Ok(record) => format!(
                    "TLS-RPT: {} (reports to {})",
                    record.record,
                    record.rua.join(", ")
                ),
                Err(error) => format!("TLS-RPT: record unusable: {error}"),
            };
            out.push_str(&plugin_safe(&line));
            out.push('\n');
        }
    }
    for host in &report.hosts {
        for address in host.addresses().iter().filter(|a| !a.dialogue.is_empty()) {
            out.push_str(&format!("dialogue with {}:\n", peer(&host.name, address)));
            for line in &address.dialogue {
                out.push_str("  ");
                out.push_str(&plugin_safe(line));
                out.push('\n');
            }
        }
    }
    out
}

/// Text as a line of plugin output: no `|` (it would start performance
/// data) and no control characters (some of it is the server's).
fn plugin_safe(text: &str) -> String {
    let safe = |c: char| match c {
        '|' => '/',
        c if c.is_control() => '?',
        c => c,
    };
    text.chars().map(safe).collect()
}

/// One address: its problems, then what was seen.
fn detail(address: &AddressFacts, verdict: &AddressVerdict) -> String {
    let mut parts: Vec<String> = verdict.problems.iter().map(|p| p.text.clone()).collect();
    let time = |t: Duration| format!("{:.3}s", t.as_secs_f64());
    let times = address.times;
    if let Some(t) = times.connect {
        parts.push(format!("connected in {}", time(t)));
    }
    if let (Some(greeting), Some(t)) = (&address.greeting, times.greeting) {
        parts.push(format!("greeting in {}: {greeting}", time(t)));
    }
    match &address.tls {
        Tls::NotOffered => parts.push("no STARTTLS offered".to_owned()),
        Tls::Established {
            version,
            verification_error,
        } => {
            let trust = match verification_error {
                None => "verified",
                Some(_) => "not verified",
            };
            let took = times
                .tls
                .map_or(String::new(), |t| format!(" in {}", time(t)));
            parts.push(format!("{version}{took}, certificate {trust}"));
        }
        Tls::NotReached | Tls::Refused { .. } | Tls::Failed { .. } => {}
    }
    if let Some(trusted) = dane::trusted(address) {
        parts.push(trusted);
    }
    if let (Some(certificate), Some(days)) = (&address.certificate, verdict.days_left) {
        parts.push(format!(
            "certificate {} issued by {} valid until {} ({days} days)",
            certificate.subject, certificate.issuer, certificate.not_after_text
        ));
    }
    if address.reached == Stage::Quit && address.failure.is_none() {
        parts.push("QUIT".to_owned());
    }
    parts.join("; ")
}

/// The domain's MTA-STS line: its problems, then what was found.
fn sts_line(facts: &StsFacts, verdict: &StsVerdict) -> String {
    let mut parts: Vec<String> = verdict.problems.iter().map(|p| p.text.clone()).collect();
    match (&facts.txt, &facts.policy) {
        (Ok(None), _) => parts.push("no policy published (no _mta-sts TXT record)".to_owned()),
        (Ok(Some(record)), policy) => {
            parts.push(format!("id {}", record.id));
            if let Some(Ok(policy)) = policy {
                parts.push(format!(
                    "mode {}, max_age {}, mx {}",
                    policy.mode.name(),
                    policy.max_age,
                    policy.mx.join(" ")
                ));
            }
        }
        (Err(_), _) => {}
    }
    if !verdict.uncovered.is_empty() {
        parts.push(format!("not covered: {}", verdict.uncovered.join(" ")));
    }
    parts.extend(verdict.note.clone());
    if let Some(host) = &facts.policy_host {
        let trust = match &host.verification_error {
            None => "verified".to_owned(),
            Some(error) => format!("not verified ({error})"),
        };
        let mut text = format!("policy host {} certificate {trust}", host.address.ip());
        if let (Some(certificate), Some(days)) = (&host.certificate, verdict.days_left) {
            text.push_str(&format!(
                ", {} issued by {} valid until {} ({days} days)",
                certificate.subject, certificate.issuer, certificate.not_after_text
            ));
        }
        parts.push(text);
    }
    format!("MTA-STS: {} - {}", verdict.status, parts.join("; "))
}

/// The `--json` object, one line.
pub fn json(report: &Report) -> String {
    let hosts = report
        .hosts
        .iter()
        .zip(&report.verdict.hosts)
        .map(|(host, verdict)| json_host(host, verdict))
        .collect();
    let up = report.verdict.hosts.iter().filter(|h| h.up).count();
    let object = JsonReport {
        status: report.verdict.status,
        exit_status: report.verdict.status.exit_status(),
        summary: &report.verdict.summary,
        domain: report.domain.as_deref(),
        source: report.source.name(),
        port: report.port,
        error: report.error.as_deref(),
        mx_up: up,
        mx_down: report.hosts.len() - up,
        hosts,
        mta_sts: report
            .mta_sts
            .as_ref()
            .zip(report.verdict.mta_sts.as_ref())
            .map(|(facts, verdict)| {
                json_sts(report.domain.as_deref().unwrap_or_default(), facts, verdict)
            }),
        tls_rpt: report
            .mta_sts
            .as_ref()
            .and_then(|facts| facts.tls_rpt.as_ref())
            .map(|found| match found {
                Ok(record) => JsonTlsRpt {
                    record: Some(&record.record),
                    rua: record.rua.iter().map(String::as_str).collect(),
                    error: None,
                },
                Err(error) => JsonTlsRpt {
                    record: None,
                    rua: Vec::new(),
                    error: Some(error),
                },
            }),
    };
    crate::json::one_line(&object)
}

fn json_sts<'a>(domain: &str, facts: &'a StsFacts, verdict: &'a StsVerdict) -> JsonSts<'a> {
    let record = facts.txt.as_ref().ok().and_then(Option::as_ref);
    let policy = facts.policy.as_ref().and_then(|p| p.as_ref().ok());
    let error = match (&facts.txt, &facts.policy) {
        (Err(failure), _) | (_, Some(Err(failure))) => Some(failure.message.as_str()),
        _ => None,
    };
    JsonSts {
        status: verdict.status,
        txt: record.map(|r| r.text.as_str()),
        id: record.map(|r| r.id.as_str()),
        policy_url: record.map(|_| super::policy::policy_url(domain)),
        version: policy.map(|p| p.version.as_str()),
        mode: policy.map(|p| p.mode.name()),
        mx: policy.map_or_else(Vec::new, |p| p.mx.iter().map(String::as_str).collect()),
        max_age: policy.map(|p| p.max_age),
        uncovered: verdict.uncovered.iter().map(String::as_str).collect(),
        policy_host: facts.policy_host.as_ref().map(|host| JsonPolicyHost {
            address: host.address.ip().to_string(),
            certificate: host.certificate.as_ref().map(|c| JsonCertificate {
                subject: &c.subject,
                issuer: &c.issuer,
                not_after: &c.not_after_text,
                days_left: verdict.days_left,
            }),
            days_left: verdict.days_left,
            verified: host.verification_error.is_none() && host.certificate.is_some(),
            verification_error: host.verification_error.as_deref(),
        }),
        error,
        problems: verdict.problems.iter().collect(),
    }
}

fn json_host<'a>(host: &'a HostFacts, verdict: &'a HostVerdict) -> JsonHost<'a> {
    let addresses = host
        .addresses()
        .iter()
        .zip(&verdict.addresses)
        .map(|(address, verdict)| json_address(address, verdict))
        .collect();
    JsonHost {
        name: &host.name,
        preference: host.preference,
        up: verdict.up,
        status: verdict.status,
        lookup_error: host.lookup_failure().map(|f| f.message.as_str()),
        problems: verdict
            .lookup_problem
            .iter()
            .chain(&verdict.dane_problems)
            .collect(),
        notes: &verdict.notes,
        dane: host.dane.as_ref().map(json_host_dane),
        addresses,
    }
}

fn json_host_dane(dane: &DaneFacts) -> JsonHostDane<'_> {
    let records = dane.lookup.as_ref().map_or(&[][..], |a| &a.records[..]);
    JsonHostDane {
        tlsa_name: &dane.tlsa_name,
        validated: dane.lookup.as_ref().is_ok_and(|a| a.validated),
        mx_validated: dane.mx_validated,
        records: records
            .iter()
            .map(|record| JsonTlsa {
                usage: record.usage,
                selector: record.selector,
                matching_type: record.matching_type,
                data: record.hex(),
                usable: record.unusable().is_none(),
            })
            .collect(),
        error: dane.lookup.as_ref().err().map(|f| f.message.as_str()),
    }
}

fn json_address_dane(found: &DaneMatch) -> JsonAddressDane<'_> {
    let text = |r: &Tlsa| format!("{} {}", r.parameters(), r.hex());
    JsonAddressDane {
        matched: found.trust.is_some(),
        matched_records: found.matched.iter().map(text).collect(),
        trust: found.trust.map(dane::Trust::name),
        error: found.error.as_deref(),
    }
}

fn json_address<'a>(address: &'a AddressFacts, verdict: &'a AddressVerdict) -> JsonAddress<'a> {
    let seconds = |t: Option<Duration>| t.map(|t| t.as_secs_f64());
    let (state, version, reply, error, verification_error) = match &address.tls {
        Tls::NotReached => ("not_reached", None, None, None, None),
        Tls::NotOffered => ("not_offered", None, None, None, None),
        Tls::Refused { reply } => ("refused", None, Some(reply.as_str()), None, None),
        Tls::Failed { error } => ("failed", None, None, Some(error.as_str()), None),
        Tls::Established {
            version,
            verification_error,
        } => (
            "established",
            Some(version.as_str()),
            None,
            None,
            verification_error.as_deref(),
        ),
    };
    let verified = (state == "established").then_some(verification_error.is_none());
    JsonAddress {
        address: address.address.ip().to_string(),
        status: verdict.status,
        up: address.is_up(),
        reached: address.reached,
        error: address.failure.as_ref().map(|f| f.message.as_str()),
        timed_out: address.failure.as_ref().is_some_and(|f| f.timed_out),
        greeting: address.greeting.as_deref(),
        times: JsonTimes {
            connect: seconds(address.times.connect),
            greeting: seconds(address.times.greeting),
            tls: seconds(address.times.tls),
        },
        tls: JsonTls {
            state,
            version,
            reply,
            error,
            verified,
            verification_error,
        },
        certificate: address.certificate.as_ref().map(|c| JsonCertificate {
            subject: &c.subject,
            issuer: &c.issuer,
            not_after: &c.not_after_text,
            days_left: verdict.days_left,
        }),
        problems: verdict.problems.iter().collect(),
        dane: address.dane.as_ref().map(json_address_dane),
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    status: Status,
    exit_status: u8,
    summary: &'a str,
    domain: Option<&'a str>,
    source: &'static str,
    port: u16,
    error: Option<&'a str>,
    mx_up: usize,
    mx_down: usize,
    hosts: Vec<JsonHost<'a>>,
    mta_sts: Option<JsonSts<'a>>,
    tls_rpt: Option<JsonTlsRpt<'a>>,
}

#[derive(Serialize)]
struct JsonSts<'a> {
    status: Status,
    txt: Option<&'a str>,
    id: Option<&'a str>,
    policy_url: Option<String>,
    version: Option<&'a str>,
    mode: Option<&'static str>,
    mx: Vec<&'a str>,
    max_age: Option<u64>,
    uncovered: Vec<&'a str>,
    policy_host: Option<JsonPolicyHost<'a>>,
    error: Option<&'a str>,
    problems: Vec<&'a Problem>,
}

#[derive(Serialize)]
struct JsonPolicyHost<'a> {
    address: String,
    certificate: Option<JsonCertificate<'a>>,
    days_left: Option<i64>,
    verified: bool,
    verification_error: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonTlsRpt<'a> {
    record: Option<&'a str>,
    rua: Vec<&'a str>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonHost<'a> {
    name: &'a str,
    preference: Option<u16>,
    up: bool,
    status: Status,
    lookup_error: Option<&'a str>,
    problems: Vec<&'a Problem>,
    notes: &'a [String],
    dane: Option<JsonHostDane<'a>>,
    addresses: Vec<JsonAddress<'a>>,
}

#[derive(Serialize)]
struct JsonHostDane<'a> {
    tlsa_name: &'a str,
    validated: bool,
    mx_validated: Option<bool>,
    records: Vec<JsonTlsa>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonTlsa {
    usage: u8,
    selector: u8,
    matching_type: u8,
    data: String,
    usable: bool,
}

#[derive(Serialize)]
struct JsonAddressDane<'a> {
    matched: bool,
    matched_records: Vec<String>,
    trust: Option<&'static str>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonAddress<'a> {
    address: String,
    status: Status,
    up: bool,
    reached: Stage,
    error: Option<&'a str>,
    timed_out: bool,
    greeting: Option<&'a str>,
    times: JsonTimes,
    tls: JsonTls<'a>,
    certificate: Option<JsonCertificate<'a>>,
    problems: Vec<&'a Problem>,
    dane: Option<JsonAddressDane<'a>>,
}

#[derive(Serialize)]
struct JsonTimes {
    connect: Option<f64>,
    greeting: Option<f64>,
    tls: Option<f64>,
}

#[derive(Serialize)]
struct JsonTls<'a> {
    state: &'static str,
    version: Option<&'a str>,
    reply: Option<&'a str>,
    error: Option<&'a str>,
    verified: Option<bool>,
    verification_error: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonCertificate<'a> {
    subject: &'a str,
    issuer: &'a str,
    not_after: &'a str,
    days_left: Option<i64>,
}

/// A report of `hosts` for d.test's MX answer, judged at `now` with the
/// default thresholds: the tests' fixture here and in the Prometheus
/// output.
#[cfg(test)]
pub(crate) fn test_report(hosts: Vec<super::facts::HostFacts>, now: i64) -> Report {
    use super::evaluate::{Thresholds, evaluate};
    use super::perfdata::Levels;
    let thresholds = Thresholds {
        greeting: Levels::default(),
        cert_days: Levels { warn: 21, crit: 7 },
        min_up: 1,
        require_tls: false,
        require_dane: false,
        require_mta_sts: false,
    };
    let verdict = evaluate(&hosts, Some("d.test"), None, &thresholds, now);
    Report {
        domain: Some("d.test".into()),
        source: Source::Listed,
        port: 25,
        error: None,
        hosts,
        mta_sts: None,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check_mx::facts::{Failure, HostFacts};

    fn report(reply: &str) -> Report {
        let mut address = AddressFacts::new("192.0.2.1:25".parse().expect("literal"));
        address.reached = Stage::Greeting;
        address.failure = Some(Failure {
            message: reply.to_owned(),
            timed_out: false,
        });
        let hosts = vec![HostFacts {
            name: "mx.test".into(),
            preference: Some(10),
            lookup: Ok(vec![address]),
            dane: None,
        }];
        test_report(hosts, 0)
    }

    #[test]
    fn a_server_cannot_start_the_perfdata_early() {
        let text = text(&report("554 a|b='1'"));
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(first.matches('|').count(), 1, "{text}");
        assert!(first.starts_with("MX CRITICAL - mx.test[192.0.2.1] down at greeting: 554 a/b="));
        assert!(
            !text.lines().nth(1).unwrap_or_default().contains('|'),
            "{text}"
        );
    }

    #[test]
    fn one_line_per_address_after_the_first() {
        let text = text(&report("554 no"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(
            lines[1],
            "mx.test[192.0.2.1] (MX 10): CRITICAL - down at greeting: 554 no"
        );
    }

    #[test]
    fn json_is_one_object_on_one_line() {
        let json = json(&report("554 no"));
        assert_eq!(json.lines().count(), 1);
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(value["status"], "CRITICAL");
        assert_eq!(value["hosts"][0]["addresses"][0]["reached"], "greeting");
        assert_eq!(value["hosts"][0]["preference"], 10);
    }
}
