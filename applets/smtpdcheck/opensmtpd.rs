//! OpenSMTPD's filter protocol (smtpd-filters(7), protocol versions 0.4
//! to 0.7, OpenSMTPD 6.6 and later), sans I/O: smtpd writes one line per
//! event to the filter's stdin, the filter writes `register|...` lines once
//! and then one `filter-result` line per filter request to its stdout.
//!
//! smtpd calls `fatalx` on an answer line it cannot parse and stops all
//! mail when the filter exits, and a request left unanswered holds its
//! SMTP session until smtpd's timeout. So everything here is total: any
//! bytes are classified ([`parse_line`]), every request that names a
//! session and a token gets exactly one answer ([`Request::handling`]), and
//! an answer line is rendered only from checked parts ([`Answer`]). Memory
//! is bounded whatever smtpd (or anyone writing to the pipe) sends:
//! [`LineSplitter`] keeps at most one line of [`MAX_LINE_BYTES`], and
//! [`Sessions`] at most [`MAX_SESSIONS`] sessions.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::names::HostName;

/// smtpd-filters(7) PROTOCOL: fields are separated by `|`; only the last
/// field of a line may contain one.
const SEPARATOR: u8 = b'|';

/// smtp_session.c `SMTP_LINE_MAX`: the longest SMTP line smtpd reads,
/// which it may copy whole into a `data-line` request or a
/// `protocol-client` report.
const SMTP_LINE_MAX: usize = 65_535;

/// The longest line taken from smtpd, newline excluded: an SMTP line and
/// room for the protocol fields before it (under 100 bytes). Every line
/// smtpd writes fits; a longer one is dropped.
pub const MAX_LINE_BYTES: usize = SMTP_LINE_MAX + 1024;

/// lka_filter.c of protocol 0.4 copies an answer line into a `LINE_MAX`
/// (2048) buffer, its terminating NUL included, and cuts what does not fit.
/// Every `filter-result` line rendered here stays within it.
pub const MAX_RESULT_LINE_BYTES: usize = 2047;

/// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF.
/// smtpd sends the reject text as the reply.
const MAX_REPLY_TEXT_BYTES: usize = 512 - 2;

/// The most sessions whose local address is kept; a session connected
/// before the most recent [`MAX_SESSIONS`] is forgotten (its requests are
/// still answered, without its local address).
pub const MAX_SESSIONS: usize = 16_384;

/// What the filter writes once smtpd has sent `config|ready`
/// (smtpd-filters(7) PROTOCOL; lka_filter.c `processor_register`): the
/// `rcpt-to` requests of incoming SMTP sessions, and the reports that
/// tell which local address each session reached.
pub const REGISTRATION: &str = "register|filter|smtp-in|rcpt-to\n\
                                register|report|smtp-in|link-connect\n\
                                register|report|smtp-in|link-disconnect\n\
                                register|ready\n";

/// Protocol 0.5 (lka_filter.c, December 2019) put the session before the
/// token in answers, as in requests; 0.4 and earlier wrote the token first.
/// Releases: 6.6 speaks 0.4, 6.7 to 7.4 speak 0.6, 7.5 and later 0.7.
const SESSION_FIRST_SINCE: Version = Version { major: 0, minor: 5 };

/// The subsystem of incoming SMTP sessions (smtpd-filters(7)).
pub const SMTP_IN: &str = "smtp-in";

/// A protocol version, `MAJOR.MINOR`, as each request and report names
/// its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
}

impl Version {
    fn parse(field: &[u8]) -> Option<Version> {
        let text = std::str::from_utf8(field).ok()?;
        let (major, minor) = text.split_once('.')?;
        let number = |digits: &str| {
            let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            all_digits.then(|| digits.parse::<u16>().ok()).flatten()
        };
        Some(Version {
            major: number(major)?,
            minor: number(minor)?,
        })
    }

    /// Whether answers name the session before the token.
    fn session_first(self) -> bool {
        self >= SESSION_FIRST_SINCE
    }
}

/// One line from smtpd, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// `config|KEY|VALUE`, sent before `config|ready`.
    Config { key: &'a str, value: &'a str },
    /// `config|ready`: the filter writes [`REGISTRATION`] now.
    ConfigReady,
    /// A report: information only, never answered.
    Report(Report<'a>),
    /// A filter request: answered exactly once.
    Filter(Request<'a>),
    /// Anything else (garbage, a line that is not UTF-8 where text is due,
    /// a NUL, an overlong or empty line): ignored.
    Unknown,
}

/// `report|VERSION|TIMESTAMP|SUBSYSTEM|EVENT|SESSION[|FIELDS]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report<'a> {
    pub version: Version,
    pub subsystem: &'a str,
    pub session: u64,
    pub event: ReportEvent<'a>,
}

/// The reports this filter registers for, read; others as they came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportEvent<'a> {
    /// `link-connect|RDNS|FCRDNS|SRC|DEST`: `local` is DEST, the address
    /// the SMTP client reached.
    LinkConnect {
        rdns: &'a [u8],
        fcrdns: &'a [u8],
        source: Endpoint<'a>,
        local: Endpoint<'a>,
    },
    /// `link-disconnect`: the session is over.
    LinkDisconnect,
    /// Any other event, with its fields unread (empty when it has none).
    Other { event: &'a str, fields: &'a [u8] },
}

/// One end of a session, as `link-connect` writes it (lka_filter.c,
/// to.c `sa_to_text`): `a.b.c.d:PORT`, `[IPv6]:PORT` (a link-local one
/// with its `%zone`, dropped here), or `unix:/path` for the local socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint<'a> {
    Ip(SocketAddr),
    Unix(&'a [u8]),
    /// Missing, or in no form above (`getnameinfo` failed: `(unknown)`).
    Unreadable,
}

impl<'a> Endpoint<'a> {
    fn parse(field: &'a [u8]) -> Endpoint<'a> {
        if let Some(path) = field.strip_prefix(b"unix:") {
            return Endpoint::Unix(path);
        }
        Self::ip(field).map_or(Endpoint::Unreadable, Endpoint::Ip)
    }

    fn ip(field: &[u8]) -> Option<SocketAddr> {
        let text = std::str::from_utf8(field).ok()?;
        let (address, port) = match text.strip_prefix('[') {
            Some(rest) => {
                let (inside, port) = rest.split_once("]:")?;
                // A zone names an interface of this host; the address alone
                // is what the MX records hold.
                let address = inside.split_once('%').map_or(inside, |(a, _)| a);
                (IpAddr::V6(address.parse::<Ipv6Addr>().ok()?), port)
            }
            // Unbracketed is IPv4 only: an IPv6 address has colons of its own.
            None => {
                let (address, port) = text.rsplit_once(':')?;
                (IpAddr::V4(address.parse::<Ipv4Addr>().ok()?), port)
            }
        };
        let port_ok = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        Some(SocketAddr::new(
            address,
            port_ok.then(|| port.parse().ok())??,
        ))
    }
}

/// `filter|VERSION|TIMESTAMP|SUBSYSTEM|PHASE|SESSION|TOKEN[|PARAMS]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub version: Version,
    /// Printable ASCII, else `None` (the request is answered all the same).
    pub subsystem: Option<&'a str>,
    /// Printable ASCII, else `None` (the request is answered all the same).
    pub phase: Option<&'a str>,
    pub session: u64,
    pub token: u64,
    /// Everything after the token, `|` included (only the last field may
    /// hold one); `None` when the line ends at the token.
    pub params: Option<&'a [u8]>,
}

/// The phase that carries a recipient (smtpd-filters(7) FILTER REQUESTS).
const RCPT_TO: &str = "rcpt-to";
/// The phase whose answer is the (filtered) message line itself, in a
/// `filter-dataline` line; a `filter-result` in it is fatal to smtpd.
const DATA_LINE: &str = "data-line";

/// What to do with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handling<'a> {
    /// Write this answer now: every phase but a decidable `rcpt-to`.
    Now(Answer<'a>),
    /// A recipient domain to decide on; answer `to` with the decision.
    Decide {
        /// The address as sent (without `<>`), printable ASCII.
        recipient: &'a str,
        /// After its last `@`, without trailing dots; not yet checked as a
        /// host name.
        domain: &'a str,
        to: AnswerTo,
    },
}

impl<'a> Request<'a> {
    /// The recipient of an `rcpt-to` request, as sent: everything after
    /// the token (a local part may hold `|`); `None` for other phases or
    /// when the field is missing.
    pub fn recipient(&self) -> Option<&'a [u8]> {
        (self.phase == Some(RCPT_TO))
            .then_some(self.params)
            .flatten()
    }

    /// How to answer: `proceed` at once, unless this is an `rcpt-to` with
    /// a domain to decide on. A recipient that is missing, empty, without
    /// a domain, not ASCII or holding a control character or blank is
    /// answered `proceed`, never looked up.
    pub fn handling(&self) -> Handling<'a> {
        let to = self.answer_to();
        if self.phase == Some(DATA_LINE) {
            // Never registered, so never sent; if it were, the line goes
            // back unchanged, as a filter that passes the message through.
            let line = self.params.unwrap_or_default();
            return Handling::Now(Answer::DataLine { to, line });
        }
        match self.recipient().and_then(recipient_domain) {
            Some((recipient, domain)) => Handling::Decide {
                recipient,
                domain,
                to,
            },
            None => Handling::Now(Answer::Result(to, Decision::Proceed)),
        }
    }

    /// What an answer to this request names.
    pub fn answer_to(&self) -> AnswerTo {
        AnswerTo {
            version: self.version,
            session: self.session,
            token: self.token,
        }
    }
}

/// The recipient (without `<>`) and its domain: after the last `@` (a
/// quoted local part may hold one), trailing dots dropped.
fn recipient_domain(address: &[u8]) -> Option<(&str, &str)> {
    // smtpd strips the brackets itself (lka_filter.c `filter_protocol`);
    // tolerate them.
    let address = address.strip_prefix(b"<").unwrap_or(address);
    let address = address.strip_suffix(b">").unwrap_or(address);
    if !address.iter().all(u8::is_ascii_graphic) {
        return None;
    }
    let address = std::str::from_utf8(address).ok()?;
    let (_, domain) = address.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.');
    (!domain.is_empty()).then_some((address, domain))
}

/// What an answer names: the session and token of its request, in the
/// order of the request's protocol version. Copied out of the request,
/// so a decision may take its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerTo {
    pub version: Version,
    pub session: u64,
    pub token: u64,
}

impl AnswerTo {
    /// The answer carrying `decision`.
    pub fn with(self, decision: Decision) -> Answer<'static> {
        Answer::Result(self, decision)
    }

    /// `KIND|SESSION|TOKEN|` (`KIND|TOKEN|SESSION|` before 0.5), as
    /// smtpd writes them: 16 lower-case hex digits.
    fn render_head(&self, kind: &str, out: &mut Vec<u8>) {
        let (first, second) = if self.version.session_first() {
            (self.session, self.token)
        } else {
            (self.token, self.session)
        };
        out.extend_from_slice(format!("{kind}|{first:016x}|{second:016x}|").as_bytes());
    }
}

/// A decision on a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No opinion: the session goes on.
    Proceed,
    /// A more preferred MX is up: this command fails with a 4xx naming it.
    UseServer(HostName),
}

/// smtpd-filters(7) `reject`: the reply smtpd sends for the command. 451
/// is a RCPT reply (RFC 5321 §4.3.2); 4.7.1 "delivery not authorized"
/// (RFC 3463 §3.8). Not 421, which would end the session.
const USE_SERVER_REPLY: &str = "451 4.7.1 Service temporarily unavailable, please use ";

/// One answer line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer<'a> {
    /// `filter-result|SESSION|TOKEN|proceed` or `...|reject|451 ...`.
    Result(AnswerTo, Decision),
    /// `filter-dataline|SESSION|TOKEN|LINE`.
    DataLine { to: AnswerTo, line: &'a [u8] },
}

impl Answer<'_> {
    /// Appends the answer, one line ended by `\n`.
    pub fn render_into(&self, out: &mut Vec<u8>) {
        match self {
            Answer::Result(to, decision) => {
                to.render_head("filter-result", out);
                match decision {
                    Decision::Proceed => out.extend_from_slice(b"proceed"),
                    Decision::UseServer(server) => {
                        out.extend_from_slice(b"reject|");
                        let start = out.len();
                        out.extend_from_slice(USE_SERVER_REPLY.as_bytes());
                        out.extend_from_slice(server.as_bytes());
                        sanitize_reply(out, start);
                    }
                }
            }
            Answer::DataLine { to, line } => {
                to.render_head("filter-dataline", out);
                // smtpd wrote it with "%s" as one line: it holds no newline
                // and no NUL, and one here would cut the answer short.
                let one_line = |&b: &u8| if b == b'\n' || b == 0 { b' ' } else { b };
                out.extend(line.iter().map(one_line));
            }
        }
        out.push(b'\n');
    }
}

/// Keeps the reply text from `start` on one line smtpd reads whole:
/// printable ASCII without `|` (anything else becomes `?`), at most
/// [`MAX_REPLY_TEXT_BYTES`].
fn sanitize_reply(out: &mut Vec<u8>, start: usize) {
    out.truncate(start + MAX_REPLY_TEXT_BYTES.min(out.len() - start));
    for byte in &mut out[start..] {
        if !(b' '..=b'~').contains(byte) || *byte == SEPARATOR {
            *byte = b'?';
        }
    }
}

/// Classifies one line from smtpd, its newline removed. Never panics.
pub fn parse_line(line: &[u8]) -> Event<'_> {
    if line.len() > MAX_LINE_BYTES {
        return Event::Unknown;
    }
    let Some((kind, rest)) = split_field(line) else {
        return Event::Unknown;
    };
    let event = match kind {
        b"config" => parse_config(rest),
        b"report" => parse_report(rest).map(Event::Report),
        b"filter" => parse_request(rest).map(Event::Filter),
        _ => None,
    };
    event.unwrap_or(Event::Unknown)
}

/// The field before the first `|` and what follows it.
fn split_field(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == SEPARATOR)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

/// A field of the fixed part of a line: printable ASCII, no blank.
fn text_field(field: &[u8]) -> Option<&str> {
    let printable = !field.is_empty() && field.iter().all(u8::is_ascii_graphic);
    printable.then(|| std::str::from_utf8(field).ok()).flatten()
}

/// A session id or token: hexadecimal, as smtpd writes them
/// (`%016"PRIx64`) and reads them back (`strtoull(..., 16)`).
fn hex_field(field: &[u8]) -> Option<u64> {
    let hex = (1..=16).contains(&field.len()) && field.iter().all(u8::is_ascii_hexdigit);
    hex.then(|| u64::from_str_radix(std::str::from_utf8(field).ok()?, 16).ok())
        .flatten()
}

/// `KEY|VALUE` or `ready`, after `config|`.
fn parse_config(rest: &[u8]) -> Option<Event<'_>> {
    if rest == b"ready" {
        return Some(Event::ConfigReady);
    }
    let (key, value) = split_field(rest)?;
    let value = std::str::from_utf8(value).ok()?;
    if value.chars().any(char::is_control) {
        return None;
    }
    Some(Event::Config {
        key: text_field(key)?,
        value,
    })
}

/// After `report|`.
fn parse_report(rest: &[u8]) -> Option<Report<'_>> {
    let (version, rest) = split_field(rest)?;
    let (_timestamp, rest) = split_field(rest)?;
    let (subsystem, rest) = split_field(rest)?;
    let (event, rest) = split_field(rest)?;
    // link-disconnect ends at the session, without a `|`.
    let (session, fields) = split_field(rest).unwrap_or((rest, b""));
    let event = match text_field(event)? {
        "link-connect" => link_connect(fields),
        "link-disconnect" => ReportEvent::LinkDisconnect,
        event => ReportEvent::Other { event, fields },
    };
    Some(Report {
        version: Version::parse(version)?,
        subsystem: text_field(subsystem)?,
        session: hex_field(session)?,
        event,
    })
}

/// `RDNS|FCRDNS|SRC|DEST`, read from the right: the reverse name comes
/// from DNS, so it is the one field that might hold a `|`.
fn link_connect(fields: &[u8]) -> ReportEvent<'_> {
    let mut from_right = fields.rsplitn(4, |&b| b == SEPARATOR);
    let local = from_right
        .next()
        .map_or(Endpoint::Unreadable, Endpoint::parse);
    let source = from_right
        .next()
        .map_or(Endpoint::Unreadable, Endpoint::parse);
    let fcrdns = from_right.next().unwrap_or_default();
    let rdns = from_right.next().unwrap_or_default();
    ReportEvent::LinkConnect {
        rdns,
        fcrdns,
        source,
        local,
    }
}

/// After `filter|`: a request needs its version, session and token to be
/// answered; the rest may be anything.
fn parse_request(rest: &[u8]) -> Option<Request<'_>> {
    let mut fields = rest.splitn(7, |&b| b == SEPARATOR);
    let version = Version::parse(fields.next()?)?;
    let _timestamp = fields.next()?;
    let subsystem = text_field(fields.next()?);
    let phase = text_field(fields.next()?);
    let session = hex_field(fields.next()?)?;
    let token = hex_field(fields.next()?)?;
    Some(Request {
        version,
        subsystem,
        phase,
        session,
        token,
        params: fields.next(),
    })
}

/// Cuts bytes read from smtpd into lines, sans I/O: [`push`] what was
/// read, then take [`next_line`] until `None`. A line longer than
/// [`MAX_LINE_BYTES`] is dropped, up to its newline, and counted; memory
/// stays within one line and one push.
///
/// [`push`]: LineSplitter::push
/// [`next_line`]: LineSplitter::next_line
#[derive(Debug, Default)]
pub struct LineSplitter {
    buffer: Vec<u8>,
    /// Where the lines not taken yet start in `buffer`.
    start: usize,
    /// Inside an overlong line: bytes are dropped up to its newline.
    discarding: bool,
    discarded: u64,
}

impl LineSplitter {
    pub fn new() -> LineSplitter {
        LineSplitter::default()
    }

    /// Adds bytes as read (any bytes, NUL included).
    pub fn push(&mut self, mut bytes: &[u8]) {
        self.buffer.drain(..self.start);
        self.start = 0;
        if self.discarding {
            match bytes.iter().position(|&b| b == b'\n') {
                Some(newline) => {
                    self.discarding = false;
                    bytes = &bytes[newline + 1..];
                }
                None => return,
            }
        }
        self.buffer.extend_from_slice(bytes);
        let unfinished = self
            .buffer
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |newline| newline + 1);
        if self.buffer.len() - unfinished > MAX_LINE_BYTES {
            self.buffer.truncate(unfinished);
            self.discarding = true;
            self.discarded += 1;
        }
    }

    /// The next whole line, without its newline.
    pub fn next_line(&mut self) -> Option<&[u8]> {
        loop {
            let rest = &self.buffer[self.start..];
            let length = rest.iter().position(|&b| b == b'\n')?;
            let line_start = self.start;
            self.start += length + 1;
            if length > MAX_LINE_BYTES {
                self.discarded += 1; // whole within one push, still too long
                continue;
            }
            return Some(&self.buffer[line_start..line_start + length]);
        }
    }

    /// How many overlong lines were dropped so far.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Bytes held: at most one line and what the last push added.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }
}

/// The local address of each incoming session, from `link-connect` to
/// `link-disconnect`, for at most [`MAX_SESSIONS`] sessions (the oldest
/// connected is forgotten first).
#[derive(Debug, Default)]
pub struct Sessions {
    /// Session: its local IP address (`None` over the UNIX socket or when
    /// unreadable) and when it connected.
    by_id: HashMap<u64, (Option<IpAddr>, u64)>,
    /// When connected: session, oldest first.
    by_age: BTreeMap<u64, u64>,
    connections: u64,
}

impl Sessions {
    pub fn new() -> Sessions {
        Sessions::default()
    }

    /// Keeps track of `smtp-in` sessions as their reports come.
    pub fn apply(&mut self, report: &Report<'_>) {
        if report.subsystem != SMTP_IN {
            return;
        }
        match &report.event {
            ReportEvent::LinkConnect { local, .. } => {
                let address = match local {
                    // A client of a dual-stack socket shows as ::ffff:a.b.c.d.
                    Endpoint::Ip(socket) => Some(socket.ip().to_canonical()),
                    Endpoint::Unix(_) | Endpoint::Unreadable => None,
                };
                self.connect(report.session, address);
            }
            ReportEvent::LinkDisconnect => self.disconnect(report.session),
            ReportEvent::Other { .. } => {}
        }
    }

    /// `session` began, reaching `local`.
    pub fn connect(&mut self, session: u64, local: Option<IpAddr>) {
        self.disconnect(session);
        if self.by_id.len() >= MAX_SESSIONS
            && let Some((_, oldest)) = self.by_age.pop_first()
        {
            self.by_id.remove(&oldest);
        }
        self.connections += 1;
        self.by_id.insert(session, (local, self.connections));
        self.by_age.insert(self.connections, session);
    }

    /// `session` ended.
    pub fn disconnect(&mut self, session: u64) {
        if let Some((_, age)) = self.by_id.remove(&session) {
            self.by_age.remove(&age);
        }
    }

    /// The IP address `session` reached, when known.
    pub fn local_address(&self, session: u64) -> Option<IpAddr> {
        self.by_id.get(&session)?.0
    }

    /// Whether `session` is known (connected, not yet disconnected).
    pub fn contains(&self, session: u64) -> bool {
        self.by_id.contains_key(&session)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: u64 = 0x7641_df97_71b4_ed00;
    const TOKEN: u64 = 0x1ef1_c203_cc57_6e5d;

    fn version(minor: u16) -> Version {
        Version { major: 0, minor }
    }

    fn request(line: &[u8]) -> Request<'_> {
        match parse_line(line) {
            Event::Filter(request) => request,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(line)),
        }
    }

    fn rendered(answer: &Answer) -> String {
        let mut out = Vec::new();
        answer.render_into(&mut out);
        String::from_utf8(out).expect("answers are ASCII")
    }

    #[test]
    fn rcpt_to_requests_of_every_version_are_decided_on_their_domain() {
        // (line, recipient, domain)
        let cases: &[(&str, &str, &str)] = &[
            (
                "filter|0.4|1576146008.006099|smtp-in|rcpt-to|7641df9771b4ed00|1ef1c203cc576e5d|u@d.test",
                "u@d.test",
                "d.test",
            ),
            (
                "filter|0.5|1576146008.006099|smtp-in|rcpt-to|7641df9771b4ed00|1ef1c203cc576e5d|u@D.Test.",
                "u@D.Test.",
                "D.Test",
            ),
            (
                "filter|0.6|1576146008.006099|smtp-in|rcpt-to|7641df9771b4ed00|1ef1c203cc576e5d|a|b@d.test",
                "a|b@d.test",
                "d.test",
            ),
            (
                "filter|0.7|1576146008.006099|smtp-in|rcpt-to|7641df9771b4ed00|1ef1c203cc576e5d|<x|@y|z@d.test>",
                "x|@y|z@d.test",
                "d.test",
            ),
            (
                "filter|0.7|1|smtp-in|rcpt-to|7641DF9771B4ED00|1ef1c203cc576e5d|\"a@b\"@[192.0.2.1]",
                "\"a@b\"@[192.0.2.1]",
                "[192.0.2.1]",
            ),
        ];
        for &(line, recipient, domain) in cases {
            let request = request(line.as_bytes());
            assert_eq!((request.session, request.token), (SESSION, TOKEN), "{line}");
            match request.handling() {
                Handling::Decide {
                    recipient: r,
                    domain: d,
                    to,
                } => {
                    assert_eq!((r, d), (recipient, domain), "{line}");
                    assert_eq!(to, request.answer_to());
                }
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    #[test]
    fn requests_without_a_domain_to_decide_are_answered_proceed() {
        // (phase, what follows the token)
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"rcpt-to", None), // no address field at all
            (b"rcpt-to", Some(b"")),
            (b"rcpt-to", Some(b"postmaster")),
            (b"rcpt-to", Some(b"u@")),
            (b"rcpt-to", Some(b"u@.")),
            (b"rcpt-to", Some(b"u@d\xff.test")),
            (b"rcpt-to", Some(b"u@d\0.test")),
            (b"rcpt-to", Some(b"u@d test")),
            (b"rcpt-to", Some(b"u@d.test\r")),
            (b"mail-from", Some(b"s@d.test")),
            (b"connect", Some(b"mail.d.test|192.0.2.1")),
            (b"commit", None),
            (b"some-future-phase", Some(b"x|y")),
            (b"rcpt\x01to", Some(b"u@d.test")), // unreadable phase: answered all the same
        ];
        for &(phase, params) in cases {
            let mut line = [b"filter|0.7|1576146008.006099|smtp-in|", phase].concat();
            line.extend(b"|7641df9771b4ed00|1ef1c203cc576e5d");
            if let Some(params) = params {
                line.push(b'|');
                line.extend(params);
            }
            let request = request(&line);
            let expected = Answer::Result(request.answer_to(), Decision::Proceed);
            let text = String::from_utf8_lossy(&line);
            assert_eq!(request.handling(), Handling::Now(expected), "{text}");
        }
    }

    #[test]
    fn answers_name_session_and_token_in_the_order_of_the_version() {
        let server = HostName::parse("mx1.d.test").expect("a name");
        // (minor version, proceed, use server)
        let cases = [
            (
                4,
                "filter-result|1ef1c203cc576e5d|7641df9771b4ed00|proceed\n",
                "filter-result|1ef1c203cc576e5d|7641df9771b4ed00|reject|451 4.7.1 Service temporarily unavailable, please use mx1.d.test\n",
            ),
            (
                5,
                "filter-result|7641df9771b4ed00|1ef1c203cc576e5d|proceed\n",
                "filter-result|7641df9771b4ed00|1ef1c203cc576e5d|reject|451 4.7.1 Service temporarily unavailable, please use mx1.d.test\n",
            ),
            (
                6,
                "filter-result|7641df9771b4ed00|1ef1c203cc576e5d|proceed\n",
                "filter-result|7641df9771b4ed00|1ef1c203cc576e5d|reject|451 4.7.1 Service temporarily unavailable, please use mx1.d.test\n",
            ),
            (
                7,
                "filter-result|7641df9771b4ed00|1ef1c203cc576e5d|proceed\n",
                "filter-result|7641df9771b4ed00|1ef1c203cc576e5d|reject|451 4.7.1 Service temporarily unavailable, please use mx1.d.test\n",
            ),
        ];
        for (minor, proceed, use_server) in cases {
            let to = AnswerTo {
                version: version(minor),
                session: SESSION,
                token: TOKEN,
            };
            assert_eq!(rendered(&to.with(Decision::Proceed)), proceed);
            assert_eq!(
                rendered(&to.with(Decision::UseServer(server.clone()))),
                use_server
            );
        }
        // Short ids come back as smtpd writes them, zero-padded.
        let short = request(b"filter|0.7|1|smtp-in|commit|1|a");
        let Handling::Now(answer) = short.handling() else {
            panic!("commit")
        };
        assert_eq!(
            rendered(&answer),
            "filter-result|0000000000000001|000000000000000a|proceed\n"
        );
    }

    #[test]
    fn reject_text_is_one_printable_line_smtpd_reads_whole() {
        // HostName keeps blanks and controls out but takes '|' and any
        // printable character: the text must not depend on that.
        let odd = HostName::parse("mx|1.d.test").expect("printable");
        let long = HostName::parse(&"a".repeat(255)).expect("255 octets");
        for server in [odd, long] {
            let to = AnswerTo {
                version: version(7),
                session: SESSION,
                token: TOKEN,
            };
            let line = rendered(&to.with(Decision::UseServer(server)));
            let (head, text) =
                line.split_at("filter-result|7641df9771b4ed00|1ef1c203cc576e5d|reject|".len());
            assert!(head.ends_with("|reject|"), "{line}");
            let text = text.strip_suffix('\n').expect("one line");
            assert!(text.starts_with("451 4.7.1 "), "{text}");
            assert!(text.len() <= MAX_REPLY_TEXT_BYTES, "{}", text.len());
            assert!(
                text.bytes()
                    .all(|b| (b' '..=b'~').contains(&b) && b != b'|'),
                "{text}"
            );
            assert!(line.len() - 1 <= MAX_RESULT_LINE_BYTES);
        }
    }

    #[test]
    fn data_lines_are_echoed_never_answered_with_a_result() {
        let cases: [(&[u8], &str); 3] = [
            (
                b"filter|0.4|1|smtp-in|data-line|7641df9771b4ed00|1ef1c203cc576e5d|a | b",
                "filter-dataline|1ef1c203cc576e5d|7641df9771b4ed00|a | b\n",
            ),
            (
                b"filter|0.7|1|smtp-in|data-line|7641df9771b4ed00|1ef1c203cc576e5d|.",
                "filter-dataline|7641df9771b4ed00|1ef1c203cc576e5d|.\n",
            ),
            // A NUL is echoed as a space: smtpd writes none, and one would
            // cut smtpd's reading short.
            (
                b"filter|0.7|1|smtp-in|data-line|1|2|a\0b",
                "filter-dataline|0000000000000001|0000000000000002|a b\n",
            ),
        ];
        for (line, echoed) in cases {
            let Handling::Now(answer) = request(line).handling() else {
                panic!("data-line not answered at once: {line:?}")
            };
            assert_eq!(rendered(&answer), echoed);
        }
    }

    #[test]
    fn link_connect_gives_the_local_address() {
        let head = "report|0.7|1576146008.006099|smtp-in|link-connect|7641df9771b4ed00|";
        let v4: SocketAddr = "45.77.67.80:25".parse().expect("literal");
        let v6: SocketAddr = "[2001:db8::25]:587".parse().expect("literal");
        let link_local: SocketAddr = "[fe80::1]:25".parse().expect("literal");
        let cases: &[(&str, Endpoint, Endpoint)] = &[
            (
                "mail.openbsd.org|pass|199.185.178.25:33174|45.77.67.80:25",
                Endpoint::Ip("199.185.178.25:33174".parse().expect("literal")),
                Endpoint::Ip(v4),
            ),
            (
                "|fail|[2001:db8::1]:40000|[2001:db8::25]:587",
                Endpoint::Ip("[2001:db8::1]:40000".parse().expect("literal")),
                Endpoint::Ip(v6),
            ),
            (
                "x|error|[fe80::2%eth0]:1|[fe80::1%eth0]:25",
                Endpoint::Ip("[fe80::2]:1".parse().expect("literal")),
                Endpoint::Ip(link_local),
            ),
            (
                "localhost|pass|unix:/var/run/smtpd.sock|unix:/var/run/smtpd.sock",
                Endpoint::Unix(b"/var/run/smtpd.sock"),
                Endpoint::Unix(b"/var/run/smtpd.sock"),
            ),
            // A '|' in the reverse name shifts nothing: read from the right.
            (
                "evil|name.test|pass|192.0.2.9:1|45.77.67.80:25",
                Endpoint::Ip("192.0.2.9:1".parse().expect("literal")),
                Endpoint::Ip(v4),
            ),
            (
                "|pass|(unknown):0|::1:25",
                Endpoint::Unreadable,
                Endpoint::Unreadable,
            ),
            (
                "|pass|1.2.3.4:x|1.2.3.4:65536",
                Endpoint::Unreadable,
                Endpoint::Unreadable,
            ),
            (
                "|pass|[::1]|[::1]25",
                Endpoint::Unreadable,
                Endpoint::Unreadable,
            ),
            ("", Endpoint::Unreadable, Endpoint::Unreadable),
        ];
        for (fields, source, local) in cases {
            let line = format!("{head}{fields}");
            let Event::Report(report) = parse_line(line.as_bytes()) else {
                panic!("{line}")
            };
            assert_eq!(
                (report.version, report.session, report.subsystem),
                (version(7), SESSION, SMTP_IN)
            );
            let ReportEvent::LinkConnect {
                source: s,
                local: l,
                ..
            } = report.event
            else {
                panic!("{line}")
            };
            assert_eq!((&s, &l), (source, local), "{line}");
        }
        let evil = format!("{head}evil|name.test|pass|192.0.2.9:1|45.77.67.80:25");
        let Event::Report(report) = parse_line(evil.as_bytes()) else {
            panic!()
        };
        let ReportEvent::LinkConnect { rdns, fcrdns, .. } = report.event else {
            panic!()
        };
        assert_eq!((rdns, fcrdns), (&b"evil|name.test"[..], &b"pass"[..]));
    }

    #[test]
    fn other_lines_are_classified_or_unknown() {
        let disconnect =
            parse_line(b"report|0.5|1576146008.006099|smtp-in|link-disconnect|7641df9771b4ed00");
        assert_eq!(
            disconnect,
            Event::Report(Report {
                version: version(5),
                subsystem: SMTP_IN,
                session: SESSION,
                event: ReportEvent::LinkDisconnect
            })
        );
        let rcpt = parse_line(b"report|0.6|1|smtp-in|tx-rcpt|7641df9771b4ed00|ae3f|ok|a|b@d.test");
        assert_eq!(
            rcpt,
            Event::Report(Report {
                version: version(6),
                subsystem: SMTP_IN,
                session: SESSION,
                event: ReportEvent::Other {
                    event: "tx-rcpt",
                    fields: b"ae3f|ok|a|b@d.test"
                }
            })
        );
        // Only the exact line is the end of the configuration.
        assert!(matches!(
            parse_line(b"config|ready|x"),
            Event::Config { key: "ready", .. }
        ));
        assert_eq!(parse_line(b"config|ready"), Event::ConfigReady);
        assert_eq!(
            parse_line(b"config|protocol|0.7"),
            Event::Config {
                key: "protocol",
                value: "0.7"
            }
        );
        assert_eq!(
            parse_line(b"config|admd|a|b"),
            Event::Config {
                key: "admd",
                value: "a|b"
            }
        );
        let unknown: &[&[u8]] = &[
            b"",
            b"|",
            b"filter",
            b"filter|",
            b"config",
            b"config|",
            b"config||x",
            b"config|admd|\xff",
            b"config|admd|a\0b",
            b"garbage",
            b"\0\0\0",
            b"\xff\xfe|\xfd",
            b"register|ready",
            b"filter-result|7641df9771b4ed00|1ef1c203cc576e5d|proceed",
            // no token, or one smtpd would not write: nothing to answer
            b"filter|0.7|1|smtp-in|rcpt-to|7641df9771b4ed00",
            b"filter|0.7|1|smtp-in|rcpt-to|7641df9771b4ed00|",
            b"filter|0.7|1|smtp-in|rcpt-to|7641df9771b4ed00|xyz|u@d.test",
            b"filter|0.7|1|smtp-in|rcpt-to|7641df9771b4ed00|11112222333344445|u@d.test",
            b"filter|0.7|1|smtp-in|rcpt-to||1ef1c203cc576e5d|u@d.test",
            b"filter|0.7|1|smtp-in|rcpt-to|7641df97\x0071b4ed00|1ef1c203cc576e5d|u@d.test",
            b"filter|0.7|1|smtp-in|rcpt-to|+7641df9771b4ed0|1ef1c203cc576e5d|u@d.test",
            // a version that says nothing of the field order
            b"filter|x|1|smtp-in|rcpt-to|7641df9771b4ed00|1ef1c203cc576e5d|u@d.test",
            b"filter|0.|1|smtp-in|rcpt-to|7641df9771b4ed00|1ef1c203cc576e5d|u@d.test",
            b"filter|99999.7|1|smtp-in|rcpt-to|7641df9771b4ed00|1ef1c203cc576e5d|u@d.test",
            b"report|0.7|1|smtp-in|link-connect",
            b"report|0.7|1|smtp-in|link-disconnect|nothex",
            b"report|0.7|1|smtp\xffin|link-disconnect|7641df9771b4ed00",
            b"FILTER|0.7|1|smtp-in|rcpt-to|7641df9771b4ed00|1ef1c203cc576e5d|u@d.test",
        ];
        for &line in unknown {
            assert_eq!(
                parse_line(line),
                Event::Unknown,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        let overlong = [
            b"filter|0.7|1|smtp-in|rcpt-to|1|2|u@".as_slice(),
            &vec![b'd'; MAX_LINE_BYTES],
        ]
        .concat();
        assert_eq!(parse_line(&overlong), Event::Unknown);
        assert!(matches!(
            parse_line(&overlong[..MAX_LINE_BYTES]),
            Event::Filter(_)
        ));
    }

    #[test]
    fn registration_is_what_smtpd_accepts() {
        let lines: Vec<&str> = REGISTRATION.lines().collect();
        assert_eq!(lines.last(), Some(&"register|ready"));
        for line in &lines[..lines.len() - 1] {
            // lka_filter.c: register|filter|smtp-in|PHASE, register|report|smtp-in|EVENT
            let fields: Vec<&str> = line.split('|').collect();
            assert!(
                matches!(fields[..], ["register", "filter" | "report", SMTP_IN, _]),
                "{line}"
            );
        }
        assert!(REGISTRATION.ends_with('\n') && !REGISTRATION.contains('\r'));
    }

    #[test]
    fn the_splitter_yields_lines_as_they_complete_and_drops_overlong_ones() {
        let mut splitter = LineSplitter::new();
        splitter.push(b"config|ready\nconfig|a");
        assert_eq!(splitter.next_line(), Some(&b"config|ready"[..]));
        assert_eq!(splitter.next_line(), None);
        splitter.push(b"|b\0c\n\n");
        assert_eq!(splitter.next_line(), Some(&b"config|a|b\0c"[..]));
        assert_eq!(splitter.next_line(), Some(&b""[..]));
        assert_eq!(splitter.next_line(), None);

        // Overlong across pushes: dropped up to its newline, never buffered.
        splitter.push(&vec![b'x'; MAX_LINE_BYTES]);
        assert_eq!(splitter.next_line(), None);
        splitter.push(b"xx");
        assert_eq!((splitter.buffered(), splitter.discarded()), (0, 1));
        splitter.push(&vec![b'x'; 100_000]);
        assert_eq!(splitter.buffered(), 0);
        splitter.push(b"x\nnext\n");
        assert_eq!(splitter.next_line(), Some(&b"next"[..]));
        assert_eq!(splitter.next_line(), None);

        // Overlong within one push, between good lines.
        let mut input = b"a\n".to_vec();
        input.extend(vec![b'y'; MAX_LINE_BYTES + 1]);
        input.extend(b"\nb\n");
        splitter.push(&input);
        assert_eq!(splitter.next_line(), Some(&b"a"[..]));
        assert_eq!(splitter.next_line(), Some(&b"b"[..]));
        assert_eq!(splitter.next_line(), None);
        assert_eq!(splitter.discarded(), 2);

        // Exactly the limit is a line.
        let mut exact = vec![b'z'; MAX_LINE_BYTES];
        splitter.push(&exact);
        splitter.push(b"\n");
        exact.truncate(MAX_LINE_BYTES);
        assert_eq!(splitter.next_line(), Some(&exact[..]));
        assert_eq!(splitter.discarded(), 2);
    }

    #[test]
    fn sessions_follow_reports_and_stay_bounded() {
        let mut sessions = Sessions::new();
        for line in [
            &b"report|0.7|1|smtp-in|link-connect|1|a|pass|192.0.2.1:1|[::ffff:192.0.2.25]:25"[..],
            b"report|0.7|1|smtp-in|link-connect|2|a|pass|unix:/s|unix:/s",
            b"report|0.7|1|smtp-in|link-connect|3|a|pass|[::1]:1|[::1]:25",
            b"report|0.7|1|smtp-out|link-connect|4|a|pass|[::1]:1|[::1]:25",
            b"report|0.7|1|smtp-in|link-disconnect|3",
        ] {
            let Event::Report(report) = parse_line(line) else {
                panic!()
            };
            sessions.apply(&report);
        }
        assert_eq!(sessions.local_address(1), Some([192, 0, 2, 25].into()));
        assert_eq!(
            (sessions.contains(2), sessions.local_address(2)),
            (true, None)
        );
        assert!(!sessions.contains(3) && !sessions.contains(4));
        assert_eq!(sessions.len(), 2);

        let mut full = Sessions::new();
        for session in 0..MAX_SESSIONS as u64 + 10 {
            full.connect(session, Some(IpAddr::from([127, 0, 0, 1])));
        }
        assert_eq!(full.len(), MAX_SESSIONS);
        assert!(!full.contains(9) && full.contains(10) && full.contains(MAX_SESSIONS as u64 + 9));
        full.connect(10, None); // again: now the newest
        full.connect(u64::MAX, None);
        assert!(full.contains(10) && !full.contains(11));
        assert_eq!(full.len(), MAX_SESSIONS);
        for session in 0..=MAX_SESSIONS as u64 + 10 {
            full.disconnect(session);
        }
        full.disconnect(u64::MAX);
        assert!(full.is_empty() && full.by_age.is_empty());
    }
}
