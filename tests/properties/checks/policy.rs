//! What the Postfix policy request reader (`policy::next_request`)
//! promises, checked once for the `policy_request` fuzz target (which
//! includes this file by path) and the property tests of `policy.rs`:
//! on any bytes it never takes more than it was given or more than one
//! request may hold, and a request it read, written back, reads the same.
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

/// `request` written back as `name=value` lines reads back the same.
fn check_round_trip(request: &Request) {
    let names: Vec<&str> = request.names().collect();
    assert!(names.len() <= MAX_ATTRIBUTES);
    let mut text = String::new();
    for &name in &names {
        let value = request.get(name).unwrap_or_default();
        assert!(!name.contains('\n') && !value.contains('\n'));
        text.push_str(&format!("{name}={value}\n"));
    }
    text.push('\n');
    if let Ok(Some((again, _))) = next_request(text.as_bytes()) {
        for &name in &names {
            assert_eq!(again.get(name), request.get(name), "{name:?}");
        }
    }
}
