//! sendmail.cf class `w`, class files, and the merged ETRN arguments.
//!
//! Nothing panics; class words and file paths are whole words; the merged
//! names have no case-insensitive duplicates, never `localhost` (or
//! `localhost.localdomain`), never a literal, `@` or `#` word, and all pass
//! `validate_etrn_argument`.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use smtpbox::etrn::etrn_hosts::validate_etrn_argument;
use smtpbox::etrn::sendmail_cf::{merge_names, parse_cf, parse_class_file};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    let accepted = parse_cf(&text);
    for name in &accepted.names {
        assert!(!name.is_empty());
        assert!(
            !name.contains(|c: char| c.is_ascii_whitespace() || c == '$'),
            "{name:?}"
        );
    }
    for file in &accepted.files {
        assert!(file.path.starts_with('/'));
        assert!(!file.path.contains(|c: char| c.is_ascii_whitespace()));
        assert!(file.line >= 1 && file.line <= lines);
    }
    for (line, why) in &accepted.unsupported {
        assert!(*line >= 1 && *line <= lines);
        assert!(!why.is_empty());
    }
    let first_words = parse_class_file(&text, false);
    let all_words = parse_class_file(&text, true);
    assert!(first_words.len() <= lines);
    for name in first_words.iter().chain(&all_words) {
        assert!(!name.is_empty());
        assert!(
            !name.contains(|c: char| c.is_ascii_whitespace() || c == '#'),
            "{name:?}"
        );
    }
    let canonical = text.lines().next().unwrap_or_default();
    for merged in [
        merge_names(canonical, &accepted.names, &first_words),
        merge_names(canonical, &all_words, &accepted.names),
    ] {
        let mut seen = HashSet::new();
        for name in &merged {
            assert!(seen.insert(name.to_ascii_lowercase()), "duplicate {name:?}");
            assert!(!name.eq_ignore_ascii_case("localhost"), "{merged:?}");
            assert!(
                !name.eq_ignore_ascii_case("localhost.localdomain"),
                "{merged:?}"
            );
            assert!(!name.starts_with(['[', '@', '#']), "{name:?}");
            assert_eq!(validate_etrn_argument(name), Ok(()));
        }
    }
});
