//! The Postfix SMTPD policy delegation protocol (SMTPD_POLICY_README),
//! sans I/O: a request is `name=value` lines ended by an empty line; the
//! answer is one `action=...` line and an empty line. Requests arrive one
//! after another on one connection, for as long as smtpd keeps it.
//!
//! Attribute values come from SMTP clients, so everything is bounded here:
//! a request over [`MAX_REQUEST_BYTES`] or [`MAX_ATTRIBUTES`], a line
//! without `=`, or EOF inside a request is a [`RequestError`], after which
//! the service closes the connection (smtpd then applies its
//! `default_action`). Bytes that are not UTF-8 are not an error: Postfix
//! passes 8-bit envelope bytes through (unless `strict_smtputf8`), so such
//! a request is well formed; its non-UTF-8 names and values are kept as
//! bytes and read as absent by [`Request::get`], so they are never looked
//! up and the request is answered `DUNNO`.

use std::fmt;

use crate::names::HostName;

/// The most bytes one request may take, its empty line included.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The most attributes one request may have (Postfix sends about 30).
pub const MAX_ATTRIBUTES: usize = 1000;

/// One policy request: its attributes in the order sent (a name sent
/// twice keeps its last value), borrowed from the bytes read, as bytes:
/// they need not be UTF-8.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request<'a> {
    attributes: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> Request<'a> {
    /// The value of `name` (the last one when sent twice), when it is
    /// UTF-8: a value that is not counts as absent, so no decision is
    /// taken on it.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        std::str::from_utf8(self.get_bytes(name.as_bytes())?).ok()
    }

    /// The value of `name` (the last one when sent twice) as sent.
    pub fn get_bytes(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.attributes
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// The attribute names, each once, in the order first sent, as sent.
    pub fn names(&self) -> impl Iterator<Item = &'a [u8]> {
        let mut seen: Vec<&[u8]> = Vec::new();
        for (name, _) in &self.attributes {
            if !seen.contains(name) {
                seen.push(name);
            }
        }
        seen.into_iter()
    }

    /// Whether some name or value is not UTF-8 (8-bit envelope bytes).
    pub fn has_non_utf8(&self) -> bool {
        self.attributes
            .iter()
            .any(|(n, v)| std::str::from_utf8(n).is_err() || std::str::from_utf8(v).is_err())
    }

    /// For `protocol_state=RCPT` (RFC 5321 §4.1.1.3): the recipient's
    /// domain, when there is one to look up; `None` for every other state
    /// and for a missing, empty or domain-less recipient.
    pub fn recipient_domain(&self) -> Option<&'a str> {
        let state = self.get("protocol_state")?;
        if !state.eq_ignore_ascii_case("RCPT") {
            return None;
        }
        let recipient = self.get("recipient")?;
        // The last '@': a quoted local part may hold one too.
        let (_, domain) = recipient.rsplit_once('@')?;
        let domain = domain.trim_end_matches('.');
        (!domain.is_empty()).then_some(domain)
    }

    /// `server_address` (Postfix 3.2 and later): the address the SMTP
    /// client connected to, i.e. this MX.
    pub fn server_address(&self) -> Option<std::net::IpAddr> {
        self.get("server_address")?.parse().ok()
    }
}

/// Why a request cannot be read: the connection is closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// No empty line within [`MAX_REQUEST_BYTES`].
    TooLarge,
    /// More than [`MAX_ATTRIBUTES`] attributes.
    TooManyAttributes,
    /// A line (1-based within the request) without `=`.
    NotAnAttribute(usize),
    /// The peer closed the connection inside a request.
    Unfinished,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::TooLarge => write!(f, "request over {MAX_REQUEST_BYTES} bytes"),
            RequestError::TooManyAttributes => {
                write!(f, "request over {MAX_ATTRIBUTES} attributes")
            }
            RequestError::NotAnAttribute(line) => write!(f, "line {line} has no '='"),
            RequestError::Unfinished => f.write_str("connection closed inside a request"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Takes the first whole request off the front of `input`: `Ok(None)`
/// while it is incomplete (read more), else the request and how many
/// bytes it took. Lines end with `\n` (a `\r` before it is kept in the
/// value, as Postfix does not send one).
pub fn next_request(input: &[u8]) -> Result<Option<(Request<'_>, usize)>, RequestError> {
    let window = &input[..input.len().min(MAX_REQUEST_BYTES)];
    let mut request = Request {
        attributes: Vec::with_capacity(32), // Postfix sends about 30
    };
    // Read in one pass; a bad line is only an error once the request is
    // known to be whole (until then, more may be read).
    let mut error = None;
    let (mut line_start, mut number) = (0, 0);
    loop {
        number += 1;
        let Some(length) = window[line_start..].iter().position(|&b| b == b'\n') else {
            return if input.len() >= MAX_REQUEST_BYTES {
                Err(RequestError::TooLarge)
            } else {
                Ok(None)
            };
        };
        let line = &window[line_start..line_start + length];
        // Postfix sends no empty request; an empty line alone asks nothing.
        if line.is_empty() {
            return match error {
                Some(error) => Err(error),
                None => Ok(Some((request, line_start + 1))),
            };
        }
        if error.is_none() {
            error = add_attribute(&mut request, number, line).err();
        }
        line_start += length + 1;
    }
}

/// Adds line `number` of a request, `name=value`.
fn add_attribute<'a>(
    request: &mut Request<'a>,
    number: usize,
    line: &'a [u8],
) -> Result<(), RequestError> {
    let equals = line
        .iter()
        .position(|&b| b == b'=')
        .ok_or(RequestError::NotAnAttribute(number))?;
    let (name, value) = (&line[..equals], &line[equals + 1..]);
    if request.attributes.len() == MAX_ATTRIBUTES {
        return Err(RequestError::TooManyAttributes);
    }
    request.attributes.push((name, value));
    Ok(())
}

/// What the service answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A more preferred MX is up: 4xx, unless something else rejects
    /// the recipient permanently; the text names the server to use.
    DeferIfPermit(HostName),
    /// No opinion: the other restrictions decide.
    Dunno,
}

impl Action {
    /// Appends the answer on the wire: one `action=` line and the empty
    /// line.
    pub fn render_into(&self, answers: &mut String) {
        match self {
            // HostName holds no blank or control character: one line.
            Action::DeferIfPermit(server) => {
                answers.push_str(
                    "action=DEFER_IF_PERMIT Service temporarily unavailable, please use ",
                );
                answers.push_str(server);
                answers.push_str("\n\n");
            }
            Action::Dunno => answers.push_str("action=DUNNO\n\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> Request<'_> {
        let (request, used) = next_request(text.as_bytes())
            .expect("a well-formed request")
            .expect("a whole request");
        assert_eq!(used, text.len());
        request
    }

    #[test]
    fn recipient_domain_only_for_rcpt() {
        let rcpt = "request=smtpd_access_policy\nprotocol_state=RCPT\n";
        for (attributes, domain) in [
            ("recipient=u@d.test\n", Some("d.test")),
            ("recipient=\"a@b\"@d.test.\n", Some("d.test")),
            ("recipient=\n", None),
            ("recipient=postmaster\n", None),
            ("recipient=u@\n", None),
            ("", None),
        ] {
            let text = format!("{rcpt}{attributes}\n");
            assert_eq!(request(&text).recipient_domain(), domain, "{text:?}");
        }
        let mail = request("protocol_state=MAIL\nrecipient=u@d.test\n\n");
        assert_eq!(mail.recipient_domain(), None);
        let lower = request("protocol_state=rcpt\nrecipient=u@d.test\n\n");
        assert_eq!(lower.recipient_domain(), Some("d.test"));
    }

    #[test]
    fn requests_follow_each_other_and_wait_for_their_end() {
        let two = b"protocol_state=RCPT\nrecipient=a@x.test\n\nprotocol_state=END-OF-MESSAGE\n\n";
        let (first, used) = next_request(two).expect("valid").expect("whole");
        assert_eq!(first.get("recipient"), Some("a@x.test"));
        let (second, rest) = next_request(&two[used..]).expect("valid").expect("whole");
        assert_eq!(second.get("protocol_state"), Some("END-OF-MESSAGE"));
        assert_eq!(used + rest, two.len());
        for partial in [&b""[..], b"protocol_state=RCPT", b"protocol_state=RCPT\n"] {
            assert_eq!(next_request(partial), Ok(None), "{partial:?}");
        }
        let twice = request("a=1\nserver_address=192.0.2.25\na=2\n\n");
        assert_eq!(twice.get("a"), Some("2"));
        assert_eq!(twice.server_address(), Some([192, 0, 2, 25].into()));
        assert_eq!(request("value=x=y\n\n").get("value"), Some("x=y"));
    }

    #[test]
    fn bad_input_is_an_error_never_a_wrong_request() {
        let many = "a=b\n".repeat(MAX_ATTRIBUTES + 1) + "\n";
        let huge = format!("a={}", "x".repeat(MAX_REQUEST_BYTES));
        let cases: [(&[u8], RequestError); 4] = [
            (
                b"protocol_state=RCPT\nno equals sign\n\n",
                RequestError::NotAnAttribute(2),
            ),
            (
                b"recipient=\xff@d.test\nx\xff\n\n",
                RequestError::NotAnAttribute(2),
            ),
            (many.as_bytes(), RequestError::TooManyAttributes),
            (huge.as_bytes(), RequestError::TooLarge),
        ];
        for (input, error) in cases {
            assert_eq!(
                next_request(input),
                Err(error),
                "{:?}",
                &input[..input.len().min(40)]
            );
        }
        // A bad line waits for the end of its request; the first one counts.
        let bad = b"a=b\nno equals sign\nc=\xff\n";
        assert_eq!(next_request(bad), Ok(None));
        let whole = [&bad[..], b"\n"].concat();
        assert_eq!(next_request(&whole), Err(RequestError::NotAnAttribute(2)));
        let fits = "a=b\n".repeat(MAX_ATTRIBUTES) + "\n";
        assert!(next_request(fits.as_bytes()).is_ok_and(|r| r.is_some()));
    }

    #[test]
    fn bytes_that_are_not_utf8_make_a_request_decided_on_nothing() {
        let rcpt = b"request=smtpd_access_policy\nprotocol_state=RCPT\n";
        // (attribute lines, recipient as read, domain to look up)
        #[rustfmt::skip]
        let cases: [(&[u8], Option<&str>, Option<&str>); 6] = [
            (b"recipient=u@d\xff.test\n", None, None),
            (b"recipient=\xc3\xa9@d.test\n", Some("\u{e9}@d.test"), Some("d.test")),
            (b"recipient=\xe9@d.test\n", None, None),
            // the last value counts, whether it is UTF-8 or not
            (b"recipient=u@d.test\nrecipient=u@\xff\n", None, None),
            (b"recipient=u@\xff\nrecipient=u@d.test\n", Some("u@d.test"), Some("d.test")),
            // a name that is not UTF-8 is one the service does not know
            (b"recipient=u@d.test\nrecip\xffient=x@y.test\n", Some("u@d.test"), Some("d.test")),
        ];
        for (attributes, recipient, domain) in cases {
            let text = [&rcpt[..], attributes, b"\n"].concat();
            let (request, used) = next_request(&text).expect("well formed").expect("whole");
            assert_eq!(used, text.len());
            let shown = String::from_utf8_lossy(&text);
            assert_eq!(request.get("recipient"), recipient, "{shown}");
            assert_eq!(request.recipient_domain(), domain, "{shown}");
            let utf8 = std::str::from_utf8(&text).is_ok();
            assert_eq!(request.has_non_utf8(), !utf8, "{shown}");
        }
        let two = b"recipient=\xff\n\nprotocol_state=RCPT\nrecipient=u@d.test\n\n";
        let (first, used) = next_request(two).expect("valid").expect("whole");
        assert_eq!(
            (first.get("recipient"), first.get_bytes(b"recipient")),
            (None, Some(&b"\xff"[..]))
        );
        let (second, _) = next_request(&two[used..]).expect("valid").expect("whole");
        assert_eq!(second.recipient_domain(), Some("d.test"));
        let names: Vec<&[u8]> = first.names().collect();
        assert_eq!(names, [&b"recipient"[..]]);
    }

    #[test]
    fn answers_are_one_line_and_the_empty_line() {
        let server = HostName::parse("mx1.d.test").expect("a name");
        let mut answers = String::new();
        Action::DeferIfPermit(server).render_into(&mut answers);
        assert_eq!(
            answers,
            "action=DEFER_IF_PERMIT Service temporarily unavailable, please use mx1.d.test\n\n"
        );
        Action::Dunno.render_into(&mut answers);
        assert!(answers.ends_with("mx1.d.test\n\naction=DUNNO\n\n"));
    }
}
