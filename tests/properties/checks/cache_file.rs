//! What the smtpdcheck cache file's `parse` promises, checked once for the
//! `cache_file` fuzz target (which includes this file by path) and the
//! property tests of `cache_file.rs`. Proptest-free: plain `assert!`s.

use smtpbox::smtpdcheck::cache::{parse, render};

/// The cache file's first line (private in cache.rs).
pub const HEADER: &str = "# smtpbox smtpdcheck cache v1";
/// The most entries the cache keeps (private in cache.rs).
pub const MAX_ENTRIES: usize = 1024;

/// Parses `text`: at most [`MAX_ENTRIES`] entries, nothing without the
/// header, and what was understood survives a rewrite unchanged.
pub fn check_parse(text: &str) {
    let parsed = parse(text);
    assert!(parsed.len() <= MAX_ENTRIES);
    if !text.starts_with(HEADER) {
        assert!(parsed.is_empty());
    }
    let rendered = render(&parsed);
    assert!(rendered.starts_with(HEADER));
    assert_eq!(parse(&rendered), parsed);
}
