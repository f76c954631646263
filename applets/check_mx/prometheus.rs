//! `--prometheus` and `--prometheus-file`: the facts of a run in the
//! Prometheus text exposition format, version 0.0.4, for node_exporter's
//! textfile collector. Pure: the [`Report`] and the run's duration in,
//! the text out (the metric names and their meaning are in check_mx(1)).
//!
//! Where blackbox_exporter has a metric for the same fact its name is
//! used (`probe_success`, `probe_duration_seconds`,
//! `probe_ssl_earliest_cert_expiry`, `probe_tls_version_info`); the rest
//! are `check_mx_*`, per MX host (labels `mx`, `preference`) and per
//! address (and `address`, `family`). Prometheus has no "unknown" value,
//! so a fact not known (a time of a step never done, a certificate never
//! seen) is a series left out, never a made-up number.

use std::collections::BTreeSet;
use std::time::Duration;

use super::evaluate::Status;
use super::facts::{AddressFacts, HostFacts, StsFacts, Tls};
use super::output::Report;

/// The `Content-Type` version of the text format these lines follow.
pub const FORMAT_VERSION: &str = "0.0.4";

/// The text for a run that took `duration`, every line ending in `\n`.
pub fn render(report: &Report, duration: Duration) -> String {
    let mut families = Families::default();
    run_metrics(&mut families, report, duration);
    // Which MX hosts a fetched MTA-STS policy leaves uncovered.
    let uncovered = report
        .mta_sts
        .as_ref()
        .filter(|facts| matches!(facts.policy, Some(Ok(_))))
        .zip(report.verdict.mta_sts.as_ref())
        .map(|(_, verdict)| &verdict.uncovered);
    for (host, verdict) in report.hosts.iter().zip(&report.verdict.hosts) {
        let host_labels = host_labels(host);
        families.add(
            "check_mx_host_up",
            "1 when one of the MX host's addresses greeted and accepted EHLO, else 0.",
            &host_labels,
            bool_value(verdict.up),
        );
        if let Some(Ok(answer)) = host.dane.as_ref().map(|dane| &dane.lookup) {
            families.add(
                "check_mx_tlsa_records",
                "TLSA records at the MX host's _port._tcp name (RFC 7672), usable or not.",
                &host_labels,
                answer.records.len().to_string(),
            );
            families.add(
                "check_mx_tlsa_validated",
                "1 when DNSSEC validated the TLSA answer (the AD bit), else 0.",
                &host_labels,
                bool_value(answer.validated),
            );
        }
        for (address, judged) in host.addresses().iter().zip(&verdict.addresses) {
            let labels = address_labels(&host_labels, address);
            address_metrics(&mut families, &labels, address, judged.status);
            if let Some(uncovered) = uncovered {
                families.add(
                    "check_mx_mta_sts_covered",
                    "1 when a pattern of the domain's MTA-STS policy covers the MX host, else 0.",
                    &labels,
                    bool_value(!uncovered.contains(&host.name)),
                );
            }
        }
    }
    if let Some(facts) = &report.mta_sts {
        mta_sts_metrics(&mut families, facts);
    }
    families.render()
}

/// The domain's MTA-STS policy: its mode, max_age and the policy host's
/// certificate, each when known.
fn mta_sts_metrics(families: &mut Families, facts: &StsFacts) {
    if let Some(Ok(policy)) = &facts.policy {
        families.add(
            "check_mx_mta_sts_mode_info",
            "1, labelled with the mode of the domain's MTA-STS policy.",
            &[("mode", policy.mode.name().to_owned())],
            "1".to_owned(),
        );
        families.add(
            "check_mx_mta_sts_max_age_seconds",
            "The max_age of the domain's MTA-STS policy.",
            &[],
            policy.max_age.to_string(),
        );
    }
    let certificate = facts
        .policy_host
        .as_ref()
        .and_then(|h| h.certificate.as_ref());
    if let Some(certificate) = certificate {
        families.add(
            "check_mx_mta_sts_policy_cert_not_after",
            "The MTA-STS policy host's certificate notAfter, in seconds since the Unix epoch.",
            &[],
            certificate.not_after.to_string(),
        );
    }
}

/// The whole run's series, blackbox_exporter's names first.
fn run_metrics(families: &mut Families, report: &Report, duration: Duration) {
    let verdict = &report.verdict;
    families.add(
        "probe_success",
        "1 when the check_mx status is OK, else 0 (WARNING included).",
        &[],
        bool_value(verdict.status == Status::Ok),
    );
    families.add(
        "probe_duration_seconds",
        "How long the check_mx run took, lookups included.",
        &[],
        duration.as_secs_f64().to_string(),
    );
    let addresses = || report.hosts.iter().flat_map(HostFacts::addresses);
    if let Some(earliest) = addresses()
        .filter_map(|a| a.certificate.as_ref().map(|c| c.not_after))
        .min()
    {
        families.add(
            "probe_ssl_earliest_cert_expiry",
            "The earliest notAfter of the certificates seen, in seconds since the Unix epoch.",
            &[],
            earliest.to_string(),
        );
    }
    let versions: BTreeSet<String> = addresses()
        .filter_map(|a| match &a.tls {
            Tls::Established { version, .. } => Some(version_label(version)),
            _ => None,
        })
        .collect();
    for version in versions {
        families.add(
            "probe_tls_version_info",
            "1 for each TLS version an address negotiated.",
            &[("version", version)],
            "1".to_owned(),
        );
    }
    families.add(
        "check_mx_status",
        "The plugin status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        &[],
        verdict.status.exit_status().to_string(),
    );
    let up = verdict.hosts.iter().filter(|h| h.up).count();
    families.add("check_mx_hosts_up", "MX hosts up.", &[], up.to_string());
    families.add(
        "check_mx_hosts_down",
        "MX hosts down (a failed host lookup included).",
        &[],
        (report.hosts.len() - up).to_string(),
    );
}

/// One address's series, each only when its fact is known.
fn address_metrics(
    families: &mut Families,
    labels: &[(&'static str, String)],
    address: &AddressFacts,
    status: Status,
) {
    families.add(
        "check_mx_address_up",
        "1 when the address greeted 220 and accepted EHLO or HELO in time, else 0.",
        labels,
        bool_value(address.is_up()),
    );
    families.add(
        "check_mx_address_status",
        "The address's plugin status: 0 OK, 1 WARNING, 2 CRITICAL.",
        labels,
        status.exit_status().to_string(),
    );
    let times = [
        (
            "check_mx_connect_seconds",
            "Seconds to establish the TCP connection.",
            address.times.connect,
        ),
        (
            "check_mx_greeting_seconds",
            "Seconds from the connection to the end of the 220 greeting.",
            address.times.greeting,
        ),
        (
            "check_mx_tls_seconds",
            "Seconds for STARTTLS and the TLS handshake.",
            address.times.tls,
        ),
    ];
    for (name, help, time) in times {
        if let Some(time) = time {
            families.add(name, help, labels, time.as_secs_f64().to_string());
        }
    }
    if let Tls::Established {
        verification_error, ..
    } = &address.tls
    {
        families.add(
            "check_mx_cert_verified",
            "1 when the certificate verified for the MX host name, else 0 (TLS established only).",
            labels,
            bool_value(verification_error.is_none()),
        );
    }
    if let Some(found) = &address.dane {
        families.add(
            "check_mx_dane_matched",
            "1 when a validated, usable TLSA record matched the address's chain, else 0 (only where such records exist).",
            labels,
            bool_value(found.trust.is_some()),
        );
    }
    if let Some(certificate) = &address.certificate {
        families.add(
            "check_mx_cert_not_before",
            "The certificate's notBefore, in seconds since the Unix epoch.",
            labels,
            certificate.not_before.to_string(),
        );
        families.add(
            "check_mx_cert_not_after",
            "The certificate's notAfter, in seconds since the Unix epoch.",
            labels,
            certificate.not_after.to_string(),
        );
    }
}

/// `mx` and `preference` (empty for a `-H` host).
fn host_labels(host: &HostFacts) -> Vec<(&'static str, String)> {
    let preference = host.preference.map_or(String::new(), |p| p.to_string());
    vec![("mx", host.name.clone()), ("preference", preference)]
}

/// A host's labels and `address`, `family`.
fn address_labels(
    host: &[(&'static str, String)],
    address: &AddressFacts,
) -> Vec<(&'static str, String)> {
    let ip = address.address.ip();
    let family = if ip.is_ipv4() { "ipv4" } else { "ipv6" };
    let mut labels = host.to_vec();
    labels.push(("address", ip.to_string()));
    labels.push(("family", family.to_owned()));
    labels
}

/// rustls's `TLSv1.3` as blackbox_exporter labels it: `TLS 1.3`.
fn version_label(version: &str) -> String {
    match version.strip_prefix("TLSv") {
        Some(number) => format!("TLS {number}"),
        None => version.to_owned(),
    }
}

fn bool_value(value: bool) -> String {
    u8::from(value).to_string()
}

/// The metric families in the order first added, each with its samples:
/// the format wants a family's samples together after its one `# HELP`
/// and `# TYPE`, and no series twice.
#[derive(Default)]
struct Families(Vec<Family>);

struct Family {
    name: &'static str,
    help: &'static str,
    /// `{labels}` (or empty) and the value, in the order added.
    samples: Vec<(String, String)>,
}

impl Families {
    /// A sample of the gauge `name`; a series already there is kept (a
    /// host named twice on the command line is one series).
    fn add(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, String)],
        value: String,
    ) {
        let labels = label_set(labels);
        let index = match self.0.iter().position(|f| f.name == name) {
            Some(index) => index,
            None => {
                self.0.push(Family {
                    name,
                    help,
                    samples: Vec::new(),
                });
                self.0.len() - 1
            }
        };
        let family = &mut self.0[index];
        if !family.samples.iter().any(|(seen, _)| *seen == labels) {
            family.samples.push((labels, value));
        }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for family in &self.0 {
            out.push_str(&format!("# HELP {} {}\n", family.name, family.help));
            out.push_str(&format!("# TYPE {} gauge\n", family.name));
            for (labels, value) in &family.samples {
                out.push_str(&format!("{}{labels} {value}\n", family.name));
            }
        }
        out
    }
}

/// `{name="value",...}`, or nothing without labels.
fn label_set(labels: &[(&'static str, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", escape_label_value(value)))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// A label value as the text format wants it: backslash, double quote and
/// line feed escaped (`\\`, `\"`, `\n`); host names come from DNS and may
/// hold anything.
fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check_mx::facts::{Certificate, Failure, Stage, Times};

    const NOW: i64 = 1_800_000_000;

    fn up_with_tls(ip: &str, not_after: i64) -> AddressFacts {
        let mut facts = AddressFacts::new(format!("{ip}:25").parse().expect("literal"));
        facts.reached = Stage::Quit;
        facts.times = Times {
            connect: Some(Duration::from_millis(1)),
            greeting: Some(Duration::from_millis(250)),
            tls: Some(Duration::from_millis(3)),
        };
        facts.greeting = Some("220 mx ESMTP".into());
        facts.tls = Tls::Established {
            version: "TLSv1.3".into(),
            verification_error: None,
        };
        facts.certificate = Some(Certificate {
            subject: "CN=mx".into(),
            issuer: "CN=ca".into(),
            not_before: NOW - 100,
            not_after,
            not_after_text: String::new(),
        });
        facts
    }

    fn down(ip: &str) -> AddressFacts {
        let mut facts = AddressFacts::new(ip.parse().expect("literal"));
        facts.failure = Some(Failure {
            message: "Connection refused".into(),
            timed_out: false,
        });
        facts
    }

    fn report(hosts: Vec<HostFacts>) -> Report {
        crate::check_mx::output::test_report(hosts, NOW)
    }

    fn host(name: &str, preference: Option<u16>, addresses: Vec<AddressFacts>) -> HostFacts {
        HostFacts {
            name: name.into(),
            preference,
            lookup: Ok(addresses),
            dane: None,
        }
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn the_run_and_every_address_have_their_samples() {
        let hosts = vec![
            host(
                "mx1.d.test",
                Some(10),
                vec![
                    up_with_tls("192.0.2.1", NOW + 90 * 86_400),
                    down("[2001:db8::1]:25"),
                ],
            ),
            host(
                "mx2.d.test",
                Some(20),
                vec![up_with_tls("192.0.2.2", NOW + 10)],
            ),
        ];
        let text = render(&report(hosts), Duration::from_millis(1500));
        let lines = lines(&text);
        let mx1 = r#"mx="mx1.d.test",preference="10""#;
        for wanted in [
            "probe_success 0".to_owned(),
            "probe_duration_seconds 1.5".to_owned(),
            format!("probe_ssl_earliest_cert_expiry {}", NOW + 10),
            r#"probe_tls_version_info{version="TLS 1.3"} 1"#.to_owned(),
            "check_mx_status 2".to_owned(),
            "check_mx_hosts_up 2".to_owned(),
            "check_mx_hosts_down 0".to_owned(),
            format!("check_mx_host_up{{{mx1}}} 1"),
            format!(r#"check_mx_address_up{{{mx1},address="192.0.2.1",family="ipv4"}} 1"#),
            format!(r#"check_mx_address_up{{{mx1},address="2001:db8::1",family="ipv6"}} 0"#),
            format!(r#"check_mx_greeting_seconds{{{mx1},address="192.0.2.1",family="ipv4"}} 0.25"#),
            format!(
                r#"check_mx_cert_not_after{{{mx1},address="192.0.2.1",family="ipv4"}} {}"#,
                NOW + 90 * 86_400
            ),
            format!(
                r#"check_mx_cert_not_before{{{mx1},address="192.0.2.1",family="ipv4"}} {}"#,
                NOW - 100
            ),
        ] {
            assert!(lines.contains(&wanted.as_str()), "no {wanted}:\n{text}");
        }
        // Unknown facts are no series: the down address has no times.
        assert!(
            !text.contains(r#"greeting_seconds{mx="mx1.d.test",preference="10",address="2001"#)
        );
        assert_eq!(
            text.matches("# TYPE probe_tls_version_info gauge").count(),
            1
        );
    }

    #[test]
    fn families_are_grouped_under_one_help_and_type() {
        let hosts = vec![
            host("a.test", Some(10), vec![up_with_tls("192.0.2.1", NOW + 1)]),
            host("b.test", Some(20), vec![up_with_tls("192.0.2.2", NOW + 2)]),
        ];
        let text = render(&report(hosts), Duration::ZERO);
        let mut seen: Vec<&str> = Vec::new();
        let mut current = "";
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap_or_default();
                assert!(!seen.contains(&name), "{name} twice:\n{text}");
                seen.push(name);
                current = name;
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap_or_default();
                assert_eq!(name, current, "{line} outside its family:\n{text}");
            }
        }
        assert!(seen.len() > 10, "{text}");
    }

    #[test]
    fn a_run_that_checked_nothing_has_no_address_series() {
        let text = render(&report(Vec::new()), Duration::from_secs(1));
        assert!(text.contains("\ncheck_mx_status 3\n"), "{text}");
        assert!(text.contains("\nprobe_success 0\n"), "{text}");
        assert!(!text.contains("check_mx_address_up"), "{text}");
        assert!(!text.contains("probe_ssl_earliest_cert_expiry"), "{text}");
    }

    #[test]
    fn a_host_named_twice_is_one_series_and_h_hosts_have_an_empty_preference() {
        let hosts = vec![
            host("127.0.0.1", None, vec![down("127.0.0.1:25")]),
            host("127.0.0.1", None, vec![down("127.0.0.1:25")]),
        ];
        let text = render(&report(hosts), Duration::ZERO);
        let series = r#"check_mx_address_up{mx="127.0.0.1",preference="",address="127.0.0.1",family="ipv4"} 0"#;
        assert_eq!(text.matches(series).count(), 1, "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        for (raw, escaped) in [
            ("mx.test", "mx.test"),
            (r"a\b", r"a\\b"),
            (r#"a"b"#, r#"a\"b"#),
            ("a\nb", r"a\nb"),
            ("\\\"\n", r#"\\\"\n"#),
        ] {
            assert_eq!(escape_label_value(raw), escaped, "{raw:?}");
        }
        let hosts = vec![host("bad\"\n.test", Some(5), vec![down("192.0.2.9:25")])];
        let text = render(&report(hosts), Duration::ZERO);
        assert!(
            text.contains(r#"check_mx_host_up{mx="bad\"\n.test",preference="5"} 0"#),
            "{text}"
        );
    }

    #[test]
    fn tls_versions_are_named_as_blackbox_exporter_names_them() {
        assert_eq!(version_label("TLSv1.3"), "TLS 1.3");
        assert_eq!(version_label("TLSv1.2"), "TLS 1.2");
        assert_eq!(version_label("TLS"), "TLS");
    }
}
