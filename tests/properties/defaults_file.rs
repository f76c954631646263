//! etrn's shell-assignment defaults file (`defaults.rs`):
//! `parse_assignments` and `find_variable`.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use smtpbox::etrn::shell_vars::{find_variable, parse_assignments};

use crate::checks::defaults_file::{check_assignments, check_lookup, double_quote};
use crate::{any_text, config, one_of, text_from};

/// Names and keywords, white space, shell syntax, then stray characters.
#[rustfmt::skip]
const DEFAULTS_PIECES: &[&str] = &[
    "A", "ETRN_HOSTS", "_x1", "export", "if", "then", "fi", "x", "1",
    " ", "\t", "\n", "\\\n",
    "=", "'", "\"", "\\", "$", "$(", "`", "#", ";", "&", "|", "<", ">", "(", ")", "{", "}", "~",
    "\r", "\0", "\u{7f}", "é",
];

/// Pieces of a value the parser supports: quoting, escapes, line breaks.
#[rustfmt::skip]
const VALUE_PARTS: &[&str] = &[
    "'a b'", "\"x \\\" y\"", "plain", "\\ ", "\\\n", "'multi\nline'", "\"two\nlines\"",
    "\"\\q\"", "#", "é", "''", "'$x'",
];

/// Pieces of a value it refuses: expansions, unquoted specials, open quotes.
#[rustfmt::skip]
const BAD_VALUE_PARTS: &[&str] = &["$x", "\"$(date)\"", "`", "~", ";", "\r", "'", "\"", "\\"];

/// Lines that look like a defaults file, some of them wrong.
fn defaults_text() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        12 => prop::sample::select(VALUE_PARTS),
        1 => prop::sample::select(BAD_VALUE_PARTS),
    ];
    let value = prop::collection::vec(part, 0..4).prop_map(|parts| parts.concat());
    let equals = prop_oneof![
        12 => Just("="),
        1 => prop::sample::select(vec!["+=", " =", ""]),
    ];
    let suffix = prop_oneof![
        12 => prop::sample::select(vec!["", " # c", "\t#"]),
        1 => prop::sample::select(vec![" x", ";"]),
    ];
    let line = prop_oneof![
        12 => (
            prop::sample::select(vec!["", "", " ", "\t", "export ", "export\t"]),
            shell_name(),
            equals,
            value,
            suffix,
        )
            .prop_map(|(prefix, name, equals, value, suffix)| {
                format!("{prefix}{name}{equals}{value}{suffix}")
            }),
        2 => one_of(&["", "# c", "export A", "  "]),
        1 => one_of(&["if true; then", "echo hi", "fi"]),
        1 => text_from(DEFAULTS_PIECES, 8),
    ];
    prop::collection::vec(line, 0..8).prop_map(|lines| lines.join("\n"))
}

fn shell_name() -> impl Strategy<Value = String> {
    prop_oneof![
        one_of(&["A", "B", "ETRN_HOSTS", "export", "if", "_"]),
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
    ]
}

/// A value without control characters other than tab and newline (the
/// only ones a defaults file may carry).
fn shell_value() -> impl Strategy<Value = String> {
    "[^\\x00-\\x08\\x0B-\\x1F\\x7F-\\x9F]{0,24}"
}

/// How one assignment is written.
#[derive(Clone, Debug)]
enum Quoting {
    Single,
    Double,
    Bare,
}

/// (name, value, how it is written, what precedes it on its line, what follows it).
type Line = (String, String, Quoting, &'static str, &'static str);

fn assignment_line() -> impl Strategy<Value = Line> {
    let quoted = (
        shell_name(),
        shell_value(),
        prop_oneof![Just(Quoting::Single), Just(Quoting::Double)],
    );
    let bare = (
        shell_name(),
        "[A-Za-z0-9_.,:/@%+=!-][A-Za-z0-9_.,:/@%+=!#-]{0,12}",
        Just(Quoting::Bare),
    );
    (
        prop_oneof![quoted, bare],
        prop::sample::select(vec!["", "  ", "\t", "export ", " export\t"]),
        prop::sample::select(vec!["", " ", " # comment", "\t#c 'x' \"y\" $z"]),
    )
        .prop_map(|((name, value, quoting), prefix, suffix)| {
            // single quotes cannot hold a single quote
            let quoting = match quoting {
                Quoting::Single if value.contains('\'') => Quoting::Double,
                q => q,
            };
            (name, value, quoting, prefix, suffix)
        })
}

fn render_line((name, value, quoting, prefix, suffix): &Line) -> String {
    let written = match quoting {
        Quoting::Single => format!("'{value}'"),
        Quoting::Double => double_quote(value),
        Quoting::Bare => value.clone(),
    };
    format!("{prefix}{name}={written}{suffix}\n")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn defaults_never_panic_and_results_are_sane(
        text in prop_oneof![any_text(), text_from(DEFAULTS_PIECES, 60), defaults_text(), defaults_text()],
        wanted in shell_name(),
    ) {
        let parsed = check_assignments(&text);
        check_lookup(&text, &parsed, &wanted);
    }

    #[test]
    fn defaults_generated_assignments_round_trip(
        lines in prop::collection::vec(
            prop_oneof![
                4 => assignment_line().prop_map(Some),
                1 => Just(None),
            ],
            0..10,
        ),
        filler in prop::sample::select(vec!["", "# comment", "   ", "\t# 'x\"", "export FOO"]),
    ) {
        let mut text = String::new();
        let mut expected = Vec::new();
        for line in &lines {
            match line {
                Some(line) => {
                    let starts_on = text.matches('\n').count() + 1;
                    expected.push((line.0.clone(), line.1.clone(), starts_on));
                    text.push_str(&render_line(line));
                }
                None => {
                    text.push_str(filler);
                    text.push('\n');
                }
            }
        }
        let parsed = parse_assignments(&text)
            .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&parsed, &expected, "{:?}", text);
        // the last assignment wins
        for (name, _, _) in &expected {
            let last = expected.iter().rev().find(|(n, _, _)| n == name).map(|(_, v, _)| v.clone());
            prop_assert_eq!(find_variable(&text, name), Ok(last));
        }
        prop_assert_eq!(find_variable(&text, "NOT_THERE_9"), Ok(None));
    }
}
