//! The smtpdcheck result cache file.
//!
//! Parsing never panics, keeps at most 1024 entries, reads nothing without
//! the header, and what it understood survives `render` then `parse`
//! unchanged. The input is tried as is and behind a valid header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpbox::smtpdcheck::cache::{parse, render};

/// The file's first line (private in cache.rs).
const HEADER: &str = "# smtpbox smtpdcheck cache v1";
/// The most entries kept (private in cache.rs).
const MAX_ENTRIES: usize = 1024;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for text in [text.to_string(), format!("{HEADER}\n{text}")] {
        let parsed = parse(&text);
        assert!(parsed.len() <= MAX_ENTRIES);
        if !text.starts_with(HEADER) {
            assert!(parsed.is_empty());
        }
        let rendered = render(&parsed);
        assert!(rendered.starts_with(HEADER));
        assert_eq!(parse(&rendered), parsed);
    }
});
