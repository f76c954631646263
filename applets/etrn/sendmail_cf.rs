//! Finds the names a sendmail accepts mail for (its class `w`) in
//! sendmail.cf text and class files, and merges them into ETRN arguments.

use std::collections::HashSet;

use crate::names::{EtrnArgument, Quoted, same_name};

/// What sendmail.cf says about class `w`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptedNames {
    /// Words from `Cw` / `C{w}` lines, in file order.
    pub names: Vec<String>,
    /// Files named by `Fw` / `F{w}` lines, still to be read.
    pub files: Vec<ClassFile>,
    /// (line, explanation) for class-w definitions we cannot follow.
    pub unsupported: Vec<(usize, String)>,
}

/// A file sendmail reads more class `w` names from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassFile {
    pub path: String,
    /// `-o`: sendmail does not complain when the file is missing.
    pub optional: bool,
    /// A scanf pattern follows the path (Debian: `%[^\#]`): sendmail then
    /// takes every word of a line up to `#`, not only the first.
    pub pattern: bool,
    pub line: usize,
}

/// Collects class `w` from sendmail.cf text.
pub fn parse_cf(text: &str) -> AcceptedNames {
    let mut accepted = AcceptedNames::default();
    for (line, logical) in logical_lines(text) {
        let content = strip_comments(&logical);
        if let Some(words) = class_w_body(&content, 'C') {
            add_class_words(words, line, &mut accepted);
        } else if let Some(source) = class_w_body(&content, 'F') {
            add_class_file(source, line, &mut accepted);
        }
    }
    accepted
}

/// Names in a class file, read as sendmail reads it: without a scanf
/// pattern the first word of each line; with one (`all_words`, Debian's
/// `%[^\#]`) every word before a `#`. Lines starting with `#` are comments,
/// and a `#` ends the words, since no host name contains one.
pub fn parse_class_file(text: &str, all_words: bool) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let before_comment = line.split('#').next().unwrap_or_default();
        let mut words = before_comment.split_ascii_whitespace();
        if all_words {
            names.extend(words.map(str::to_owned));
        } else if let Some(first) = words.next() {
            names.push(first.to_owned());
        }
    }
    names
}

/// The ETRN arguments to send: the canonical host, then cf names, then file
/// names, first spelling kept. Skipped: duplicates (case-insensitive, a
/// trailing dot ignored and dropped), `localhost` and `localhost.localdomain`
/// (no remote queue holds mail for them), every `[address]` literal (backup
/// MX queues are kept by domain, and sendmail adds the host's own addresses to
/// class w), words starting `@` or `#` (they would change the ETRN meaning)
/// and anything that is not a valid [`EtrnArgument`].
pub fn merge_names(
    canonical_host: &str,
    cf_names: &[String],
    file_names: &[String],
) -> Vec<EtrnArgument> {
    let candidates = std::iter::once(canonical_host)
        .chain(cf_names.iter().map(String::as_str))
        .chain(file_names.iter().map(String::as_str));
    let mut seen = HashSet::new();
    let mut merged = Vec::new();
    for name in candidates {
        let name = name.trim_end_matches('.');
        if let Some(argument) = worth_asking_for(name)
            && seen.insert(name.to_ascii_lowercase())
        {
            merged.push(argument);
        }
    }
    merged
}

/// `name` as an ETRN argument, unless it is one to skip.
fn worth_asking_for(name: &str) -> Option<EtrnArgument> {
    let is_loopback = same_name(name, "localhost") || same_name(name, "localhost.localdomain");
    if is_loopback || name.starts_with(['[', '@', '#']) {
        return None;
    }
    EtrnArgument::parse(name).ok()
}

/// Joins continuation lines (starting with a space or tab) onto the line
/// before, keeping the newline so that on-line comments stop at it, as
/// sendmail does. Yields (first physical line number, text).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (index, physical) in text.lines().enumerate() {
        match lines.last_mut() {
            Some((_, logical)) if physical.starts_with([' ', '\t']) => {
                logical.push('\n');
                logical.push_str(physical);
            }
            _ => lines.push((index + 1, physical.to_owned())),
        }
    }
    lines
}

/// Removes comments the way sendmail does for V3+ configurations (all in use
/// today): a line starting with `#` is a comment, and elsewhere `#` starts a
/// comment to the end of its physical line unless written `\#` (a literal
/// `#`, as in Debian's `%[^\#]`) or `$#` (a rewriting operator).
fn strip_comments(line: &str) -> String {
    if line.starts_with('#') {
        return String::new();
    }
    let mut kept = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' if kept.ends_with('\\') => {
                kept.pop();
                kept.push('#');
            }
            '#' if !kept.ends_with('$') => {
                kept.truncate(kept.trim_end_matches([' ', '\t']).len());
                if chars.by_ref().any(|skipped| skipped == '\n') {
                    kept.push('\n');
                }
            }
            _ => kept.push(c),
        }
    }
    kept
}

/// The rest of a `Cw`/`C{w}` line (kind 'C') or `Fw`/`F{w}` line (kind 'F');
/// None for other lines and other classes (`Cm`, `CW`, `C{M}`, `C{wx}`...).
fn class_w_body(line: &str, kind: char) -> Option<&str> {
    let rest = line.strip_prefix(kind)?;
    rest.strip_prefix("{w}").or_else(|| rest.strip_prefix('w'))
}

/// Words of a `Cw` line; words using macros (`$w`, `$m`) are reported,
/// because their values are only known inside sendmail.
fn add_class_words(words: &str, line: usize, accepted: &mut AcceptedNames) {
    for word in words.split_ascii_whitespace() {
        if word.contains('$') {
            let problem = format!("class w word {} uses a macro", Quoted(word));
            accepted.unsupported.push((line, problem));
        } else {
            accepted.names.push(word.to_owned());
        }
    }
}

/// `Fw[-o] /path [scanf pattern]`: only the path matters, since we read the
/// file ourselves; the pattern after it is not part of the path.
fn add_class_file(source: &str, line: usize, accepted: &mut AcceptedNames) {
    let mut words = source.split_ascii_whitespace();
    let mut path = words.next();
    // sendmail only knows `-o` and, like it, takes any word starting so.
    let optional = path.is_some_and(|word| word.starts_with("-o"));
    if optional {
        path = words.next();
    }
    let Some(path) = path.filter(|path| path.starts_with('/')) else {
        let (source, why) = (Quoted(source.trim()), why_unsupported(path));
        let problem = format!("class w source {source} {why}; not supported");
        accepted.unsupported.push((line, problem));
        return;
    };
    let path = path.to_owned();
    let pattern = words.next().is_some();
    accepted.files.push(ClassFile {
        path,
        optional,
        pattern,
        line,
    });
}

fn why_unsupported(path: Option<&str>) -> &'static str {
    match path {
        None => "names no file",
        Some(program) if program.starts_with('|') => "runs a program",
        Some(option) if option.starts_with('-') => "has an unknown option",
        Some(_) => "is not an absolute path",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_EXCERPT: &str = "\
# file containing names of hosts for which we receive email
Fw-o /etc/mail/local-host-names %[^\\#]

# my official domain name
#Dj$w.Foo.COM
Cwlocalhost
CwFOO BAR
C{w}long.example
Cw mail.example.org # trailing comment
CO @ % !
Cmlocal
C{M}masq.example
CWnot.w.example
FR-o /etc/mail/relay-domains %[^\\#]
Fw/etc/mail/relay-domains
";

    fn names(text: &str) -> String {
        parse_cf(text).names.join(" ")
    }

    /// Files as `line:path`, with ` -o` when optional.
    fn files(text: &str) -> String {
        let shown = parse_cf(text).files.into_iter().map(|file| {
            let optional = if file.optional { " -o" } else { "" };
            format!("{}:{}{optional}", file.line, file.path)
        });
        shown.collect::<Vec<_>>().join(" ")
    }

    fn merged(canonical: &str, cf: &str, file: &str) -> String {
        let words = |list: &str| list.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let merged = merge_names(canonical, &words(cf), &words(file));
        let shown: Vec<&str> = merged.iter().map(|a| &**a).collect();
        shown.join(" ")
    }

    #[test]
    fn debian_excerpt() {
        let expected_names = "localhost FOO BAR long.example mail.example.org";
        assert_eq!(names(DEBIAN_EXCERPT), expected_names);
        let expected_files = "2:/etc/mail/local-host-names -o 15:/etc/mail/relay-domains";
        assert_eq!(files(DEBIAN_EXCERPT), expected_files);
        assert_eq!(parse_cf(DEBIAN_EXCERPT).unsupported, []);
    }

    #[test]
    fn f_line_forms() {
        let text = "F{w} -o /etc/mail/a %s\nFw\t/etc/mail/b\nF{w}/etc/mail/c\nFw-o/d\n";
        assert_eq!(files(text), "1:/etc/mail/a -o 2:/etc/mail/b 3:/etc/mail/c");
        let text = "Fw|/usr/bin/names -a\nFw-o |/bin/x\nFw\nFw-x /f\nFwrel/file\nCw$w ok\n";
        let accepted = parse_cf(text);
        let lines: Vec<usize> = accepted.unsupported.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6]);
        assert_eq!(
            accepted.unsupported[0].1,
            "class w source '|/usr/bin/names -a' runs a program; not supported"
        );
        assert_eq!(accepted.names, ["ok"]);
        assert_eq!(accepted.files, []);
    }

    #[test]
    fn continuation_lines_comments_and_crlf() {
        let text = "Cwa\n\tb # c\n  d\n# Cwcomment\n  still.comment\nCwe\\#x\r\nCw\r\nR$#\tfoo\n";
        assert_eq!(names(text), "a b d e#x");
        let others = "Cm local\nCP.\nC{wx}no\nC{W}no\nDwno\nMlocal, P=/x\n cw.indented\nFRno\n";
        assert_eq!(parse_cf(others), AcceptedNames::default());
    }

    #[test]
    fn class_file_takes_first_word_per_line() {
        let text = "# local-host-names\n\na.org\n  b.org  extra words\nhost#comment\n\t# c\n#\n";
        assert_eq!(parse_class_file(text, false), ["a.org", "b.org", "host"]);
        assert_eq!(parse_class_file("", false), Vec::<String>::new());
    }

    #[test]
    fn class_file_with_a_pattern_takes_every_word_before_a_hash() {
        let text = "a.org b.org # not.this\nc.org\n# d.org\n";
        assert_eq!(parse_class_file(text, true), ["a.org", "b.org", "c.org"]);
    }

    #[test]
    fn merge_orders_and_deduplicates() {
        let cf = "localhost Mail.Example.ORG FOO other.example.";
        let file = "mail.example.org. foo new.example OTHER.example";
        let expected = "mail.example.org FOO other.example new.example";
        assert_eq!(merged("mail.example.org", cf, file), expected);
        assert_eq!(merged("host.example", "", ""), "host.example");
    }

    #[test]
    fn merge_skips_loopback_literals_and_invalid_names() {
        let cf = "LOCALHOST localhost.localdomain. [127.0.0.1] [IPv6:::1] [192.0.2.7] .  x\0";
        let file = "@dom.example #queue bad\rname caf\u{e9}.example ok.example";
        assert_eq!(merged("localhost", cf, file), "ok.example");
    }

    #[test]
    fn cf_to_arguments_end_to_end() {
        let accepted = parse_cf(DEBIAN_EXCERPT);
        let from_file = parse_class_file("example.net\nbar\n", false);
        let merged = merge_names("mail.example.org", &accepted.names, &from_file);
        let arguments: Vec<&str> = merged.iter().map(|a| &**a).collect();
        assert_eq!(
            arguments,
            [
                "mail.example.org",
                "FOO",
                "BAR",
                "long.example",
                "example.net"
            ]
        );
    }
}
