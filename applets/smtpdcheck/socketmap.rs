//! Sendmail's socket map protocol, sans I/O: the `socket` map class of
//! sendmail 8.13 and later (the Sendmail Installation and Operation Guide,
//! "socket"; the same protocol as Postfix's socketmap_table(5)).
//!
//! A request and its reply are each one netstring (`LEN:DATA,`, LEN in
//! decimal without leading zeros, no line ends): the request is `MAPNAME
//! SP KEY`, the reply `OK SP value`, `NOTFOUND SP`, or `TEMP`, `TIMEOUT`
//! or `PERM` with a reason. sendmail keeps one connection per process and
//! sends one request at a time on it, waiting for each reply.
//!
//! Requests come from the MTA, but their keys from SMTP clients, so
//! everything is bounded here: a netstring over [`MAX_REQUEST_LEN`], a
//! length that is not digits, a missing `:` or `,` is a [`FrameError`],
//! after which the stream is out of step and the service closes the
//! connection (sendmail then logs a failed lookup and, with the recipe's
//! `-T<TMPF>`, lets the recipient through). Replies are rendered from
//! printable ASCII only and bounded by [`MAX_REPLY_TEXT`].

use std::fmt;

use crate::names::HostName;

/// The longest request payload read (`MAPNAME SP KEY`). sendmail cuts a
/// key to MAXNAME (256) octets before sending it (map.c,
/// socket_map_lookup); a domain is at most 255 octets (RFC 1035 §2.3.4)
/// and a whole address at most 256 (RFC 5321 §4.5.3.1.3): 1024 leaves
/// room for any map name.
pub const MAX_REQUEST_LEN: usize = 1024;

/// The decimal digits of [`MAX_REQUEST_LEN`]: a longer length prefix
/// announces a netstring over the limit.
const MAX_LENGTH_DIGITS: u32 = 4;
const _: () = assert!(MAX_REQUEST_LEN.ilog10() + 1 == MAX_LENGTH_DIGITS);

/// The most bytes one request takes on the wire (length, `:`, payload,
/// `,`): the service never needs to hold more than this unanswered.
pub const MAX_REQUEST_FRAME: usize = MAX_LENGTH_DIGITS as usize + 1 + MAX_REQUEST_LEN + 1;

/// The longest value or reason text put in a reply, in octets. Clients
/// accept far more (sendmail 1,000,000 octets, SOCKETMAP_MAXL in map.c;
/// Postfix 100,000, socketmap_table(5)); a host name needs 255.
pub const MAX_REPLY_TEXT: usize = 255;

/// Why the bytes read are not a netstring: the connection is closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The length prefix is empty, has a byte that is not a decimal
    /// digit, or a leading zero.
    BadLength,
    /// The length announced is over [`MAX_REQUEST_LEN`].
    TooLong,
    /// The payload is not followed by `,`.
    MissingComma,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadLength => f.write_str("netstring length is not a decimal number"),
            FrameError::TooLong => write!(f, "request over {MAX_REQUEST_LEN} octets"),
            FrameError::MissingComma => f.write_str("netstring not ended by ','"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Takes the first whole netstring off the front of `input`: `Ok(None)`
/// while it is incomplete (read more), else its payload and how many bytes
/// it took. Nothing over `max` payload octets is ever waited for.
pub fn next_netstring(input: &[u8], max: usize) -> Result<Option<(&[u8], usize)>, FrameError> {
    let digits = input.iter().take_while(|b| b.is_ascii_digit()).count();
    let max_digits = max.checked_ilog10().map_or(1, |log| log as usize + 1);
    if digits > max_digits {
        return Err(FrameError::TooLong);
    }
    // Nothing but digits so far: the length may go on.
    let Some(&after_digits) = input.get(digits) else {
        return Ok(None);
    };
    // The netstring definition: "[len] begins with 0 exactly when
    // [string] is empty".
    if after_digits != b':' || digits == 0 || (input[0] == b'0' && digits > 1) {
        return Err(FrameError::BadLength);
    }
    let length = input[..digits]
        .iter()
        .try_fold(0usize, |n, d| {
            n.checked_mul(10)?.checked_add(usize::from(d - b'0'))
        })
        .filter(|&length| length <= max)
        .ok_or(FrameError::TooLong)?;
    let start = digits + 1;
    let end = start + length;
    match input.get(end) {
        None => Ok(None),
        Some(b',') => Ok(Some((&input[start..end], end + 1))),
        Some(_) => Err(FrameError::MissingComma),
    }
}

/// Appends `payload` as a netstring.
pub fn netstring_into(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(payload);
    out.push(b',');
}

/// One lookup: the map name of sendmail's `K` line and the key, as sent
/// (sendmail lower-cases the key unless the map has `-f`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub map: &'a [u8],
    pub key: &'a [u8],
}

impl Request<'_> {
    /// The domain to look up MX hosts for: see [`domain_of_key`].
    pub fn domain(&self) -> Option<HostName> {
        domain_of_key(self.key)
    }
}

/// Why a whole netstring is not a request. The stream is still in step:
/// the service answers `PERM` and reads on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// No space between a map name and a key.
    NoSpace,
    /// The payload starts with the space: no map name.
    NoMapName,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::NoSpace => f.write_str("request has no space before its key"),
            RequestError::NoMapName => f.write_str("request has no map name"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Splits a request payload at its first space: `MAPNAME SP KEY` (the key
/// may hold spaces and may be empty).
pub fn parse_request(payload: &[u8]) -> Result<Request<'_>, RequestError> {
    let space = payload
        .iter()
        .position(|&b| b == b' ')
        .ok_or(RequestError::NoSpace)?;
    if space == 0 {
        return Err(RequestError::NoMapName);
    }
    Ok(Request {
        map: &payload[..space],
        key: &payload[space + 1..],
    })
}

/// Takes the first whole request off the front of `input`, as
/// [`next_netstring`] does: the outer `Result` is the framing (an error
/// closes the connection), the inner one the request in it.
#[allow(clippy::type_complexity)]
pub fn next_request(
    input: &[u8],
) -> Result<Option<(Result<Request<'_>, RequestError>, usize)>, FrameError> {
    Ok(next_netstring(input, MAX_REQUEST_LEN)?
        .map(|(payload, used)| (parse_request(payload), used)))
}

/// The domain a key names, for an MX lookup. The recipe sends the
/// recipient's domain as sendmail canonified it: with a trailing dot when
/// it resolved (`d.test.`), without when it did not (`d.test`). A whole
/// address is taken too (the part after its last `@`; angle brackets
/// around it are dropped). `None` for a key with no domain to look up:
/// empty, an address literal (`[192.0.2.1]`, no MX), or anything that is
/// not a host name (blanks, control characters, non-ASCII, over 255
/// octets).
pub fn domain_of_key(key: &[u8]) -> Option<HostName> {
    let key = std::str::from_utf8(key).ok()?;
    let key = key
        .strip_prefix('<')
        .and_then(|k| k.strip_suffix('>'))
        .unwrap_or(key);
    let domain = key.rsplit_once('@').map_or(key, |(_, domain)| domain);
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let name = HostName::parse(domain).ok()?;
    name.ip().is_none().then_some(name)
}

/// A reply's status word (the Operation Guide's list; sendmail compares
/// them case-sensitively).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The key was found: the text is the value.
    Ok,
    /// The key was not found.
    NotFound,
    /// A temporary failure: the text is the reason.
    Temp,
    /// A timeout on the server's side: the text is the reason.
    Timeout,
    /// A permanent failure: the text is the reason.
    Perm,
}

impl Status {
    /// The word on the wire.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::NotFound => "NOTFOUND",
            Status::Temp => "TEMP",
            Status::Timeout => "TIMEOUT",
            Status::Perm => "PERM",
        }
    }
}

/// A reply: a status and its text (empty for `NOTFOUND`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    status: Status,
    text: String,
}

impl Reply {
    /// `OK` with the more preferred MX that is up. Only a host name's
    /// characters go out (anything else becomes `?`): the recipe puts the
    /// value in its 451 text, and sendmail's tokenizer would take a quote
    /// or a blank as syntax. Never empty: sendmail 8.17.1.9 crashes on an
    /// `OK` without a value (measured: a bare `2:OK,` is a segmentation
    /// fault in the SMTP session's process).
    pub fn ok(server: &HostName) -> Reply {
        let text = server
            .chars()
            .map(|c| {
                let name_char = c.is_ascii_alphanumeric() || ".-_:[]".contains(c);
                if name_char { c } else { '?' }
            })
            .take(MAX_REPLY_TEXT)
            .collect();
        Reply {
            status: Status::Ok,
            text,
        }
    }

    /// `NOTFOUND`: no opinion, the recipient goes on to the other checks.
    pub fn not_found() -> Reply {
        Reply {
            status: Status::NotFound,
            text: String::new(),
        }
    }

    /// `TEMP` with `reason`.
    pub fn temp(reason: &str) -> Reply {
        Reply::with_text(Status::Temp, reason)
    }

    /// `TIMEOUT` with `reason`.
    pub fn timeout(reason: &str) -> Reply {
        Reply::with_text(Status::Timeout, reason)
    }

    /// `PERM` with `reason`.
    pub fn perm(reason: &str) -> Reply {
        Reply::with_text(Status::Perm, reason)
    }

    /// The text made safe: a byte outside printable ASCII becomes `?` (one
    /// per character), the whole cut to [`MAX_REPLY_TEXT`] octets. The
    /// text lands in sendmail's rewriting workspace and its logs.
    fn with_text(status: Status, text: &str) -> Reply {
        let text = text
            .chars()
            .map(|c| {
                if c == ' ' || c.is_ascii_graphic() {
                    c
                } else {
                    '?'
                }
            })
            .take(MAX_REPLY_TEXT)
            .collect();
        Reply { status, text }
    }

    pub fn status(&self) -> Status {
        self.status
    }

    /// The value or reason, as it goes on the wire.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Appends the reply as a netstring: `STATUS SP TEXT`. `NOTFOUND`
    /// keeps its space, as socketmap_table(5) writes it (sendmail takes
    /// either).
    pub fn render_into(&self, out: &mut Vec<u8>) {
        let mut payload = Vec::with_capacity(self.status.word().len() + 1 + self.text.len());
        payload.extend_from_slice(self.status.word().as_bytes());
        payload.push(b' ');
        payload.extend_from_slice(self.text.as_bytes());
        netstring_into(&payload, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`next_netstring`] gives: a payload and the bytes used, or
    /// nothing yet, or an error.
    type Read = Result<Option<(&'static [u8], usize)>, FrameError>;

    /// What reading a netstring from each of these inputs gives.
    #[rustfmt::skip]
    const FRAMES: &[(Read, &[&[u8]])] = &[
        (Ok(None), &[b"", b"1", b"12", b"5:", b"5:hello"]),
        (Ok(Some((b"hello", 8))), &[b"5:hello,", b"5:hello,6:"]),
        (Ok(Some((b"", 3))), &[b"0:,"]),
        (Ok(Some((b"hello there", 15))), &[b"11:hello there,"]),
        (Ok(Some((b"a,b", 6))), &[b"3:a,b,"]),
        (Err(FrameError::BadLength),
            &[b":x,", b"x:", b"05:hello,", b"00:,", b" 5:hello,", b"5 :hello,", b"-1:"]),
        (Err(FrameError::MissingComma), &[b"5:hello;", b"5:hello\r\n"]),
        (Err(FrameError::TooLong), &[b"1025:", b"99999", b"18446744073709551616:"]),
    ];

    #[test]
    fn netstrings_are_taken_whole_or_waited_for() {
        for (expected, inputs) in FRAMES {
            for input in *inputs {
                assert_eq!(
                    &next_netstring(input, MAX_REQUEST_LEN),
                    expected,
                    "{:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
        let at_limit = format!("1024:{},", "k".repeat(1024));
        let (payload, used) = next_netstring(at_limit.as_bytes(), MAX_REQUEST_LEN)
            .expect("valid")
            .expect("whole");
        assert_eq!((payload.len(), used), (1024, at_limit.len()));
    }

    #[test]
    fn requests_are_map_name_space_key() {
        type Case = (
            &'static [u8],
            Result<(&'static [u8], &'static [u8]), RequestError>,
        );
        let cases: &[Case] = &[
            (b"smtpdcheck d.test", Ok((b"smtpdcheck", b"d.test"))),
            (b"smtpdcheck d.test.", Ok((b"smtpdcheck", b"d.test."))),
            (b"m a b", Ok((b"m", b"a b"))),
            (b"m ", Ok((b"m", b""))),
            (b"smtpdcheck", Err(RequestError::NoSpace)),
            (b"", Err(RequestError::NoSpace)),
            (b" d.test", Err(RequestError::NoMapName)),
        ];
        for (payload, expected) in cases {
            let parsed = parse_request(payload).map(|r| (r.map, r.key));
            assert_eq!(&parsed, expected, "{:?}", String::from_utf8_lossy(payload));
        }
        let stream = b"17:smtpdcheck d.test,10:smtpdcheck,";
        let (first, used) = next_request(stream).expect("framed").expect("whole");
        assert_eq!(first.expect("request").key, b"d.test");
        let (second, rest) = next_request(&stream[used..])
            .expect("framed")
            .expect("whole");
        assert_eq!(second, Err(RequestError::NoSpace));
        assert_eq!(used + rest, stream.len());
    }

    #[test]
    fn keys_give_the_domain_sendmail_canonified() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"d.test", Some("d.test")),
            (b"d.test.", Some("d.test")), // resolvable: trailing dot
            (b"sub.d.test", Some("sub.d.test")),
            (b"u@d.test", Some("d.test")),
            (b"u@d.test.", Some("d.test")),
            (b"<u@d.test>", Some("d.test")),
            (b"\"a@b\"@d.test", Some("d.test")),
            (b"MX.Example.ORG", Some("MX.Example.ORG")),
            (b"", None),
            (b".", None),
            (b"u@", None),
            (b"[192.0.2.1]", None),
            (b"u@[192.0.2.1]", None),
            (b"u@[IPv6:2001:db8::1]", None),
            (b"192.0.2.1", None),
            (b"d test", None),
            (b"d.test\r\n", None),
            (b"d\xc3\xa9.test", None),
            (b"\xff", None),
        ];
        for (key, expected) in cases {
            let domain = domain_of_key(key);
            assert_eq!(
                domain.as_deref(),
                *expected,
                "{:?}",
                String::from_utf8_lossy(key)
            );
        }
        let long = format!("{}.test", "a".repeat(300));
        assert_eq!(domain_of_key(long.as_bytes()), None);
    }

    fn name(text: &str) -> HostName {
        HostName::parse(text).expect("a host name")
    }

    #[test]
    fn replies_are_netstrings_of_printable_text() {
        // A text cut to MAX_REPLY_TEXT octets: 5 + 255 in the netstring.
        let cut = format!("260:TEMP {},", "x".repeat(MAX_REPLY_TEXT));
        let cases: &[(Reply, &[u8])] = &[
            (Reply::ok(&name("mx1.d.test")), b"13:OK mx1.d.test,"),
            (Reply::ok(&name("[192.0.2.1]")), b"14:OK [192.0.2.1],"),
            (Reply::ok(&name("a\"b$c")), b"8:OK a?b?c,"),
            (Reply::not_found(), b"9:NOTFOUND ,"),
            (Reply::temp("lookup failed"), b"18:TEMP lookup failed,"),
            (Reply::timeout("no answer"), b"17:TIMEOUT no answer,"),
            (Reply::perm("bad request"), b"16:PERM bad request,"),
            (Reply::temp("a\r\nb\0c"), b"11:TEMP a??b?c,"),
            (Reply::temp("é"), b"6:TEMP ?,"),
            (Reply::temp(&"x".repeat(10_000)), cut.as_bytes()),
        ];
        for (reply, wire) in cases {
            let mut out = Vec::new();
            reply.render_into(&mut out);
            assert_eq!(out, *wire, "{reply:?}: {:?}", String::from_utf8_lossy(&out));
        }
    }
}
