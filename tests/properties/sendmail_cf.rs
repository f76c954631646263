//! etrn's sendmail.cf reading (`sendmail_cf.rs`): class `w`, class files,
//! and the merged ETRN arguments.

use std::collections::HashSet;

use proptest::prelude::*;

use smtpbox::etrn::sendmail_cf::merge_names;

use crate::checks::sendmail_cf::{check_cf, check_class_file, check_merge};
use crate::{any_text, config, host_name, one_of, text_from};

/// Class and file commands, white space, comments, macros, then names,
/// paths, odd words and stray characters.
#[rustfmt::skip]
const CF_PIECES: &[&str] = &[
    "C", "F", "w", "{w}", "{W}", "m", "-o",
    " ", "\t", "\n", "\r\n", "#", "\\#", "$", "$w", "$#",
    "/etc/mail/x", "localhost", "LocalHost.", "Foo.", "foo", "a.b", "[1.2.3.4]",
    "@x", "#q", "|prog", "%[^\\#]", "\0", "é", ".",
];

/// Words of a class line: names, macros, options, paths, odd words.
#[rustfmt::skip]
const CF_WORDS: &[&str] = &[
    "localhost", "a.b", "FOO.", "$w", "$m.x", "/etc/mail/x", "-o", "%[^\\#]",
    "[1.2.3.4]", "@x", "#q", "\\#", "é", "x\0", "|/bin/p", "rel/file",
];

/// Lines that look like sendmail.cf, class `w` and others.
fn cf_text() -> impl Strategy<Value = String> {
    let head = prop_oneof![
        3 => prop::sample::select(vec![
            "Cw", "C{w}", "Cw ", "Fw", "F{w}", "Fw-o ", "F{w} -o ", "Fw ",
        ]),
        1 => prop::sample::select(vec!["Cm", "CW", "C{wx}", " ", "\t", "#", "Dw", "Fw|"]),
    ];
    let line = prop_oneof![
        4 => (
            head,
            prop::collection::vec(prop::sample::select(CF_WORDS), 0..4),
            prop::sample::select(vec![" ", "\t", "  "]),
            prop::sample::select(vec!["", "", " # c", "\\#x", "\r", "#"]),
        )
            .prop_map(|(head, words, gap, tail)| format!("{head}{}{tail}", words.join(gap))),
        1 => text_from(CF_PIECES, 10),
    ];
    prop::collection::vec(line, 0..10).prop_map(|lines| lines.join("\n"))
}

/// Names `merge_names` must sort out: case, trailing dots, `localhost`,
/// literals, `@`/`#` words, empty and odd ones.
#[rustfmt::skip]
const NAME_POOL: &[&str] = &[
    "localhost", "LOCALHOST", "localhost.", "localhost..",
    "localhost.localdomain", "LocalHost.LocalDomain.",
    "mail.example.org", "Mail.Example.ORG.", "mail.example.org..", "foo", "FOO.",
    "[127.0.0.1]", "[IPv6:::1]", "@dom.example", "#queue",
    ".", "..", "", "a b", "x\0", "café.example", "-",
];

fn cf_name() -> impl Strategy<Value = String> {
    prop_oneof![one_of(NAME_POOL), host_name(), any_text()]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_cf_never_panics_and_results_are_sane(
        text in prop_oneof![any_text(), text_from(CF_PIECES, 60), cf_text(), cf_text()],
    ) {
        check_cf(&text);
    }

    #[test]
    fn parse_class_file_never_panics_and_yields_words(
        text in prop_oneof![any_text(), text_from(CF_PIECES, 60), cf_text()],
        all_words in any::<bool>(),
    ) {
        check_class_file(&text, all_words);
    }

    #[test]
    fn merge_names_has_no_duplicates_and_no_localhost(
        canonical in cf_name(),
        cf in prop::collection::vec(cf_name(), 0..8),
        file in prop::collection::vec(cf_name(), 0..8),
    ) {
        check_merge(&canonical, &cf, &file);
    }

    /// Stricter than the documented rule: DNS names are the same whatever
    /// their case and however many trailing dots they carry.
    #[test]
    fn merge_names_ignores_every_trailing_dot(
        canonical in cf_name(),
        cf in prop::collection::vec(cf_name(), 0..8),
        file in prop::collection::vec(cf_name(), 0..8),
    ) {
        let merged = merge_names(&canonical, &cf, &file);
        let mut seen = HashSet::new();
        for name in &merged {
            let bare = name.trim_end_matches('.').to_ascii_lowercase();
            prop_assert!(bare != "localhost" && bare != "localhost.localdomain", "{:?}", merged);
            prop_assert!(seen.insert(bare), "duplicate {:?} in {:?}", name, merged);
        }
    }
}
