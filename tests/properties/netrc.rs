//! netrc(5) credentials files (`smtpbox::netrc`): `parse` and `lookup`.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use smtpbox::netrc::{Machine, parse};

use crate::checks::netrc::{check_lookup, check_parse, fields, quote};
use crate::{any_text, config, host_name, ip_addr, text_from};

/// Keywords, values, white space, quotes, comments, then stray characters.
#[rustfmt::skip]
const NETRC_PIECES: &[&str] = &[
    "machine", "default", "login", "password", "account", "macdef", "port",
    "mx.example", "MX.EXAMPLE", "user", "s3cret", "init",
    " ", " ", "\t", "\n", "\n", "\n\n", "\r\n",
    "\"", "\\", "\\\"", "#", "# c\n", "é", "\0", "\u{7f}",
];

/// One entry: which machine, then its fields in some order, each written
/// bare when it can be, quoted otherwise.
fn entry() -> impl Strategy<Value = (Option<String>, Vec<(&'static str, String)>)> {
    let machine = prop_oneof![
        4 => host_name().prop_map(Some),
        1 => ip_addr().prop_map(|ip| Some(ip.to_string())),
        1 => ip_addr().prop_map(|ip| Some(format!("[{ip}]"))),
        1 => Just(None),
    ];
    let value = prop_oneof!["[A-Za-z0-9@._!$%-]{1,12}", "(?s).{0,12}"];
    let fields = (
        prop::option::of(value.clone()),
        prop::option::of(value.clone()),
        prop::option::of(value),
    )
        .prop_map(|(login, password, account)| {
            let mut fields = Vec::new();
            fields.extend(login.map(|v| ("login", v)));
            fields.extend(password.map(|v| ("password", v)));
            fields.extend(account.map(|v| ("account", v)));
            fields
        })
        .prop_shuffle();
    (machine, fields)
}

/// A token as written: bare if it has no white space, quote or leading
/// `#` and is no keyword, quoted otherwise.
fn written(value: &str) -> String {
    let keywords = [
        "machine", "default", "login", "password", "account", "macdef",
    ];
    let bare = !value.is_empty()
        && !value.contains(|c: char| c.is_whitespace() || c == '"')
        && !keywords.contains(&value);
    if bare { value.to_owned() } else { quote(value) }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn netrc_never_panics_and_results_are_sane(
        text in prop_oneof![any_text(), text_from(NETRC_PIECES, 60)],
        host in prop_oneof![host_name(), Just("mx.example".to_owned())],
    ) {
        if let Some(netrc) = check_parse(&text) {
            check_lookup(&netrc, &host);
        }
    }

    #[test]
    fn netrc_generated_files_parse_as_written(
        entries in prop::collection::vec(entry(), 0..6),
        separator in prop::sample::select(vec![" ", "\n", "\n\t", "\n# comment\n"]),
        host in host_name(),
    ) {
        // At most one default, and last, as netrc(5) requires.
        let mut entries = entries;
        let last_default = entries.iter().rposition(|(machine, _)| machine.is_none());
        entries.retain(|(machine, _)| machine.is_some());
        if last_default.is_some() {
            entries.push((None, vec![("login", "anonymous".to_owned())]));
        }
        let mut text = String::new();
        for (machine, fields) in &entries {
            match machine {
                Some(name) => text.push_str(&format!("machine {}", written(name))),
                None => text.push_str("default"),
            }
            for (keyword, value) in fields {
                text.push_str(&format!("{separator}{keyword} {}", written(value)));
            }
            text.push('\n');
        }
        let netrc = parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(netrc.entries.len(), entries.len());
        for ((machine, written_fields), entry) in entries.iter().zip(&netrc.entries) {
            let parsed = fields(entry);
            let expected_machine = machine.clone().map_or(Machine::Default, Machine::Name);
            prop_assert_eq!(&parsed.0, &expected_machine);
            let get = |k: &str| written_fields.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone());
            prop_assert_eq!(parsed.1, get("login"));
            prop_assert_eq!(parsed.2, get("password"));
            prop_assert_eq!(parsed.3, get("account"));
        }
        check_parse(&text);
        check_lookup(&netrc, &host);
        // The same host written another way: case, a trailing dot, brackets.
        if let Some((Some(first), _)) = entries.first() {
            let other_dot = match first.strip_suffix('.') {
                Some(bare) => bare.to_owned(),
                None => format!("{first}."),
            };
            let other_brackets = match first.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                Some(bare) => bare.to_owned(),
                None => format!("[{first}]"),
            };
            for variant in [first.to_ascii_uppercase(), other_dot, other_brackets] {
                check_lookup(&netrc, &variant);
            }
        }
    }
}
