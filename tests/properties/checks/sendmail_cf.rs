//! What the sendmail.cf readers (`parse_cf`, `parse_class_file`) and
//! `merge_names` promise, checked once for the `sendmail_cf` fuzz target
//! (which includes this file by path) and the property tests of
//! `sendmail_cf.rs`. Proptest-free: plain `assert!`s.

use std::collections::HashSet;

use smtpbox::etrn::sendmail_cf::{AcceptedNames, merge_names, parse_cf, parse_class_file};
use smtpbox::names::EtrnArgument;

/// Reads `text` as sendmail.cf: class words are whole words without `$`,
/// class files absolute paths, and every line number within the text.
pub fn check_cf(text: &str) -> AcceptedNames {
    let accepted = parse_cf(text);
    let lines = text.lines().count();
    for name in &accepted.names {
        assert!(!name.is_empty());
        assert!(
            !name.contains(|c: char| c.is_ascii_whitespace() || c == '$'),
            "{name:?}"
        );
    }
    for file in &accepted.files {
        assert!(file.path.starts_with('/'), "{file:?}");
        assert!(!file.path.contains(|c: char| c.is_ascii_whitespace()));
        assert!(file.line >= 1 && file.line <= lines);
    }
    for (line, why) in &accepted.unsupported {
        assert!(*line >= 1 && *line <= lines);
        assert!(!why.is_empty());
    }
    accepted
}

/// Reads `text` as a class file: whole words without `#`, at most one a
/// line unless `all_words`.
pub fn check_class_file(text: &str, all_words: bool) -> Vec<String> {
    let names = parse_class_file(text, all_words);
    if !all_words {
        assert!(names.len() <= text.lines().count());
    }
    for name in &names {
        assert!(!name.is_empty());
        assert!(
            !name.contains(|c: char| c.is_ascii_whitespace() || c == '#'),
            "{name:?}"
        );
    }
    names
}

/// Merges the names: no case-insensitive duplicates, never `localhost` (or
/// `localhost.localdomain`), never a literal, `@` or `#` word, all valid
/// ETRN arguments, and each one from the input, in input order.
pub fn check_merge(canonical: &str, cf: &[String], file: &[String]) {
    let merged = merge_names(canonical, cf, file);
    let candidates: Vec<&str> = std::iter::once(canonical)
        .chain(cf.iter().chain(file).map(String::as_str))
        .collect();
    let mut seen = HashSet::new();
    let mut last_source = 0;
    for name in &merged {
        assert!(
            seen.insert(name.to_ascii_lowercase()),
            "duplicate {name:?} in {merged:?}"
        );
        assert!(!name.eq_ignore_ascii_case("localhost"), "{merged:?}");
        assert!(
            !name.eq_ignore_ascii_case("localhost.localdomain"),
            "{merged:?}"
        );
        assert_eq!(EtrnArgument::parse(name).map(|_| ()), Ok(()));
        assert!(!name.starts_with(['[', '@', '#']), "{name:?}");
        let source = candidates
            .iter()
            .skip(last_source)
            .position(|c| c.trim_end_matches('.') == &**name);
        let source = source.unwrap_or_else(|| panic!("{name:?} not from {candidates:?}"));
        last_source += source;
    }
}
