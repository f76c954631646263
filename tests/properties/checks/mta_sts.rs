//! What check_mx's MTA-STS and TLS-RPT readers (`check_mx::mta_sts`)
//! promise, checked once for the `mta_sts` fuzz target (which includes
//! this file by path) and the property tests of `mta_sts.rs`: the policy
//! file (RFC 8461 §3.2), the `_mta-sts` TXT record (§3.1), the mx pattern
//! rule (§4.1) and the `_smtp._tls` TXT record (RFC 8460 §3). Each reader
//! never panics, what it accepts follows the RFC's grammar and reads back
//! the same when written out again, and every error is one bounded line.
//! The rules are written here again, from the RFCs, as oracles.
//! Proptest-free: plain `assert!`s.

use smtpbox::check_mx::mta_sts::{
    MAX_AGE_LIMIT, Mode, Policy, StsRecord, TxtOutcome, covers, parse_policy, sts_record, tls_rpt,
};

/// RFC 8461 §3.2: the only policy version.
const POLICY_VERSION: &str = "STSv1";
/// RFC 8461 §3.1: the first field of the TXT record.
const STS_VERSION_FIELD: &str = "v=STSv1";
/// RFC 8461 §3.1: `sts-id = %s"id=" 1*32(ALPHA / DIGIT)`.
const MAX_ID_LEN: usize = 32;
/// RFC 8460 §3: the first field of the TLS-RPT record.
const TLSRPT_VERSION_FIELD: &str = "v=TLSRPTv1";
/// RFC 8460 §3: the schemes a report may go to.
const RUA_SCHEMES: [&str; 2] = ["mailto:", "https:"];
/// The longest error allowed: the readers quote at most 64 characters of
/// the input, each escaped to at most 10 (`\u{10ffff}`), and a sentence
/// around it. A body of any size gives an error of this size at most.
pub const MAX_ERROR_LEN: usize = 1024;

/// The line ends a policy may use (RFC 8461 §3.2: CRLF; LF tolerated).
pub const LINE_ENDS: [&str; 2] = ["\r\n", "\n"];

/// `policy` written out as RFC 8461 §3.2 has it, each line ended by
/// `line_end`: version, mode, the mx patterns in order, max_age.
pub fn render(policy: &Policy, line_end: &str) -> String {
    let mode = match policy.mode {
        Mode::Enforce => "enforce",
        Mode::Testing => "testing",
        Mode::None => "none",
    };
    let mut text = format!(
        "version: {}{line_end}mode: {mode}{line_end}",
        policy.version
    );
    for pattern in &policy.mx {
        text.push_str(&format!("mx: {pattern}{line_end}"));
    }
    text.push_str(&format!("max_age: {}{line_end}", policy.max_age));
    text
}

/// RFC 8461 §3.2: `sts-policy-mx-value = ["*."] 1*(ALPHA / DIGIT / "_" /
/// "-" / ".")`.
pub fn valid_pattern(pattern: &str) -> bool {
    let name = pattern.strip_prefix("*.").unwrap_or(pattern);
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

/// The lines of a policy body the way RFC 8461 §3.2 cuts them: at LF,
/// one CR before it dropped.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
}

/// Reads `body` as a policy file: never panics; an accepted policy holds
/// only what the RFC allows, its patterns are the body's `mx` lines in
/// order, and written back (CRLF or LF) it reads the same; an error is one
/// bounded line naming the first line at fault, or the missing key.
/// An accepted policy's neighbours (see [`check_neighbours`]) are
/// checked too.
pub fn check_policy(body: &[u8]) {
    check_policy_once(body, true);
}

fn check_policy_once(body: &[u8], neighbours: bool) {
    match parse_policy(body) {
        Ok(policy) => {
            check_accepted_policy(body, &policy);
            if neighbours {
                check_neighbours(&policy);
            }
        }
        Err(error) => check_policy_error(body, &error),
    }
}

/// Values at the borders of what each key accepts (RFC 8461 §3.2).
#[rustfmt::skip]
const BORDER_VALUES: [(&str, &[&str]); 4] = [
    ("version", &["STSv1", "STSv2", "stsv1", "", "STSv1 x"]),
    ("mode", &["enforce", "testing", "none", "Enforce", "", "none x"]),
    ("max_age", &["0", "31557600", "31557601", "0000000001", "00000000001",
                  "9999999999", "-1", "+1", ""]),
    ("mx", &["*.d.test", "*.", "*", "**.d.test", "*.*.d.test", "a_b-c.", ".",
             "mx one", "mx\u{fffd}", ""]),
];

/// The policy's neighbours, each read as [`check_policy`] says: its lines
/// written out one at a time dropped, repeated, or with the value put at
/// each border of its key. Reaches every way a line can tip a policy
/// from accepted to refused.
pub fn check_neighbours(policy: &Policy) {
    let text = render(policy, "\n");
    let lines: Vec<&str> = text.lines().collect();
    let body = |lines: &[String]| (lines.join("\n") + "\n").into_bytes();
    for at in 0..lines.len() {
        let mut changed: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        changed.remove(at);
        check_policy_once(&body(&changed), false);
        changed.insert(at, lines[at].to_owned());
        changed.insert(at, lines[at].to_owned());
        check_policy_once(&body(&changed), false);
        changed.remove(at);
        let key = lines[at].split(':').next().unwrap_or_default();
        let borders = BORDER_VALUES.iter().filter(|(k, _)| *k == key);
        for value in borders.flat_map(|(_, values)| values.iter()) {
            changed[at] = format!("{key}: {value}");
            check_policy_once(&body(&changed), false);
        }
    }
}

fn check_accepted_policy(body: &[u8], policy: &Policy) {
    assert_eq!(policy.version, POLICY_VERSION);
    // mode none withdraws the policy: the only mode that needs no mx
    assert!(
        !policy.mx.is_empty() || policy.mode == Mode::None,
        "{policy:?}"
    );
    assert!(policy.max_age <= MAX_AGE_LIMIT, "{policy:?}");
    assert!(policy.mx.iter().all(|p| valid_pattern(p)), "{policy:?}");
    // the patterns are the values of the `mx` lines, in the body's order
    let text = std::str::from_utf8(body).expect("an accepted policy is UTF-8");
    let mx_lines: Vec<&str> = lines(text)
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| *key == "mx")
        .map(|(_, value)| value.trim_matches([' ', '\t']))
        .collect();
    assert_eq!(policy.mx, mx_lines);
    for line_end in LINE_ENDS {
        let rendered = render(policy, line_end);
        assert_eq!(parse_policy(rendered.as_bytes()).as_ref(), Ok(policy));
    }
}

fn check_policy_error(body: &[u8], error: &str) {
    assert!(!error.contains(['\n', '\r']), "{error:?}");
    assert!(error.len() <= MAX_ERROR_LEN, "{} bytes", error.len());
    let Ok(text) = std::str::from_utf8(body) else {
        assert!(error.starts_with("policy is not UTF-8: "), "{error}");
        return;
    };
    if let Some(rest) = error.strip_prefix("policy line ") {
        let (number, _) = rest.split_once(": ").expect("a line number and a colon");
        let number: usize = number.parse().expect("a line number");
        let line = lines(text).nth(number.wrapping_sub(1));
        let line = line.expect("the error names a line of the body");
        assert!(!line.trim().is_empty(), "{error}: a blank line");
        // the first line at fault: the body cut after it fails the same
        let head: Vec<&str> = text.split('\n').take(number).collect();
        assert_eq!(
            parse_policy(head.join("\n").as_bytes()),
            Err(error.to_owned())
        );
    } else {
        let missing =
            ["version", "mode", "max_age", "mx"].map(|key| format!("policy has no {key:?} line"));
        assert!(missing.iter().any(|m| m == error), "{error}");
    }
}

/// RFC 8461 §4.1, written as labels: a pattern `*.P` covers a host whose
/// labels are one non-empty label and then P's; any other pattern covers
/// the same name. Both compared without ASCII case and without root dots.
pub fn covers_oracle(pattern: &str, host: &str) -> bool {
    let labels = |name: &str| -> Vec<String> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        name.split('.').map(str::to_owned).collect()
    };
    let (pattern, host) = (labels(pattern), labels(host));
    match pattern.split_first() {
        Some((first, parent)) if first == "*" && !parent.is_empty() => {
            host.len() == pattern.len() && !host[0].is_empty() && host[1..] == *parent
        }
        _ => host == pattern,
    }
}

/// `covers` is the label rule above, ignores ASCII case, and every
/// pattern covers itself.
pub fn check_covers(pattern: &str, host: &str) {
    let covered = covers(pattern, host);
    assert_eq!(
        covered,
        covers_oracle(pattern, host),
        "{pattern:?} {host:?}"
    );
    let (upper, lower) = (host.to_ascii_uppercase(), host.to_ascii_lowercase());
    assert_eq!(covers(pattern, &upper), covered);
    assert_eq!(covers(&pattern.to_ascii_lowercase(), &lower), covered);
    assert!(covers(pattern, pattern), "{pattern:?}");
    assert!(
        covers(pattern, &pattern.to_ascii_uppercase()),
        "{pattern:?}"
    );
    // a root dot on the host changes nothing
    assert_eq!(covers(pattern, &format!("{host}.")), covered);
}

/// `*.parent` never covers the bare parent, covers `label.parent` for a
/// `label` that is one non-empty label, and never two labels more.
pub fn check_wildcard(label: &str, parent: &str) {
    let pattern = format!("*.{parent}");
    assert!(!covers(&pattern, parent), "{pattern:?}");
    // an empty leftmost label is no label
    assert!(!covers(&pattern, &format!(".{parent}")), "{pattern:?}");
    let one_label = !label.is_empty() && !label.contains('.');
    if one_label && !parent.trim_end_matches('.').is_empty() {
        let host = format!("{label}.{parent}");
        assert!(covers(&pattern, &host), "{pattern:?} {host:?}");
        assert!(covers(&pattern, &host.to_ascii_uppercase()));
        let deeper = format!("{label}.{label}.{parent}");
        assert!(!covers(&pattern, &deeper), "{pattern:?} {deeper:?}");
    }
}

/// The records (each given as its strings concatenated, RFC 8461 §3.1)
/// whose first `;`-field is `version`, read as text.
fn versioned(records: &[Vec<u8>], version: &str) -> Vec<String> {
    records
        .iter()
        .map(|record| String::from_utf8_lossy(record).into_owned())
        .filter(|text| text.split(';').next().unwrap_or_default().trim() == version)
        .collect()
}

/// `sts_record`: no `v=STSv1` record is no policy; two are refused; one
/// is kept whole, and accepted only with an `id=` of 1 to 32 letters and
/// digits. Other records change nothing.
pub fn check_sts_record(records: &[Vec<u8>]) {
    let sts = versioned(records, STS_VERSION_FIELD);
    let outcome = sts_record(records);
    match (&outcome, sts.as_slice()) {
        (TxtOutcome::Absent, []) => {}
        (TxtOutcome::Record(record), [text]) => {
            assert_eq!(&record.text, text);
            let id = &record.id;
            assert!((1..=MAX_ID_LEN).contains(&id.len()), "{id:?}");
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id:?}");
            let field = format!("id={id}");
            assert!(text.split(';').any(|f| f.trim() == field), "{text:?}");
            // the same id written as a record of its own reads the same
            let alone = format!("{STS_VERSION_FIELD}; {field}");
            let expected = StsRecord {
                text: alone.clone(),
                id: id.clone(),
            };
            assert_eq!(
                sts_record(&[alone.into_bytes()]),
                TxtOutcome::Record(expected)
            );
            // a second v=STSv1 record makes it unusable (RFC 8461 §3.1)
            let mut two = records.to_vec();
            two.push(format!("{STS_VERSION_FIELD}; {field}").into_bytes());
            assert!(matches!(sts_record(&two), TxtOutcome::Invalid { .. }));
        }
        (TxtOutcome::Invalid { text, error }, [first, more @ ..]) => {
            assert_eq!(text, first);
            assert!(!error.contains(['\n', '\r']), "{error:?}");
            assert!(error.len() <= MAX_ERROR_LEN);
            if !more.is_empty() {
                assert!(error.starts_with(&format!("{} v=STSv1 records", sts.len())));
            }
        }
        _ => panic!("{outcome:?} from {} v=STSv1 records", sts.len()),
    }
    let mut with_other = vec![b"v=spf1 -all".to_vec()];
    with_other.extend_from_slice(records);
    assert_eq!(sts_record(&with_other), outcome);
}

/// `tls_rpt`: no `v=TLSRPTv1` record is none, two are refused; an accepted
/// record sends reports only to `mailto:` and `https:` URIs (each with
/// something after the scheme), and those written back read the same.
pub fn check_tls_rpt(records: &[Vec<u8>]) {
    let found = versioned(records, TLSRPT_VERSION_FIELD);
    match (tls_rpt(records), found.as_slice()) {
        (None, []) => {}
        (Some(Err(error)), [_, ..]) => {
            assert!(!error.contains(['\n', '\r']), "{error:?}");
            assert!(error.len() <= MAX_ERROR_LEN);
        }
        (Some(Ok(rpt)), [text]) => {
            assert_eq!(&rpt.record, text);
            assert!(!rpt.rua.is_empty());
            for uri in &rpt.rua {
                let scheme = RUA_SCHEMES.iter().find(|scheme| {
                    uri.len() > scheme.len()
                        && uri.is_char_boundary(scheme.len())
                        && uri[..scheme.len()].eq_ignore_ascii_case(scheme)
                });
                assert!(scheme.is_some(), "{uri:?}");
                assert!(!uri.contains([',', ';']), "{uri:?}");
                assert_eq!(uri.trim_matches([' ', '\t']), uri);
            }
            let again = format!("{TLSRPT_VERSION_FIELD}; rua={}", rpt.rua.join(","));
            let reread = tls_rpt(&[again.into_bytes()]).map(|r| r.map(|r| r.rua));
            assert_eq!(reread, Some(Ok(rpt.rua.clone())));
        }
        (outcome, _) => panic!("{outcome:?} from {} v=TLSRPTv1 records", found.len()),
    }
}
