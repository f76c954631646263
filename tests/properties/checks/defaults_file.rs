//! What a defaults file's parser promises (`parse_assignments`,
//! `find_variable`), checked once for the `defaults_file` fuzz target (which
//! includes this file by path) and the property tests of `defaults_file.rs`.
//! Proptest-free: plain `assert!`s.

use smtpbox::etrn::shell_vars::{Assignment, ShellVarsError, find_variable, parse_assignments};

/// `value` in double quotes, escaped as the shell reads it back.
pub fn double_quote(value: &str) -> String {
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

/// Parses `text` and checks the result: well-formed names, no control
/// character but tab and newline in a value, increasing line numbers within
/// the text, and the assignments written back as `NAME="..."` read back the
/// same; or an error on a line of the text. Gives the parse's result.
pub fn check_assignments(text: &str) -> Result<Vec<Assignment>, ShellVarsError> {
    let lines = text.matches('\n').count() + 1;
    let parsed = parse_assignments(text);
    let assignments = match &parsed {
        Ok(assignments) => assignments,
        Err(err) => {
            assert!(err.line.is_none_or(|line| line >= 1 && line <= lines));
            let _ = err.to_string();
            return parsed;
        }
    };
    let mut previous_line = 0;
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
                .any(|c| c.is_control() && c != '\t' && c != '\n'),
            "{value:?}"
        );
        assert!(*line > previous_line && *line <= lines, "line {line}");
        previous_line = *line;
    }
    let rewritten: String = assignments
        .iter()
        .map(|(name, value, _)| format!("{name}={}\n", double_quote(value)))
        .collect();
    let again =
        parse_assignments(&rewritten).unwrap_or_else(|e| panic!("rewritten {rewritten:?}: {e}"));
    let strip = |list: &[Assignment]| {
        list.iter()
            .map(|(n, v, _)| (n.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&again), strip(assignments));
    parsed
}

/// `find_variable(text, name)` is the last assignment of `name` in what
/// `text` parsed to (`parsed`), or the same error.
pub fn check_lookup(text: &str, parsed: &Result<Vec<Assignment>, ShellVarsError>, name: &str) {
    let expected = parsed.clone().map(|list| {
        list.into_iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v)
    });
    assert_eq!(find_variable(text, name), expected, "{name:?}");
}
