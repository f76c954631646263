//! check_mx's MTA-STS and TLS-RPT readers (`check_mx/mta_sts.rs`): the
//! policy file, the `_mta-sts` and `_smtp._tls` TXT records, and the mx
//! pattern rule.

use proptest::prelude::*;

use smtpbox::check_mx::mta_sts::{MAX_AGE_LIMIT, Mode, Policy, parse_policy, sts_record};

use crate::checks::mta_sts::{
    LINE_ENDS, check_covers, check_policy, check_sts_record, check_tls_rpt, check_wildcard, render,
};
use crate::{any_text, config, host_name, one_of, text_from};

/// Keys, values, separators and line ends of policy files, right and wrong.
#[rustfmt::skip]
const POLICY_PIECES: &[&str] = &[
    "version", "mode", "mx", "max_age", "Mode", "x-ext",
    ": ", ":", " : ", ":\t", " ", "\t",
    "STSv1", "STSv2", "enforce", "testing", "none", "strict",
    "mx1.d.test", "*.d.test", "*.", "*", "a_b-c.", "mx one", "<html>",
    "0", "86400", "31557600", "31557601", "-1", "00000000001", "99999999999",
    "\r\n", "\n", "\n", "\r", "\0", "é", "\u{fffd}",
];

/// One policy line: a key, a separator, a value, a line end.
fn policy_line() -> impl Strategy<Value = String> {
    let key = one_of(&["version", "mode", "mx", "max_age", "x-ext", "", "mx "]);
    let separator = one_of(&[": ", ":", ":\t", " ", ""]);
    let value = prop_oneof![
        one_of(&["STSv1", "STSv2", "enforce", "testing", "none", "strict", ""]),
        one_of(&["0", "86400", "31557600", "31557601", "-1", "12345678901"]),
        pattern(),
        "[ -~]{0,12}",
    ];
    let end = one_of(&["\r\n", "\n", "\n", ""]);
    (key, separator, value, end).prop_map(|(k, s, v, e)| format!("{k}{s}{v}{e}"))
}

/// An mx pattern: a host name, maybe behind `*.`.
fn pattern() -> impl Strategy<Value = String> {
    (any::<bool>(), host_name()).prop_map(
        |(wild, name)| {
            if wild { format!("*.{name}") } else { name }
        },
    )
}

fn mode() -> impl Strategy<Value = Mode> {
    prop::sample::select(vec![Mode::Enforce, Mode::Testing, Mode::None])
}

/// A policy the RFC allows: at least one pattern unless the mode is none.
fn valid_policy() -> impl Strategy<Value = Policy> {
    let patterns = |mode| {
        let least = usize::from(mode != Mode::None);
        prop::collection::vec(pattern(), least..5)
    };
    (mode(), 0..=MAX_AGE_LIMIT)
        .prop_flat_map(move |(mode, max_age)| (Just(mode), Just(max_age), patterns(mode)))
        .prop_map(|(mode, max_age, mx)| Policy {
            version: "STSv1".into(),
            mode,
            mx,
            max_age,
        })
}

/// TXT record texts: STS and TLS-RPT records right and wrong, others.
#[rustfmt::skip]
const TXT_PIECES: &[&str] = &[
    "v=STSv1", "v=TLSRPTv1", "v=spf1 -all", "v=STSv2", " ", ";", "; ", "=",
    "id=", "id", "20240101T000000", "abc", "a-b", "123456789012345678901234567890123",
    "rua=", "rua", "mailto:tls@d.test", "https://r.d.test/x", "MAILTO:x", "ftp://x",
    "mailto:", ",", ", ", "\t", "é", "\0",
];

/// A TXT record: a version field, then `;`-separated fields, some
/// `name=value` of the names the readers look for, maybe blanks around.
fn txt_record() -> impl Strategy<Value = Vec<u8>> {
    let version = one_of(&[
        "v=STSv1",
        "v=TLSRPTv1",
        "v=spf1 -all",
        "v=STSv2",
        " v=STSv1",
        "",
    ]);
    let value = prop_oneof![
        "[A-Za-z0-9]{0,34}",
        "[A-Za-z0-9]{31,33}",
        one_of(&[
            "a-b",
            "mailto:tls@d.test",
            "https://r.d.test/x",
            "MAILTO:x",
            "ftp://x",
            "https:"
        ]),
        text_from(
            &[
                "mailto:a@d.test",
                "https://r.d.test",
                ",",
                ", ",
                "\t",
                "mailto:",
                "x",
                "="
            ],
            6
        ),
    ];
    let field = prop_oneof![
        4 => (one_of(&["id", "rua", " id", "ext", "ID"]), value).prop_map(|(n, v)| format!("{n}={v}")),
        1 => text_from(TXT_PIECES, 4),
    ];
    let separator = one_of(&[";", "; ", " ;", ";\t"]);
    (
        version,
        prop::collection::vec((separator, field), 0..4),
        any::<bool>(),
    )
        .prop_map(|(version, fields, end)| {
            let mut text = version;
            for (separator, field) in fields {
                text.push_str(&separator);
                text.push_str(&field);
            }
            if end {
                text.push(';');
            }
            text.into_bytes()
        })
}

/// Up to three TXT records: structured, from the pieces, arbitrary text,
/// or bytes.
fn txt_records() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let record = prop_oneof![
        6 => txt_record(),
        2 => text_from(TXT_PIECES, 12).prop_map(String::into_bytes),
        1 => any_text().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ];
    prop::collection::vec(record, 0..4)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn policies_are_read_or_refused_in_one_line(
        body in prop_oneof![
            prop::collection::vec(policy_line(), 0..10).prop_map(|l| l.concat().into_bytes()),
            text_from(POLICY_PIECES, 40).prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..300),
        ],
    ) {
        check_policy(&body);
    }

    /// Well-formed policies, their lines in any order among extension
    /// lines and blank lines, are read as exactly what was written.
    #[test]
    fn valid_policies_are_read_as_written(
        policy in valid_policy(),
        extensions in prop::collection::vec("x-[a-z]{1,6}: [ -~]{0,12}", 0..3),
        blanks in 0usize..3,
        order in any::<prop::sample::Index>(),
        line_end in prop::sample::select(LINE_ENDS.to_vec()),
    ) {
        let mut lines: Vec<String> = render(&policy, "\n").lines().map(str::to_owned).collect();
        lines.extend(extensions);
        lines.extend(std::iter::repeat_n(String::new(), blanks));
        let turn = order.index(lines.len());
        lines.rotate_left(turn);
        // the rotation may put mx lines out of order: read them back as placed
        let mx: Vec<String> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("mx: "))
            .map(str::to_owned)
            .collect();
        let body = lines.join(line_end) + line_end;
        prop_assert_eq!(parse_policy(body.as_bytes()), Ok(Policy { mx, ..policy }));
        // and so are its neighbours, one line changed
        check_policy(body.as_bytes());
    }

    #[test]
    fn patterns_cover_by_the_label_rule(
        pattern in prop_oneof![pattern(), any_text(), Just("*.".to_owned())],
        host in prop_oneof![host_name(), any_text()],
        label in prop_oneof!["[A-Za-z0-9-]{1,8}", any_text()],
        parent in prop_oneof![host_name(), any_text()],
    ) {
        check_covers(&pattern, &host);
        check_covers(&format!("*.{parent}"), &format!("{label}.{parent}"));
        check_covers(&format!("*.{parent}"), &parent);
        check_wildcard(&label, &parent);
    }

    #[test]
    fn txt_records_are_read_by_their_rfcs(records in txt_records()) {
        check_sts_record(&records);
        check_tls_rpt(&records);
    }

    /// A record arrives as several strings that the lookup concatenates
    /// (RFC 8461 §3.1, RFC 8460 §3): wherever it was cut, the id is read
    /// from the concatenation.
    #[test]
    fn sts_ids_are_read_across_string_boundaries(
        id in "[A-Za-z0-9]{1,32}",
        cut in any::<prop::sample::Index>(),
    ) {
        let text = format!("v=STSv1; id={id}");
        let (head, tail) = text.split_at(cut.index(text.len() + 1));
        let record = [head.as_bytes(), tail.as_bytes()].concat();
        let outcome = sts_record(std::slice::from_ref(&record));
        prop_assert!(
            matches!(&outcome, smtpbox::check_mx::mta_sts::TxtOutcome::Record(r) if r.id == id),
            "{:?}", outcome
        );
        check_sts_record(&[record]);
    }
}
