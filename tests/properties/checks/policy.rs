//! What the Postfix policy request reader (`policy::next_request`)
//! promises, checked once for the `policy_request` fuzz target (which
//! includes this file by path) and the property tests of `policy.rs`:
//! on any bytes it never takes more than it was given or more than one
//! request may hold, and a request it read, written back, reads the same
//! (bytes that are not UTF-8 make no error; they are kept as sent).
//! Proptest-free: plain `assert!`s.

use smtpbox::smtpdcheck::policy::{MAX_ATTRIBUTES, MAX_REQUEST_BYTES, Request, next_request};

/// Reads every request off the front of `input` the way the service does,
/// checking each step.
pub fn check_requests(input: &[u8]) {
    let mut rest = input;
    while let Ok(Some((request, used))) = next_request(rest) {
        assert!(used >= 1 && used <= rest.len() && used <= MAX_REQUEST_BYTES);
        check_round_trip(&request);
        rest = &rest[used..];
    }
}

/// `request` written back as `name=value` lines reads back the same,
/// bytes that are not UTF-8 included; `get` is the value when it is UTF-8.
fn check_round_trip(request: &Request) {
    let names: Vec<&[u8]> = request.names().collect();
    assert!(names.len() <= MAX_ATTRIBUTES);
    let mut text = Vec::new();
    for &name in &names {
        let value = request.get_bytes(name).unwrap_or_default();
        assert!(!name.contains(&b'\n') && !name.contains(&b'=') && !value.contains(&b'\n'));
        if let Ok(name) = std::str::from_utf8(name) {
            assert_eq!(request.get(name), std::str::from_utf8(value).ok());
        }
        text.extend_from_slice(&[name, b"=", value, b"\n"].concat());
    }
    text.push(b'\n');
    if let Ok(Some((again, _))) = next_request(&text) {
        for &name in &names {
            assert_eq!(again.get_bytes(name), request.get_bytes(name), "{name:?}");
        }
        // Written back, a name keeps only its last value: the request read
        // again has bytes that are not UTF-8 exactly where those do.
        let not_utf8 = |bytes: &[u8]| std::str::from_utf8(bytes).is_err();
        let last_values_not_utf8 = names
            .iter()
            .any(|&name| not_utf8(name) || not_utf8(request.get_bytes(name).unwrap_or_default()));
        assert_eq!(again.has_non_utf8(), last_values_not_utf8);
    }
    // A recipient domain is only ever taken from UTF-8.
    if request.recipient_domain().is_some() {
        assert!(
            request
                .get_bytes(b"recipient")
                .is_some_and(|r| std::str::from_utf8(r).is_ok())
        );
    }
}
