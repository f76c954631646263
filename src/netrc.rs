//! netrc(5) credentials files, parsed (pure: the caller reads the file,
//! with [`crate::files::read_private`]) and looked up by host name.
//!
//! The format fetchmail, curl and ftp read: white-space separated tokens,
//! `machine NAME` or `default` starting an entry, then `login NAME`,
//! `password SECRET` and `account SECRET` for it; `macdef NAME` skips a
//! macro body up to the next empty line; a line whose first non-blank
//! character is `#` is a comment. A token may be double-quoted as curl
//! accepts it (`"a b"`, with `\"`, `\\`, `\n`, `\r`, `\t`). The parse is
//! strict: an unknown keyword, a keyword without its value, a field given
//! twice or outside an entry, a second `default` or a `machine` after it
//! is an error naming its line (never showing a token: it may be a
//! password), never a guess.
//!
//! Lookup: the first `machine` that names the host wins (names ASCII
//! case-insensitive, IP addresses bare or bracketed alike:
//! [`crate::names::same_host`]); else the `default` entry, if any.

use std::fmt;

use crate::names::same_host;
pub use crate::secret::Secret;
use crate::secret::wipe_string;

/// Which hosts an entry is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Machine {
    /// `machine NAME`: this host.
    Name(String),
    /// `default`: any host no `machine` entry names.
    Default,
}

/// One `machine` or `default` entry.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    pub machine: Machine,
    pub login: Option<String>,
    pub password: Option<Secret>,
    pub account: Option<Secret>,
    /// The line of its `machine` or `default` token (from 1).
    pub line: usize,
}

/// A parsed credentials file: its entries in file order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Netrc {
    pub entries: Vec<Entry>,
}

impl Netrc {
    /// The entry for `host`: the first `machine` naming it, else the
    /// `default` entry.
    pub fn lookup(&self, host: &str) -> Option<&Entry> {
        let named = self.entries.iter().find(|entry| match &entry.machine {
            Machine::Name(name) => same_host(name, host),
            Machine::Default => false,
        });
        named.or_else(|| {
            let mut entries = self.entries.iter();
            entries.find(|entry| entry.machine == Machine::Default)
        })
    }
}

/// Why a file is not a netrc file we accept, and on which line (from 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetrcError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for NetrcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for NetrcError {}

/// Parses netrc text (see the module documentation).
pub fn parse(text: &str) -> Result<Netrc, NetrcError> {
    let mut tokens = Tokens::new(text);
    let mut netrc = Netrc::default();
    while let Some(token) = tokens.next()? {
        let line = token.line;
        let value = |tokens: &mut Tokens, keyword: &str| match tokens.next()? {
            Some(value) => Ok(value.text),
            None => Err(error(line, format!("'{keyword}' without a value"))),
        };
        let has_default = netrc.entries.iter().any(|e| e.machine == Machine::Default);
        match token.keyword() {
            Some(Keyword::Machine) => {
                let name = value(&mut tokens, "machine")?;
                if has_default {
                    return Err(error(line, "'machine' after 'default'"));
                }
                netrc.entries.push(Entry::new(Machine::Name(name), line));
            }
            Some(Keyword::Default) => {
                if has_default {
                    return Err(error(line, "a second 'default'"));
                }
                netrc.entries.push(Entry::new(Machine::Default, line));
            }
            Some(Keyword::Macdef) => {
                value(&mut tokens, "macdef")?;
                tokens.skip_macro_body();
            }
            Some(field) => {
                let Some(entry) = netrc.entries.last_mut() else {
                    let outside = format!("'{}' before any 'machine' or 'default'", field.name());
                    return Err(error(line, outside));
                };
                let text = value(&mut tokens, field.name())?;
                let slot_was_empty = match field {
                    Keyword::Login => entry.login.replace(text).is_none(),
                    Keyword::Password => entry.password.replace(Secret::new(text)).is_none(),
                    _ => entry.account.replace(Secret::new(text)).is_none(),
                };
                if !slot_was_empty {
                    return Err(error(line, format!("'{}' given twice", field.name())));
                }
            }
            None => {
                // Not shown: a stray token may be a password whose keyword
                // is missing.
                return Err(error(line, UNKNOWN_KEYWORD));
            }
        }
    }
    Ok(netrc)
}

impl Entry {
    fn new(machine: Machine, line: usize) -> Entry {
        Entry {
            machine,
            login: None,
            password: None,
            account: None,
            line,
        }
    }
}

/// The complaint about a token that is no keyword.
const UNKNOWN_KEYWORD: &str =
    "not a keyword (machine, default, login, password, account or macdef)";

fn error(line: usize, reason: impl Into<String>) -> NetrcError {
    NetrcError {
        line,
        reason: reason.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keyword {
    Machine,
    Default,
    Login,
    Password,
    Account,
    Macdef,
}

impl Keyword {
    fn name(self) -> &'static str {
        match self {
            Keyword::Machine => "machine",
            Keyword::Default => "default",
            Keyword::Login => "login",
            Keyword::Password => "password",
            Keyword::Account => "account",
            Keyword::Macdef => "macdef",
        }
    }
}

/// One token and the line it starts on.
struct Token {
    text: String,
    line: usize,
    quoted: bool,
}

impl Token {
    /// The keyword this token is, if it is one (keywords are never quoted).
    fn keyword(&self) -> Option<Keyword> {
        if self.quoted {
            return None;
        }
        [
            Keyword::Machine,
            Keyword::Default,
            Keyword::Login,
            Keyword::Password,
            Keyword::Account,
            Keyword::Macdef,
        ]
        .into_iter()
        .find(|keyword| keyword.name() == self.text)
    }
}

/// The tokenizer: white space separates, `#` lines are skipped, double
/// quotes group.
struct Tokens<'a> {
    rest: &'a str,
    line: usize,
    /// No token yet on the current line (so `#` starts a comment).
    line_start: bool,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        Tokens {
            rest: text,
            line: 1,
            line_start: true,
        }
    }

    fn next(&mut self) -> Result<Option<Token>, NetrcError> {
        loop {
            let Some(c) = self.rest.chars().next() else {
                return Ok(None);
            };
            if c == '\n' {
                self.advance(1);
            } else if c.is_whitespace() {
                self.advance(c.len_utf8());
            } else if c == '#' && self.line_start {
                let end = self.rest.find('\n').unwrap_or(self.rest.len());
                self.advance(end);
            } else {
                self.line_start = false;
                return if c == '"' {
                    self.quoted().map(Some)
                } else {
                    Ok(Some(self.bare()))
                };
            }
        }
    }

    fn bare(&mut self) -> Token {
        let end = self
            .rest
            .find(char::is_whitespace)
            .unwrap_or(self.rest.len());
        let text = self.rest[..end].to_owned();
        let line = self.line;
        self.advance(end);
        Token {
            text,
            line,
            quoted: false,
        }
    }

    /// A `"..."` token, curl's escapes decoded.
    fn quoted(&mut self) -> Result<Token, NetrcError> {
        let line = self.line;
        let mut text = String::new();
        let mut chars = self.rest.char_indices().skip(1);
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => {
                    self.advance(at + 1);
                    return Ok(Token {
                        text,
                        line,
                        quoted: true,
                    });
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => text.push('\n'),
                    Some((_, 'r')) => text.push('\r'),
                    Some((_, 't')) => text.push('\t'),
                    Some((_, other)) => text.push(other),
                    None => break,
                },
                '\n' => break,
                c => text.push(c),
            }
        }
        wipe_string(&mut text);
        Err(error(line, "unterminated quoted string"))
    }

    /// `macdef NAME`: the body runs from the next line up to an empty line
    /// (or the end of the text).
    fn skip_macro_body(&mut self) {
        let Some(newline) = self.rest.find('\n') else {
            self.advance(self.rest.len());
            return;
        };
        self.advance(newline + 1);
        loop {
            let end = self.rest.find('\n');
            let body_line = &self.rest[..end.unwrap_or(self.rest.len())];
            if body_line.trim_end_matches('\r').is_empty() {
                return;
            }
            match end {
                Some(end) => self.advance(end + 1),
                None => return self.advance(self.rest.len()),
            }
        }
    }

    /// Moves past `len` bytes (a char boundary), counting lines.
    fn advance(&mut self, len: usize) {
        let newlines = self.rest[..len].matches('\n').count();
        if newlines > 0 {
            self.line += newlines;
            self.line_start = true;
        }
        self.rest = &self.rest[len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(netrc: &'a Netrc, host: &str) -> Option<(&'a str, &'a str)> {
        let entry = netrc.lookup(host)?;
        let login = entry.login.as_deref().unwrap_or("");
        let password = entry.password.as_ref().map_or("", Secret::expose);
        Some((login, password))
    }

    #[test]
    fn first_machine_wins_then_default() {
        let text = "machine mx.example login a password one\n\
                    machine MX.example login b password two\n\
                    default login anon password guest\n";
        let netrc = parse(text).expect("valid");
        assert_eq!(entry(&netrc, "mx.example"), Some(("a", "one")));
        assert_eq!(entry(&netrc, "Mx.Example"), Some(("a", "one")));
        assert_eq!(entry(&netrc, "mx.example."), Some(("a", "one")));
        assert_eq!(entry(&netrc, "other"), Some(("anon", "guest")));
        let without_default = parse("machine m login l password p").expect("valid");
        assert_eq!(entry(&without_default, "other"), None);
        assert_eq!(netrc.entries[2].line, 3);
    }

    #[test]
    fn machines_named_by_address_match_it_bare_or_bracketed() {
        let text = "machine ::1 login six password v6
                    machine [127.0.0.1] login four password v4
";
        let netrc = parse(text).expect("valid");
        assert_eq!(entry(&netrc, "[::1]"), Some(("six", "v6")));
        assert_eq!(entry(&netrc, "::1"), Some(("six", "v6")));
        assert_eq!(entry(&netrc, "127.0.0.1"), Some(("four", "v4")));
        assert_eq!(entry(&netrc, "127.0.0.2"), None);
    }

    #[test]
    fn one_line_macdef_account_comments_and_quotes() {
        let text = "# comment line\n\
                    machine m login l\n\
                    \taccount acct password \"p w\\\"d\\\\\" \n\
                    macdef init\n\
                    cd /pub\n\
                    machine x\n\
                    \n\
                    machine n login \"#x\" password #notacomment\n";
        let netrc = parse(text).expect("valid");
        assert_eq!(netrc.entries.len(), 2, "{netrc:?}");
        assert_eq!(entry(&netrc, "m"), Some(("l", "p w\"d\\")));
        assert_eq!(entry(&netrc, "n"), Some(("#x", "#notacomment")));
        assert_eq!(netrc.entries[1].line, 8);
        let one_line = parse("machine a login b password c machine d login e password f");
        assert_eq!(one_line.expect("valid").entries.len(), 2);
    }

    #[test]
    fn errors_name_their_line() {
        let cases = [
            ("machine", 1, "'machine' without a value"),
            ("machine m\nlogin", 2, "'login' without a value"),
            ("login x", 1, "'login' before any 'machine' or 'default'"),
            ("machine m\n\nport 25", 3, UNKNOWN_KEYWORD),
            ("machine m login l hunter2", 1, UNKNOWN_KEYWORD),
            ("machine m login a login b", 1, "'login' given twice"),
            ("default\ndefault", 2, "a second 'default'"),
            ("default\nmachine m", 2, "'machine' after 'default'"),
            ("machine m password \"open", 1, "unterminated quoted string"),
            ("machine m \"login\" x", 1, UNKNOWN_KEYWORD),
        ];
        for (text, line, reason) in cases {
            let error = parse(text).expect_err(text);
            assert_eq!(
                error,
                NetrcError {
                    line,
                    reason: reason.into()
                },
                "{text:?}"
            );
        }
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let netrc = parse("machine m login l password hunter2 account acct9").expect("valid");
        let shown = format!("{netrc:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("acct9"),
            "{shown}"
        );
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn empty_and_blank_files_have_no_entries() {
        for text in ["", "\n\n", "# only a comment\n", "  \t\r\n"] {
            assert_eq!(parse(text), Ok(Netrc::default()), "{text:?}");
        }
    }
}
