//! MTA-STS (RFC 8461) and TLS-RPT (RFC 8460), pure: the `_mta-sts` TXT
//! record, the policy file, which MX hosts a policy's patterns cover, the
//! `_smtp._tls` record, and the judgement of what was found. No sockets:
//! [`super::policy`] does the lookups and the fetch.

use super::evaluate::{Problem, Status, alert, days_left};
use super::facts::{HostFacts, StsFacts, Tls};
use super::perfdata::Levels;

/// RFC 8461 §3.1: the TXT record's name is this label before the domain.
pub const TXT_LABEL: &str = "_mta-sts";
/// RFC 8461 §3.1: the record's first field.
const STS_VERSION_FIELD: &str = "v=STSv1";
/// RFC 8461 §3.1: `sts-id = %s"id=" 1*32(ALPHA / DIGIT)`.
const MAX_ID_LEN: usize = 32;
/// RFC 8461 §3.3: the policy host is this label before the domain.
pub const POLICY_HOST_LABEL: &str = "mta-sts";
/// RFC 8461 §3.3: where on the policy host the policy is.
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";
/// RFC 8461 §3.2: the policy's `version` value.
const POLICY_VERSION: &str = "STSv1";
/// RFC 8461 §3.2: the largest `max_age` (about a year).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;
/// RFC 8461 §3.2: `sts-policy-max-age-value = 1*10(DIGIT)`.
const MAX_AGE_DIGITS: usize = 10;
/// The most policy bytes read: RFC 8461 §3.3 lets senders limit it, and a
/// policy is a few hundred bytes; 64 KiB leaves room for any real one.
pub const MAX_POLICY_BYTES: usize = 65_536;
/// RFC 8460 §3: the TLS-RPT record's name is these labels before the domain.
pub const TLSRPT_LABELS: &str = "_smtp._tls";
/// RFC 8460 §3: the record's first field.
const TLSRPT_VERSION_FIELD: &str = "v=TLSRPTv1";
/// RFC 8460 §3: the URI schemes a report may go to.
const RUA_SCHEMES: [&str; 2] = ["mailto:", "https:"];
/// Problems of the domain's MTA-STS are named so in the summary.
const SUBJECT: &str = "MTA-STS";

/// The domain's one `v=STSv1` TXT record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsRecord {
    /// The record's strings, concatenated (RFC 8461 §3.1).
    pub text: String,
    /// Its `id=`.
    pub id: String,
}

/// What the `_mta-sts` TXT records say: no `v=STSv1` record (no policy),
/// one, or why they cannot be used (which also means no policy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxtOutcome {
    Absent,
    Record(StsRecord),
    Invalid { text: String, error: String },
}

/// Reads the TXT records of `_mta-sts.<domain>`, each given as its strings
/// concatenated (RFC 8461 §3.1: records not starting with `v=STSv1` are
/// discarded; more than one left is no policy).
pub fn sts_record(records: &[Vec<u8>]) -> TxtOutcome {
    let sts: Vec<String> = records
        .iter()
        .map(|record| String::from_utf8_lossy(record).into_owned())
        .filter(|text| first_field(text) == STS_VERSION_FIELD)
        .collect();
    match sts.as_slice() {
        [] => TxtOutcome::Absent,
        [text] => match record_id(text) {
            Ok(id) => TxtOutcome::Record(StsRecord {
                text: text.clone(),
                id,
            }),
            Err(error) => TxtOutcome::Invalid {
                text: text.clone(),
                error,
            },
        },
        [first, ..] => TxtOutcome::Invalid {
            text: first.clone(),
            error: format!("{} v=STSv1 records (RFC 8461 §3.1: one)", sts.len()),
        },
    }
}

/// The first `;`-separated field of a record, blanks trimmed.
fn first_field(text: &str) -> &str {
    text.split(';').next().unwrap_or_default().trim()
}

/// The `id=` of an STSv1 record (every field after the version must be
/// `name=value`).
fn record_id(text: &str) -> Result<String, String> {
    let mut id = None;
    for field in text.split(';').skip(1).map(str::trim) {
        if field.is_empty() {
            continue;
        }
        let Some((name, value)) = field.split_once('=') else {
            return Err(format!("field {:?} is not name=value", field));
        };
        if name != "id" {
            continue;
        }
        if id.is_some() {
            return Err("two id= fields".to_owned());
        }
        let valid = (1..=MAX_ID_LEN).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric());
        if !valid {
            return Err(format!("id {value:?} is not 1 to 32 letters and digits"));
        }
        id = Some(value.to_owned());
    }
    id.ok_or_else(|| "no id= field".to_owned())
}

/// RFC 8461 §5: what a sender does with mail to an MX the policy fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Refuse to deliver.
    Enforce,
    /// Deliver, and report (TLS-RPT).
    Testing,
    /// The policy is being withdrawn.
    None,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

/// A policy file (RFC 8461 §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub version: String,
    pub mode: Mode,
    /// The `mx` patterns, in the file's order.
    pub mx: Vec<String>,
    /// Seconds a sender may cache it.
    pub max_age: u64,
}

/// Reads a policy file: `key: value` lines ending in CRLF or LF; unknown
/// keys are ignored; `version`, `mode` and `max_age` exactly once; `mx`
/// at least once unless the mode is `none`. An error is one line, naming
/// the line it is about.
pub fn parse_policy(body: &[u8]) -> Result<Policy, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("policy is not UTF-8: {e}"))?;
    let (mut version, mut mode, mut max_age) = (None, None, None);
    let mut mx = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let at = |what: String| format!("policy line {number}: {what}");
        let Some((key, value)) = line.split_once(':') else {
            return Err(at(format!("{:?} is not \"key: value\"", clip(line))));
        };
        let value = value.trim_matches([' ', '\t']);
        let once = |seen: bool| {
            if seen {
                Err(at(format!("a second {key:?}")))
            } else {
                Ok(())
            }
        };
        match key {
            "version" => {
                once(version.is_some())?;
                if value != POLICY_VERSION {
                    return Err(at(format!("version {:?} is not STSv1", clip(value))));
                }
                version = Some(value.to_owned());
            }
            "mode" => {
                once(mode.is_some())?;
                mode = Some(match value {
                    "enforce" => Mode::Enforce,
                    "testing" => Mode::Testing,
                    "none" => Mode::None,
                    _ => {
                        let what =
                            format!("mode {:?} is not enforce, testing or none", clip(value));
                        return Err(at(what));
                    }
                });
            }
            "max_age" => {
                once(max_age.is_some())?;
                let seconds = (!value.is_empty()
                    && value.len() <= MAX_AGE_DIGITS
                    && value.bytes().all(|b| b.is_ascii_digit()))
                .then(|| value.parse::<u64>().ok())
                .flatten()
                .filter(|seconds| *seconds <= MAX_AGE_LIMIT);
                let Some(seconds) = seconds else {
                    let what = format!("max_age {:?} is not 0 to {MAX_AGE_LIMIT}", clip(value));
                    return Err(at(what));
                };
                max_age = Some(seconds);
            }
            "mx" => {
                if !valid_pattern(value) {
                    return Err(at(format!(
                        "mx {:?} is not a host name pattern",
                        clip(value)
                    )));
                }
                mx.push(value.to_owned());
            }
            // RFC 8461 §3.2: extension fields are ignored.
            _ => {}
        }
    }
    let missing = |key: &str| format!("policy has no {key:?} line");
    let version = version.ok_or_else(|| missing("version"))?;
    let mode = mode.ok_or_else(|| missing("mode"))?;
    let max_age = max_age.ok_or_else(|| missing("max_age"))?;
    // A policy being withdrawn (mode none) needs no MX patterns: nothing is
    // checked against them.
    if mx.is_empty() && mode != Mode::None {
        return Err(missing("mx"));
    }
    Ok(Policy {
        version,
        mode,
        mx,
        max_age,
    })
}

/// At most 64 characters of a value quoted in an error.
fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

/// RFC 8461 §3.2: `sts-policy-mx-value = ["*."] 1*(ALPHA / DIGIT / "_" /
/// "-" / ".")`.
fn valid_pattern(pattern: &str) -> bool {
    let name = pattern.strip_prefix("*.").unwrap_or(pattern);
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// RFC 8461 §4.1: whether `pattern` covers the MX host `host`, compared
/// without case and without a root dot; `*.` stands for exactly one
/// leftmost label (`*.example.com` covers `mx.example.com`, neither
/// `example.com` nor `a.b.example.com`).
pub fn covers(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    let pattern = pattern.trim_end_matches('.');
    match pattern.strip_prefix("*.") {
        Some(parent) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(parent)),
        None => host.eq_ignore_ascii_case(pattern),
    }
}

/// A TLS-RPT record (RFC 8460 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsRpt {
    /// The record's strings, concatenated.
    pub record: String,
    /// Where reports go: `mailto:` and `https:` URIs.
    pub rua: Vec<String>,
}

/// Reads the TXT records of `_smtp._tls.<domain>`: `None` when none
/// starts with `v=TLSRPTv1`; an error when more than one does or the one
/// has no usable `rua=` (RFC 8460 §3: then TLS-RPT is not in use).
pub fn tls_rpt(records: &[Vec<u8>]) -> Option<Result<TlsRpt, String>> {
    let found: Vec<String> = records
        .iter()
        .map(|record| String::from_utf8_lossy(record).into_owned())
        .filter(|text| first_field(text) == TLSRPT_VERSION_FIELD)
        .collect();
    let record = match found.as_slice() {
        [] => return None,
        [record] => record.clone(),
        _ => {
            let error = format!("{} v=TLSRPTv1 records (RFC 8460 §3: one)", found.len());
            return Some(Err(error));
        }
    };
    let rua_field = record.split(';').skip(1).map(str::trim).find_map(|field| {
        let (name, value) = field.split_once('=')?;
        (name.trim() == "rua").then_some(value)
    });
    let Some(value) = rua_field else {
        return Some(Err("no rua= field".to_owned()));
    };
    let mut rua = Vec::new();
    for uri in value.split(',').map(|u| u.trim_matches([' ', '\t'])) {
        let scheme_ok = RUA_SCHEMES
            .iter()
            .any(|s| uri.len() > s.len() && uri[..s.len()].eq_ignore_ascii_case(s));
        if !scheme_ok {
            let error = format!("rua {:?} is not a mailto: or https: URI", clip(uri));
            return Some(Err(error));
        }
        rua.push(uri.to_owned());
    }
    Some(Ok(TlsRpt { record, rua }))
}

/// What the judgement of a domain's MTA-STS needs of the run's thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StsRules {
    /// `--cert-warn`, `--cert-crit` for the policy host's certificate.
    pub cert_days: Levels<i64>,
    /// `--require-mta-sts`.
    pub require: bool,
}

/// The judgement of a domain's MTA-STS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsVerdict {
    pub status: Status,
    pub problems: Vec<Problem>,
    /// The MX hosts no pattern of the fetched policy covers.
    pub uncovered: Vec<String>,
    /// Whole days the policy host's certificate has left.
    pub days_left: Option<i64>,
    /// Said on the text line though not wrong (mode none).
    pub note: Option<String>,
}

/// Judges a domain's MTA-STS against its MX hosts' facts (`now`: seconds
/// since the Unix epoch). See check_mx(1) for the rules.
pub fn judge(sts: &StsFacts, hosts: &[HostFacts], rules: StsRules, now: i64) -> StsVerdict {
    let mut problems = Vec::new();
    let mut problem = |status, text| problems.push(Problem::new(status, SUBJECT, text));
    let unfetched = if rules.require {
        Status::Critical
    } else {
        Status::Warning
    };
    let mut uncovered = Vec::new();
    let mut note = None;
    match (&sts.txt, &sts.policy) {
        (Err(failure), _) => problem(
            if failure.timed_out {
                Status::Critical
            } else {
                unfetched
            },
            format!("TXT record unusable: {}", failure.message),
        ),
        (Ok(None), _) if rules.require => problem(
            Status::Critical,
            "no policy published (no _mta-sts TXT record) where --require-mta-sts wants one"
                .to_owned(),
        ),
        (Ok(None), _) | (Ok(Some(_)), None) => {}
        (Ok(Some(_)), Some(Err(failure))) => problem(
            if failure.timed_out {
                Status::Critical
            } else {
                unfetched
            },
            format!("policy unavailable: {}", failure.message),
        ),
        (Ok(Some(_)), Some(Ok(policy))) => {
            let mode = policy.mode;
            let status = match mode {
                Mode::Enforce => Status::Critical,
                Mode::Testing => Status::Warning,
                Mode::None => Status::Ok,
            };
            if mode == Mode::None {
                note = Some("mode none: senders drop the policy".to_owned());
            }
            if rules.require && mode != Mode::Enforce {
                problem(
                    Status::Critical,
                    format!("mode {} where --require-mta-sts wants enforce", mode.name()),
                );
            }
            for host in hosts {
                if !policy.mx.iter().any(|pattern| covers(pattern, &host.name)) {
                    uncovered.push(host.name.clone());
                    if status != Status::Ok {
                        problem(
                            status,
                            format!("policy ({}) does not cover {}", mode.name(), host.name),
                        );
                    }
                }
            }
            if status != Status::Ok {
                for host in hosts {
                    for address in host.addresses() {
                        if let Some(why) = unverified(&address.tls) {
                            let peer = super::evaluate::peer(&host.name, address);
                            problem(status, format!("({}): {peer} {why}", mode.name()));
                        }
                    }
                }
            }
        }
    }
    let days = sts
        .policy_host
        .as_ref()
        .and_then(|host| host.certificate.as_ref())
        .map(|certificate| days_left(certificate.not_after, now));
    if let Some(days) = days
        && let Some(status) = alert(rules.cert_days, |limit| days < limit)
    {
        let text = if days < 0 {
            format!("policy host certificate expired {} days ago", -days)
        } else {
            format!("policy host certificate expires in {days} days")
        };
        problem(status, text);
    }
    StsVerdict {
        status: problems
            .iter()
            .map(|p| p.status)
            .max()
            .unwrap_or(Status::Ok),
        problems,
        uncovered,
        days_left: days,
        note,
    }
}

/// Why a sender applying the policy would refuse this address's TLS
/// (RFC 8461 §4.2: a certificate valid for the MX host name, STARTTLS
/// offered and completed); `None` for one it accepts or one never reached.
fn unverified(tls: &Tls) -> Option<String> {
    match tls {
        Tls::NotReached => None,
        Tls::NotOffered => Some("offers no STARTTLS".to_owned()),
        Tls::Refused { .. } => Some("refused STARTTLS".to_owned()),
        Tls::Failed { .. } => Some("TLS failed".to_owned()),
        Tls::Established {
            verification_error: Some(_),
            ..
        } => Some("certificate not verified for its name".to_owned()),
        Tls::Established { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check_mx::facts::{AddressFacts, Certificate, Failure, PolicyHost, Stage};

    fn records(texts: &[&str]) -> Vec<Vec<u8>> {
        texts.iter().map(|t| t.as_bytes().to_vec()).collect()
    }

    #[test]
    fn txt_records() {
        let record = |text: &str, id: &str| {
            TxtOutcome::Record(StsRecord {
                text: text.into(),
                id: id.into(),
            })
        };
        let invalid = |text: &str, error: &str| TxtOutcome::Invalid {
            text: text.into(),
            error: error.into(),
        };
        let cases: Vec<(&[&str], TxtOutcome)> = vec![
            (&[], TxtOutcome::Absent),
            (&["v=spf1 -all"], TxtOutcome::Absent),
            (&["v=STSv1; id=2024"], record("v=STSv1; id=2024", "2024")),
            (
                &["v=spf1 -all", "v=STSv1;id=abc;ext=1;"],
                record("v=STSv1;id=abc;ext=1;", "abc"),
            ),
            (
                &["v=STSv1; id=1", "v=STSv1; id=2"],
                invalid("v=STSv1; id=1", "2 v=STSv1 records (RFC 8461 §3.1: one)"),
            ),
            (&["v=STSv1"], invalid("v=STSv1", "no id= field")),
            (
                &["v=STSv1; id=a-b"],
                invalid(
                    "v=STSv1; id=a-b",
                    "id \"a-b\" is not 1 to 32 letters and digits",
                ),
            ),
            (
                &["v=STSv1; id=123456789012345678901234567890123"],
                invalid(
                    "v=STSv1; id=123456789012345678901234567890123",
                    "id \"123456789012345678901234567890123\" is not 1 to 32 letters and digits",
                ),
            ),
            (&["v=STSv2; id=1"], TxtOutcome::Absent),
        ];
        for (texts, expected) in cases {
            assert_eq!(sts_record(&records(texts)), expected, "{texts:?}");
        }
    }

    const GOOD: &str =
        "version: STSv1\r\nmode: enforce\r\nmx: mx1.d.test\r\nmx: *.d.test\r\nmax_age: 86400\r\n";

    #[test]
    fn policies() {
        let policy = parse_policy(GOOD.as_bytes()).expect("valid");
        assert_eq!(
            policy,
            Policy {
                version: "STSv1".into(),
                mode: Mode::Enforce,
                mx: vec!["mx1.d.test".into(), "*.d.test".into()],
                max_age: 86_400,
            }
        );
        let lf = "version: STSv1\nmode: testing\nmx: a.test\nmax_age: 0\nfuture: x\n";
        assert_eq!(
            parse_policy(lf.as_bytes()).map(|p| p.mode),
            Ok(Mode::Testing)
        );
        let none = "version: STSv1\nmode: none\nmax_age: 31557600";
        assert_eq!(parse_policy(none.as_bytes()).map(|p| p.mx), Ok(vec![]));
        let errors = [
            (
                "mode: enforce\nmx: a\nmax_age: 1\n",
                "policy has no \"version\" line",
            ),
            (
                "version: STSv1\nmx: a\nmax_age: 1\n",
                "policy has no \"mode\" line",
            ),
            (
                "version: STSv1\nmode: testing\nmax_age: 1\n",
                "policy has no \"mx\" line",
            ),
            (
                "version: STSv1\nmode: none\nmx: a\n",
                "policy has no \"max_age\" line",
            ),
            (
                "version: STSv1\nmode: enforce\nmode: testing\n",
                "policy line 3: a second \"mode\"",
            ),
            (
                "version: STSv1\nmode: strict\n",
                "policy line 2: mode \"strict\" is not enforce, testing or none",
            ),
            (
                "version: STSv2\n",
                "policy line 1: version \"STSv2\" is not STSv1",
            ),
            (
                "version: STSv1\nmax_age: 31557601\n",
                "policy line 2: max_age \"31557601\" is not 0 to 31557600",
            ),
            (
                "version: STSv1\nmax_age: -1\n",
                "policy line 2: max_age \"-1\" is not 0 to 31557600",
            ),
            (
                "version: STSv1\n<html>\n",
                "policy line 2: \"<html>\" is not \"key: value\"",
            ),
            (
                "version: STSv1\nmx: mx one\n",
                "policy line 2: mx \"mx one\" is not a host name pattern",
            ),
            (
                "\u{fffd}",
                "policy line 1: \"\u{fffd}\" is not \"key: value\"",
            ),
        ];
        for (text, error) in errors {
            assert_eq!(
                parse_policy(text.as_bytes()),
                Err(error.to_owned()),
                "{text:?}"
            );
        }
        assert!(parse_policy(b"\xff\xfe").is_err_and(|e| e.starts_with("policy is not UTF-8")));
    }

    #[test]
    fn patterns() {
        let cases = [
            ("mx.example.com", "mx.example.com", true),
            ("MX.Example.COM", "mx.example.com.", true),
            ("mx.example.com", "mx2.example.com", false),
            ("*.example.com", "mx.example.com", true),
            ("*.example.com", "MX.EXAMPLE.COM", true),
            ("*.example.com", "example.com", false),
            ("*.example.com", "a.b.example.com", false),
            ("*.example.com", ".example.com", false),
            ("*.example.com", "mx.example.org", false),
        ];
        for (pattern, host, expected) in cases {
            assert_eq!(covers(pattern, host), expected, "{pattern} {host}");
        }
    }

    #[test]
    fn tls_rpt_records() {
        let ok = |record: &str, rua: &[&str]| {
            Some(Ok(TlsRpt {
                record: record.into(),
                rua: rua.iter().map(|s| (*s).to_owned()).collect(),
            }))
        };
        type Found = Option<Result<TlsRpt, String>>;
        let cases: Vec<(&[&str], Found)> = vec![
            (&[], None),
            (&["v=spf1"], None),
            (
                &["v=TLSRPTv1; rua=mailto:tls@d.test"],
                ok("v=TLSRPTv1; rua=mailto:tls@d.test", &["mailto:tls@d.test"]),
            ),
            (
                &["v=TLSRPTv1;rua=mailto:a@d.test, https://r.d.test/x"],
                ok(
                    "v=TLSRPTv1;rua=mailto:a@d.test, https://r.d.test/x",
                    &["mailto:a@d.test", "https://r.d.test/x"],
                ),
            ),
            (&["v=TLSRPTv1"], Some(Err("no rua= field".into()))),
            (
                &["v=TLSRPTv1; rua=ftp://x"],
                Some(Err("rua \"ftp://x\" is not a mailto: or https: URI".into())),
            ),
            (
                &[
                    "v=TLSRPTv1; rua=mailto:a@d.test",
                    "v=TLSRPTv1; rua=mailto:b@d.test",
                ],
                Some(Err("2 v=TLSRPTv1 records (RFC 8460 §3: one)".into())),
            ),
        ];
        for (texts, expected) in cases {
            assert_eq!(tls_rpt(&records(texts)), expected, "{texts:?}");
        }
    }

    // --- the judgement ---

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    fn rules() -> StsRules {
        StsRules {
            cert_days: Levels { warn: 21, crit: 7 },
            require: false,
        }
    }

    fn address(tls: Tls) -> AddressFacts {
        let mut facts = AddressFacts::new("192.0.2.1:25".parse().expect("literal"));
        facts.reached = Stage::Quit;
        facts.tls = tls;
        facts
    }

    fn verified() -> Tls {
        Tls::Established {
            version: "TLSv1.3".into(),
            verification_error: None,
        }
    }

    fn host(name: &str, tls: Tls) -> HostFacts {
        HostFacts {
            name: name.into(),
            preference: Some(10),
            lookup: Ok(vec![address(tls)]),
            dane: None,
        }
    }

    fn sts(policy: Option<Result<&str, Failure>>, cert_days: i64) -> StsFacts {
        StsFacts {
            txt: Ok(Some(StsRecord {
                text: "v=STSv1; id=1".into(),
                id: "1".into(),
            })),
            policy: policy.map(|p| p.map(|text| parse_policy(text.as_bytes()).expect("valid"))),
            policy_host: Some(PolicyHost {
                address: "192.0.2.9:443".parse().expect("literal"),
                certificate: Some(Certificate {
                    subject: "CN=mta-sts.d.test".into(),
                    issuer: "CN=ca".into(),
                    not_before: NOW - DAY,
                    not_after: NOW + cert_days * DAY + 60,
                    not_after_text: String::new(),
                }),
                verification_error: None,
            }),
            tls_rpt: None,
        }
    }

    fn policy(mode: &str) -> String {
        format!("version: STSv1\nmode: {mode}\nmx: mx1.d.test\nmax_age: 86400\n")
    }

    #[test]
    fn judgements() {
        let failure = |message: &str, timed_out| Failure {
            message: message.into(),
            timed_out,
        };
        let enforce = policy("enforce");
        let testing = policy("testing");
        let none = policy("none");
        let one = || vec![host("mx1.d.test", verified())];
        let two = || {
            vec![
                host("mx1.d.test", verified()),
                host("mx2.d.test", verified()),
            ]
        };
        let require = StsRules {
            require: true,
            ..rules()
        };
        let no_txt = StsFacts {
            txt: Ok(None),
            policy: None,
            policy_host: None,
            tls_rpt: None,
        };
        /// (case, facts, hosts, rules, status, first problem)
        type Case<'a> = (&'a str, StsFacts, Vec<HostFacts>, StsRules, Status, &'a str);
        let cases: Vec<Case> = vec![
            (
                "enforce, all covered",
                sts(Some(Ok(&enforce)), 90),
                one(),
                rules(),
                Status::Ok,
                "",
            ),
            (
                "enforce, one uncovered",
                sts(Some(Ok(&enforce)), 90),
                two(),
                rules(),
                Status::Critical,
                "MTA-STS policy (enforce) does not cover mx2.d.test",
            ),
            (
                "testing, one uncovered",
                sts(Some(Ok(&testing)), 90),
                two(),
                rules(),
                Status::Warning,
                "MTA-STS policy (testing) does not cover mx2.d.test",
            ),
            (
                "none, one uncovered",
                sts(Some(Ok(&none)), 90),
                two(),
                rules(),
                Status::Ok,
                "",
            ),
            (
                "enforce, certificate not verified",
                sts(Some(Ok(&enforce)), 90),
                vec![host(
                    "mx1.d.test",
                    Tls::Established {
                        version: "TLSv1.3".into(),
                        verification_error: Some("bad".into()),
                    },
                )],
                rules(),
                Status::Critical,
                "MTA-STS (enforce): mx1.d.test[192.0.2.1] certificate not verified for its name",
            ),
            (
                "testing, no STARTTLS",
                sts(Some(Ok(&testing)), 90),
                vec![host("mx1.d.test", Tls::NotOffered)],
                rules(),
                Status::Warning,
                "MTA-STS (testing): mx1.d.test[192.0.2.1] offers no STARTTLS",
            ),
            (
                "policy not fetched",
                sts(Some(Err(failure("HTTP 404 Not Found", false))), 90),
                two(),
                rules(),
                Status::Warning,
                "MTA-STS policy unavailable: HTTP 404 Not Found",
            ),
            (
                "policy fetch timed out",
                sts(Some(Err(failure("timed out", true))), 90),
                two(),
                rules(),
                Status::Critical,
                "MTA-STS policy unavailable: timed out",
            ),
            (
                "policy not fetched, required",
                sts(Some(Err(failure("HTTP 500", false))), 90),
                two(),
                require,
                Status::Critical,
                "MTA-STS policy unavailable: HTTP 500",
            ),
            (
                "policy host certificate 5 days",
                sts(Some(Ok(&enforce)), 5),
                one(),
                rules(),
                Status::Critical,
                "MTA-STS policy host certificate expires in 5 days",
            ),
            (
                "policy host certificate 10 days",
                sts(Some(Ok(&enforce)), 10),
                one(),
                rules(),
                Status::Warning,
                "MTA-STS policy host certificate expires in 10 days",
            ),
            ("no TXT", no_txt.clone(), two(), rules(), Status::Ok, ""),
            (
                "no TXT, required",
                no_txt,
                two(),
                require,
                Status::Critical,
                "MTA-STS no policy published",
            ),
            (
                "testing, required",
                sts(Some(Ok(&testing)), 90),
                one(),
                require,
                Status::Critical,
                "MTA-STS mode testing where --require-mta-sts wants enforce",
            ),
            (
                "TXT unusable",
                StsFacts {
                    txt: Err(failure("2 v=STSv1 records", false)),
                    policy: None,
                    policy_host: None,
                    tls_rpt: None,
                },
                two(),
                rules(),
                Status::Warning,
                "MTA-STS TXT record unusable: 2 v=STSv1 records",
            ),
        ];
        for (case, facts, hosts, rules, status, first) in cases {
            let verdict = judge(&facts, &hosts, rules, NOW);
            assert_eq!(verdict.status, status, "{case}: {verdict:#?}");
            let named = verdict.problems.first().map(ToString::to_string);
            let named = named.unwrap_or_default();
            assert!(named.starts_with(first), "{case}: {verdict:#?}");
            assert_eq!(named.is_empty(), first.is_empty(), "{case}: {verdict:#?}");
        }
        let verdict = judge(&sts(Some(Ok(&none)), 90), &two(), rules(), NOW);
        assert_eq!(verdict.uncovered, ["mx2.d.test"]);
        assert!(verdict.note.is_some());
        assert_eq!(verdict.days_left, Some(90));
    }
}
