//! Reads shell-assignment files such as Debian's `/etc/default/smtpbox` or
//! Solaris' `/etc/default/sendmail` without running a shell.
//!
//! Only the subset of sh such files use is understood: comments, `NAME=value`,
//! `export NAME=value`, `export NAME`, and values built from unquoted, '…' and
//! "…" parts. Every line must be understood: anything else (expansions,
//! operators, control flow) is an error naming its line, because a
//! configuration file we cannot fully read is a configuration error.

use std::fmt;

/// Largest text we agree to parse; real `/etc/default` files are a few KiB.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// Words that make a line shell code rather than an assignment.
const SHELL_KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until", "do", "done",
    "function", "select",
];

/// Characters that make sh run or redirect something.
const OPERATORS: &str = ";&|<>()";

/// One `NAME=value` found in the text: (name, value, line it starts on).
pub type Assignment = (String, String, usize);

/// Why a defaults file cannot be read; the caller adds the file path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellVarsError {
    /// The 1-based line at fault; None when the problem is the whole file.
    pub line: Option<usize>,
    pub problem: Problem,
}

/// What could not be read: mostly shell constructs deliberately not interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    TooLarge { bytes: usize },
    CommandSubstitution,
    Expansion,
    TildeExpansion,
    Operator(char),
    Keyword(String),
    UnterminatedQuote(char),
    TrailingBackslash,
    ControlCharacter(char),
    NotAnAssignment,
    TextAfterValue,
}

impl fmt::Display for ShellVarsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(f, "{}", self.problem)
    }
}

impl std::error::Error for ShellVarsError {}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::TooLarge { bytes } => format!("{bytes} bytes is over the {MAX_TEXT_BYTES} limit"),
            Self::CommandSubstitution => "command substitution is not supported".into(),
            Self::Expansion => "$ expansion is not supported; single-quote a literal $".into(),
            Self::TildeExpansion => "~ expansion is not supported; quote a literal ~".into(),
            Self::Operator(op) => format!("shell operator '{op}' is not supported"),
            Self::Keyword(word) => format!("shell keyword '{word}' is not supported"),
            Self::UnterminatedQuote(quote) => format!("the {quote} quote is never closed"),
            Self::TrailingBackslash => "backslash at the end of the file".into(),
            Self::ControlCharacter(c) => format!("control character {c:?} is not supported"),
            Self::NotAnAssignment => "not a variable assignment".into(),
            Self::TextAfterValue => "text after the value (one NAME=value per line)".into(),
        };
        f.write_str(&text)
    }
}

/// Returns the value of the last assignment to `name`, or None if there is none.
pub fn find_variable(text: &str, name: &str) -> Result<Option<String>, ShellVarsError> {
    let assignments = parse_assignments(text)?;
    let last = assignments.into_iter().rfind(|(found, _, _)| found == name);
    Ok(last.map(|(_, value, _)| value))
}

/// Every assignment in the text, in file order; fails on the first line not understood.
pub fn parse_assignments(text: &str) -> Result<Vec<Assignment>, ShellVarsError> {
    if text.len() > MAX_TEXT_BYTES {
        let problem = Problem::TooLarge { bytes: text.len() };
        return Err(ShellVarsError {
            line: None,
            problem,
        });
    }
    let mut cursor = Cursor {
        rest: text,
        line: 1,
    };
    let mut found = Vec::new();
    while cursor.peek().is_some() {
        found.extend(parse_line(&mut cursor)?);
    }
    Ok(found)
}

/// Tabs and newlines are syntax; other control characters (CR, NUL) are
/// almost always damage, and a value carrying them would be misread later.
fn is_forbidden_control(c: char) -> bool {
    c.is_control() && c != '\t' && c != '\n'
}

fn unsupported(line: usize, problem: Problem) -> ShellVarsError {
    let line = Some(line);
    ShellVarsError { line, problem }
}

/// Position in the text; `line` counts the newlines consumed so far.
struct Cursor<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.rest = &self.rest[c.len_utf8()..];
        self.line += usize::from(c == '\n');
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    /// Takes a `[A-Za-z_][A-Za-z0-9_]*` name, or "" when none starts here.
    fn take_name(&mut self) -> &'a str {
        let is_name = |(i, b): &(usize, u8)| {
            b.is_ascii_alphabetic() || *b == b'_' || (*i > 0 && b.is_ascii_digit())
        };
        let len = self.rest.bytes().enumerate().take_while(is_name).count();
        let (name, rest) = self.rest.split_at(len);
        self.rest = rest;
        name
    }

    fn error(&self, problem: Problem) -> ShellVarsError {
        unsupported(self.line, problem)
    }

    /// Names the construct starting here, or `fallback` if it is nothing special.
    fn problem_here(&self, fallback: Problem) -> ShellVarsError {
        self.error(match self.peek() {
            Some('`') => Problem::CommandSubstitution,
            Some('$') if self.rest.starts_with("$(") => Problem::CommandSubstitution,
            Some('$') => Problem::Expansion,
            Some(c) if OPERATORS.contains(c) => Problem::Operator(c),
            Some(c) if is_forbidden_control(c) => Problem::ControlCharacter(c),
            _ => fallback,
        })
    }
}

/// Parses one line (more if a quoted value spans lines).
fn parse_line(cursor: &mut Cursor) -> Result<Option<Assignment>, ShellVarsError> {
    cursor.skip_blanks();
    let line = cursor.line;
    let mut name = cursor.take_name();
    if name == "export" && matches!(cursor.peek(), Some(' ' | '\t')) {
        cursor.skip_blanks();
        name = cursor.take_name();
        if name.is_empty() {
            return Err(cursor.problem_here(Problem::NotAnAssignment));
        }
        if cursor.peek() != Some('=') {
            // `export NAME` only marks a variable for export: nothing to record.
            return finish_line(cursor).map(|()| None);
        }
    }
    match cursor.peek() {
        Some('=') if !name.is_empty() => cursor.bump(),
        None | Some('\n' | '#') if name.is_empty() => return finish_line(cursor).map(|()| None),
        _ if SHELL_KEYWORDS.contains(&name) => {
            return Err(cursor.error(Problem::Keyword(name.to_owned())));
        }
        // `f() {`, `echo x`, `. file`, `A+=1`, ...
        _ => return Err(cursor.problem_here(Problem::NotAnAssignment)),
    };
    let value = read_value(cursor)?;
    finish_line(cursor)?;
    Ok(Some((name.to_owned(), value, line)))
}

/// After a value only blanks and a comment may follow on the line.
fn finish_line(cursor: &mut Cursor) -> Result<(), ShellVarsError> {
    cursor.skip_blanks();
    if !matches!(cursor.peek(), None | Some('\n' | '#')) {
        return Err(cursor.problem_here(Problem::TextAfterValue));
    }
    while cursor.bump().is_some_and(|c| c != '\n') {}
    Ok(())
}

/// Reads a value up to unquoted white space, joining unquoted, '…' and "…"
/// parts; quoted parts may span lines. `#` inside a word is literal, as in sh.
fn read_value(cursor: &mut Cursor) -> Result<String, ShellVarsError> {
    let mut value = String::new();
    let mut open_quote: Option<(char, usize)> = None; // and the line it opened on
    while let Some(c) = cursor.peek() {
        if is_forbidden_control(c) {
            return Err(cursor.error(Problem::ControlCharacter(c)));
        }
        match (open_quote.map(|(quote, _)| quote), c) {
            (None, ' ' | '\t' | '\n') => return Ok(value),
            (None, '\'' | '"') => open_quote = Some((c, cursor.line)),
            (Some(quote), _) if c == quote => open_quote = None,
            (Some('\''), _) => value.push(c),
            (_, '\\') => read_escape(cursor, &mut value, open_quote.is_some())?,
            (_, '$' | '`') => return Err(cursor.problem_here(Problem::Expansion)),
            // sh expands ~ in assignments; we cannot know the home directory.
            (None, '~') => return Err(cursor.error(Problem::TildeExpansion)),
            (None, _) if OPERATORS.contains(c) => {
                return Err(cursor.problem_here(Problem::TextAfterValue));
            }
            _ => value.push(c),
        }
        cursor.bump();
    }
    match open_quote {
        Some((quote, line)) => Err(unsupported(line, Problem::UnterminatedQuote(quote))),
        None => Ok(value),
    }
}

/// Consumes a backslash and stores what the next character stands for; the
/// caller then consumes that character. Before a newline it joins the lines.
/// Outside quotes it makes any character literal; inside "…" only `"`, `\`,
/// `$` and backquote, and before anything else sh keeps the backslash.
fn read_escape(
    cursor: &mut Cursor,
    value: &mut String,
    quoted: bool,
) -> Result<(), ShellVarsError> {
    cursor.bump();
    match cursor.peek() {
        None if quoted => {} // the caller reports the open quote
        None => return Err(cursor.error(Problem::TrailingBackslash)),
        Some('\n') => {}
        Some(c) if is_forbidden_control(c) => {
            return Err(cursor.error(Problem::ControlCharacter(c)));
        }
        Some(c) => {
            if quoted && !matches!(c, '"' | '\\' | '$' | '`') {
                value.push('\\');
            }
            value.push(c);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r##"# /etc/default/sendmail, Solaris style
#MODE=-bd

QUEUEINTERVAL=15m
ETRN_HOSTS="s1.domain.com:clnt.domain.com s2.domain.com:clnt.domain.com"
  export EXPORTED=x
export EXPORTED
export ONLY_EXPORTED  # nothing to record
	TRAILING='y z'  # comment
HASH=a#b
QUOTED_HASH="q"#r
SINGLE='$x `y` \n'
DOUBLE="a \" \\ \$ \` \n"
JOINED=a"b c"'d'\ e
EMPTY=
EMPTY_QUOTES=""héllo
export=1
TWICE=1
TWICE=2
"##;

    fn problem_of(text: &str) -> (Option<usize>, Problem) {
        let err = parse_assignments(text).expect_err(text);
        (err.line, err.problem)
    }

    #[test]
    fn values_found() {
        let cases = [
            ("QUEUEINTERVAL", Some("15m")),
            (
                "ETRN_HOSTS",
                Some("s1.domain.com:clnt.domain.com s2.domain.com:clnt.domain.com"),
            ),
            ("EXPORTED", Some("x")),
            ("ONLY_EXPORTED", None),
            ("TRAILING", Some("y z")),
            ("HASH", Some("a#b")),
            ("QUOTED_HASH", Some("q#r")),
            ("SINGLE", Some("$x `y` \\n")),
            ("DOUBLE", Some("a \" \\ $ ` \\n")),
            ("JOINED", Some("ab cd e")),
            ("EMPTY", Some("")),
            ("EMPTY_QUOTES", Some("héllo")),
            ("export", Some("1")),
            ("TWICE", Some("2")),
            ("MISSING", None),
        ];
        for (name, expected) in cases {
            let found = find_variable(SAMPLE, name).expect("sample parses");
            assert_eq!(found.as_deref(), expected, "{name}");
        }
        assert_eq!(find_variable("", "A"), Ok(None));
    }

    #[test]
    fn multi_line_values_keep_line_numbers() {
        let text = "A='one\ntwo'\nB=\"three\nfour\"\nC=long\\\nvalue\nD=\"x\\\ny\"\nE=5\n";
        let found = parse_assignments(text).expect("parses");
        let lines: Vec<usize> = found.iter().map(|(_, _, line)| *line).collect();
        assert_eq!(lines, [1, 3, 5, 7, 9]);
        let values: Vec<&str> = found.iter().map(|(_, value, _)| value.as_str()).collect();
        assert_eq!(values, ["one\ntwo", "three\nfour", "longvalue", "xy", "5"]);
    }

    #[test]
    fn unsupported_constructs_name_their_line() {
        use Problem::*;
        // Each problem, with texts that have it and the line it is on.
        let cases: Vec<(Problem, &[(&str, usize)])> = vec![
            (
                CommandSubstitution,
                &[
                    ("A=1\nB=$(hostname)\n", 2),
                    ("B=`hostname`", 1),
                    ("B=\"x $(hostname)\"", 1),
                    ("$(rm -rf /)\n", 1),
                    ("A=$(x)\nB=\r", 1),
                ],
            ),
            (Expansion, &[("B=$HOME", 1), ("B=\"${HOME}\" && f () {", 1)]),
            (TildeExpansion, &[("B=~/x", 1)]),
            (Operator(';'), &[("A=1; B=2", 1)]),
            (Operator('|'), &[("A=1|tee", 1)]),
            (Operator('>'), &[("A=1 >/tmp/x", 1)]),
            (Operator('('), &[("f() { A=1; }", 1)]),
            (Keyword("if".into()), &[("\nif [ -f x ]; then\n", 2)]),
            (
                NotAnAssignment,
                &[
                    (". /etc/other", 1),
                    ("echo hi", 1),
                    ("A+=1", 1),
                    ("export  \n", 1),
                    ("\u{feff}A=1", 1),
                ],
            ),
            (TextAfterValue, &[("A=1 B=2", 1), ("A= value", 1)]),
            (UnterminatedQuote('\''), &[("A=1\n\nB='open\n\nC=2\n", 3)]),
            (UnterminatedQuote('"'), &[("B=\"open\\", 1)]),
            (TrailingBackslash, &[("B=x\\", 1)]),
            (
                ControlCharacter('\r'),
                &[("A=1\r\nB=2\r\n", 1), ("# comment\u{0}\nA=\r", 2)],
            ),
            (ControlCharacter('\0'), &[("A='x\0'", 1)]),
            (ControlCharacter('\u{1b}'), &[("A='\n\u{1b}'", 2)]),
            (ControlCharacter('\u{7f}'), &[("A=\"\\\u{7f}\"", 1)]),
        ];
        for (problem, texts) in cases {
            for &(text, line) in texts {
                assert_eq!(problem_of(text), (Some(line), problem.clone()), "{text:?}");
            }
        }
    }

    #[test]
    fn an_unsupported_line_anywhere_fails_the_lookup() {
        let err = find_variable("WANTED=1\nOTHER=$(date)\n", "WANTED").expect_err("$(");
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn display_names_the_line_and_size_is_bounded() {
        let shown = |text: &str| parse_assignments(text).expect_err(text).to_string();
        let backquote = "A=1\n#\n#\n#\n#\n#\nB=`date`\n";
        assert_eq!(
            shown(backquote),
            "line 7: command substitution is not supported"
        );
        assert_eq!(shown("\nA='x"), "line 2: the ' quote is never closed");
        assert_eq!(
            shown("A=\r"),
            "line 1: control character '\\r' is not supported"
        );
        let limit = MAX_TEXT_BYTES;
        let too_large = format!("{} bytes is over the {limit} limit", limit + 1);
        assert_eq!(shown(&"#".repeat(limit + 1)), too_large);
        assert!(parse_assignments(&"#".repeat(limit)).is_ok());
    }
}
