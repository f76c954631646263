//! Shell-assignment defaults files (`/etc/default/...`).
//!
//! Parsing never panics; what parses has well-formed names, no forbidden
//! control characters and increasing line numbers; the assignments written
//! back as `NAME="..."` (escaped) read back the same; `find_variable` is
//! the last assignment of a name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpbox::etrn::defaults::{find_variable, parse_assignments};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.matches('\n').count() + 1;
    let parsed = parse_assignments(&text);
    let assignments = match &parsed {
        Ok(assignments) => assignments,
        Err(err) => {
            assert!(err.line.is_none_or(|line| line >= 1 && line <= lines));
            let _ = err.to_string();
            assert_eq!(find_variable(&text, "ETRN_HOSTS"), Err(err.clone()));
            return;
        }
    };
    let mut previous = 0;
    for (name, value, line) in assignments {
        let mut chars = name.chars();
        assert!(
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        );
        assert!(
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name:?}"
        );
        assert!(
            !value
                .chars()
                .any(|c| c.is_control() && c != '\t' && c != '\n')
        );
        assert!(*line > previous && *line <= lines, "line {line}");
        previous = *line;
    }
    // the last assignment wins (a few names: each lookup parses again)
    for (name, _, _) in assignments.iter().rev().take(4) {
        let last = assignments
            .iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.clone());
        assert_eq!(find_variable(&text, name), Ok(last));
    }
    let rewritten: String = assignments
        .iter()
        .map(|(name, value, _)| format!("{name}={}\n", double_quote(value)))
        .collect();
    let again = parse_assignments(&rewritten).expect("rewritten assignments parse");
    let strip = |list: &[(String, String, usize)]| {
        list.iter()
            .map(|(n, v, _)| (n.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&again), strip(assignments));
});

fn double_quote(value: &str) -> String {
    let mut quoted = String::from("\"");
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}
