//! sendmail.cf class `w`, class files, and the merged ETRN arguments.
//!
//! Nothing panics; class words and file paths are whole words; the merged
//! names have no case-insensitive duplicates, never `localhost` (or
//! `localhost.localdomain`), never a literal, `@` or `#` word, all pass
//! `EtrnArgument::parse` and come from the input, in order. The input is
//! read as sendmail.cf and as a class file, its first line as the canonical
//! name. The checks are the property tests' (`tests/properties/checks/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/properties/checks/sendmail_cf.rs"]
mod checks;

use checks::{check_cf, check_class_file, check_merge};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let accepted = check_cf(&text);
    let first_words = check_class_file(&text, false);
    let all_words = check_class_file(&text, true);
    let canonical = text.lines().next().unwrap_or_default();
    check_merge(canonical, &accepted.names, &first_words);
    check_merge(canonical, &all_words, &accepted.names);
});
