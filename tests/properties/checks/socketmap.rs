//! What the sendmail socket map reader and writer (`socketmap`) promise,
//! checked once for the `socketmap` fuzz target (which includes this file
//! by path) and the property tests of `socketmap.rs`: on any bytes the
//! reader never takes more than it was given, never waits for more than
//! one bounded netstring, and what it read, written back, reads the same;
//! a reply is always one netstring of printable ASCII. Proptest-free:
//! plain `assert!`s.

use smtpbox::names::HostName;
use smtpbox::smtpdcheck::socketmap::{
    MAX_REPLY_TEXT, MAX_REQUEST_FRAME, MAX_REQUEST_LEN, Reply, Request, domain_of_key,
    netstring_into, next_netstring, next_request, parse_request,
};

/// Reads every request off the front of `input` the way the service does
/// (a framing error ends the connection), checking each step.
pub fn check_stream(input: &[u8]) {
    let mut rest = input;
    loop {
        match next_request(rest) {
            Ok(Some((request, used))) => {
                assert!(used >= 3 && used <= rest.len() && used <= MAX_REQUEST_FRAME);
                if let Ok(request) = request {
                    check_request(&request);
                }
                rest = &rest[used..];
            }
            // waiting for more: never for more than one netstring
            Ok(None) => {
                assert!(rest.len() < MAX_REQUEST_FRAME);
                break;
            }
            Err(_) => break,
        }
    }
}

/// A request written back reads the same, and its domain is a name to
/// look up.
pub fn check_request(request: &Request) {
    assert!(!request.map.is_empty() && !request.map.contains(&b' '));
    let mut payload = request.map.to_vec();
    payload.push(b' ');
    payload.extend_from_slice(request.key);
    assert_eq!(parse_request(&payload).as_ref(), Ok(request));
    check_payload(&payload);
    check_domain(request.key);
}

/// A payload within the limit, framed, is taken back whole.
pub fn check_payload(payload: &[u8]) {
    let mut wire = Vec::new();
    netstring_into(payload, &mut wire);
    let read = next_netstring(&wire, MAX_REQUEST_LEN);
    if payload.len() <= MAX_REQUEST_LEN {
        assert_eq!(read, Ok(Some((payload, wire.len()))));
    } else {
        assert!(read.is_err());
    }
    // cut short, it is waited for (or refused as too long), never misread
    for cut in [0, wire.len() / 2, wire.len().saturating_sub(1)] {
        assert!(!matches!(
            next_netstring(&wire[..cut], MAX_REQUEST_LEN),
            Ok(Some(_))
        ));
    }
}

/// The domain of a key has no `@`, no trailing dot, is no address
/// literal, and is its own domain.
pub fn check_domain(key: &[u8]) {
    if let Some(domain) = domain_of_key(key) {
        assert!(!domain.contains('@') && !domain.ends_with('.'));
        assert!(domain.ip().is_none());
        assert_eq!(domain_of_key(domain.as_bytes()).as_ref(), Some(&domain));
    }
}

/// Every reply made from `text` is one netstring: the status word, a
/// space and at most [`MAX_REPLY_TEXT`] printable ASCII octets, which are
/// `text` itself when it was that already; `OK` (for a `text` that is a
/// host name) carries a non-empty name of host name characters.
pub fn check_replies(text: &str) {
    let printable =
        text.len() <= MAX_REPLY_TEXT && text.bytes().all(|b| (b' '..=b'~').contains(&b));
    let mut replies = vec![
        (Reply::temp(text), "TEMP"),
        (Reply::timeout(text), "TIMEOUT"),
        (Reply::perm(text), "PERM"),
        (Reply::not_found(), "NOTFOUND"),
    ];
    let name = HostName::parse(text).ok();
    if let Some(name) = &name {
        replies.push((Reply::ok(name), "OK"));
    }
    for (reply, word) in replies {
        let mut wire = Vec::new();
        reply.render_into(&mut wire);
        let (payload, used) = next_netstring(&wire, usize::MAX)
            .expect("a reply is a netstring")
            .expect("a whole one");
        assert_eq!(used, wire.len());
        let rest = payload
            .strip_prefix(word.as_bytes())
            .and_then(|rest| rest.strip_prefix(b" "))
            .expect("status word and space");
        assert!(rest.len() <= MAX_REPLY_TEXT);
        assert!(rest.iter().all(|b| (b' '..=b'~').contains(b)));
        assert_eq!(rest, reply.text().as_bytes());
        match word {
            "NOTFOUND" => assert!(rest.is_empty()),
            // never empty; a host name's characters only
            "OK" => assert!(
                !rest.is_empty()
                    && rest
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b".-_:[]?".contains(&b))
            ),
            _ if printable => assert_eq!(rest, text.as_bytes()),
            _ => {}
        }
    }
}
